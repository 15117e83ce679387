//! SDK errors flattened into plinth's [`AwsError`]: the call, AWS's code and message, or the
//! whole chain of causes for a failure with no answer from AWS. Shared by every SDK client.

use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::AwsError;

/// Flattens an SDK error into AWS's code and message (or the whole chain for a transport error).
pub(super) fn error<E>(operation: &'static str, err: E) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let message = match err.message() {
        Some(message) => message.to_owned(),
        None => chain(&err),
    };
    AwsError {
        operation,
        code: err.code().map(str::to_owned),
        message,
    }
}

/// A transport or configuration error as one line: each cause's text once, outermost first.
fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        let text = e.to_string();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    parts.join(": ")
}
