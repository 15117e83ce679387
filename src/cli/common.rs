//! What the commands share: loading the topology, reporting failures.

use std::path::Path;

use plinth::output::{self, Style};
use plinth::topology::{self, Diagnostic, Rendered, Topology};

use super::exit;

pub fn style() -> Style {
    Style::detect()
}

/// A command's failure, reported once with its exit code.
pub enum Failure {
    /// Already reported (topology diagnostics): only the exit code remains.
    Reported(u8),
    /// An error chain with an optional hint.
    Error {
        error: Box<dyn std::error::Error>,
        hint: Option<String>,
        code: u8,
    },
}

impl Failure {
    pub fn operating(error: impl std::error::Error + 'static) -> Self {
        Failure::Error {
            error: Box::new(error),
            hint: None,
            code: exit::FAILURE,
        }
    }

    pub fn report(self, style: &Style) -> u8 {
        match self {
            Failure::Reported(code) => code,
            Failure::Error { error, hint, code } => {
                output::say(&output::error_chain(style, error.as_ref(), hint.as_deref()));
                code
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read the topology file {path}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("the topology file {path} is not UTF-8 text (invalid byte at offset {offset})")]
    NotUtf8 { path: String, offset: usize },
}

fn print_diagnostics(
    style: &Style,
    severity: &str,
    file: &str,
    source: &str,
    diagnostics: &[Diagnostic],
) {
    for diagnostic in diagnostics {
        let text = Rendered {
            severity,
            file,
            source,
            diagnostic,
        }
        .to_string();
        let painted = match severity {
            "error" => text.replacen("error:", &style.red(&style.bold("error:")), 1),
            _ => text.replacen("warning:", &style.yellow(&style.bold("warning:")), 1),
        };
        output::say(painted.trim_end());
    }
}

/// Reads and validates the topology, printing warnings; on bad input prints every problem and
/// fails with exit code 2. Never touches AWS.
pub fn load_topology(path: &Path) -> Result<Topology, Failure> {
    let style = style();
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| {
        let hint = match source.kind() {
            std::io::ErrorKind::NotFound => Some(format!(
                "pass the file with `-t FILE`, or copy topology.example.toml to {shown} and edit it"
            )),
            _ => None,
        };
        Failure::Error {
            error: Box::new(LoadError::Read {
                path: shown.clone(),
                source,
            }),
            hint,
            code: exit::BAD_INPUT,
        }
    })?;
    let text = String::from_utf8(bytes).map_err(|e| Failure::Error {
        error: Box::new(LoadError::NotUtf8 {
            path: shown.clone(),
            offset: e.utf8_error().valid_up_to(),
        }),
        hint: Some("save the file as UTF-8".into()),
        code: exit::BAD_INPUT,
    })?;
    match topology::parse(&text) {
        Ok(parsed) => {
            print_diagnostics(&style, "warning", &shown, &text, &parsed.warnings);
            Ok(parsed.topology)
        }
        Err(invalid) => {
            print_diagnostics(&style, "warning", &shown, &text, &invalid.warnings);
            print_diagnostics(&style, "error", &shown, &text, &invalid.errors);
            let count = invalid.errors.len();
            output::say(&format!(
                "{} {shown} has {count} problem{}; nothing was sent to AWS",
                style.red(&style.bold("error:")),
                if count == 1 { "" } else { "s" }
            ));
            Err(Failure::Reported(exit::BAD_INPUT))
        }
    }
}
