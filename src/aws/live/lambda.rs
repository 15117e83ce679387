//! The sync function: its configuration and code, and the calls that put them back or create it again.

use std::sync::atomic::AtomicU64;

use super::{AwsError, AwsResult};
use crate::aws::errors::error;
use crate::plan::drift::{LiveFunction, Repair};

use super::{absent, count, created, not_for};

pub(in crate::aws) async fn read_function(
    client: &aws_sdk_lambda::Client,
    calls: &AtomicU64,
    name_or_arn: &str,
) -> AwsResult<Option<(LiveFunction, Option<String>)>> {
    count(calls);
    let Some(out) = absent(
        "GetFunctionConfiguration",
        client
            .get_function_configuration()
            .function_name(name_or_arn)
            .send()
            .await,
        &["ResourceNotFoundException"],
    )?
    else {
        return Ok(None);
    };
    let configuration = LiveFunction {
        runtime: out.runtime().map(|r| r.as_str().to_owned()),
        handler: out.handler().map(str::to_owned),
        timeout: out.timeout().map(i64::from),
        memory: out.memory_size().map(i64::from),
        role: out.role().map(str::to_owned),
    };
    Ok(Some((configuration, out.code_sha256().map(str::to_owned))))
}

pub(in crate::aws) async fn repair_function(
    client: &aws_sdk_lambda::Client,
    calls: &AtomicU64,
    repair: &Repair,
) -> AwsResult<()> {
    if let Repair::UpdateFunctionCode { function, source } = repair {
        until_updatable(client, calls, function).await?;
        count(calls);
        let package = crate::templates::code::inline_code_zip(source);
        return client
            .update_function_code()
            .function_name(function)
            .zip_file(aws_smithy_types::Blob::new(package))
            .send()
            .await
            .map(drop)
            .map_err(|e| error("UpdateFunctionCode", e));
    }
    if let Repair::CreateFunction {
        function,
        description,
        configuration,
        source,
    } = repair
    {
        count(calls);
        let narrow = |v: Option<i64>| v.map(|n| i32::try_from(n).unwrap_or(i32::MAX));
        let package = crate::templates::code::inline_code_zip(source);
        let made = client
            .create_function()
            .function_name(function)
            .set_description(description.clone())
            .set_runtime(
                configuration
                    .runtime
                    .as_deref()
                    .map(aws_sdk_lambda::types::Runtime::from),
            )
            .set_handler(configuration.handler.clone())
            .set_timeout(narrow(configuration.timeout))
            .set_memory_size(narrow(configuration.memory))
            .set_role(configuration.role.clone())
            .code(
                aws_sdk_lambda::types::FunctionCode::builder()
                    .zip_file(aws_smithy_types::Blob::new(package))
                    .build(),
            )
            .send()
            .await
            .map(drop)
            .map_err(|e| error("CreateFunction", e));
        // made by an earlier try of the same repair, as declared
        return created(made, "ResourceConflictException").map(drop);
    }
    let Repair::UpdateFunctionConfiguration {
        function,
        configuration,
    } = repair
    else {
        return Err(not_for("Lambda", repair));
    };
    until_updatable(client, calls, function).await?;
    count(calls);
    let narrow = |v: Option<i64>| v.map(|n| i32::try_from(n).unwrap_or(i32::MAX));
    client
        .update_function_configuration()
        .function_name(function)
        .set_runtime(
            configuration
                .runtime
                .as_deref()
                .map(aws_sdk_lambda::types::Runtime::from),
        )
        .set_handler(configuration.handler.clone())
        .set_timeout(narrow(configuration.timeout))
        .set_memory_size(narrow(configuration.memory))
        .set_role(configuration.role.clone())
        .send()
        .await
        .map(drop)
        .map_err(|e| error("UpdateFunctionConfiguration", e))
}

/// How long a function may stay in an update before plinth gives up waiting to update it.
const FUNCTION_UPDATE_PATIENCE: std::time::Duration = std::time::Duration::from_secs(300);

/// Lambda takes seconds to apply an update and refuses another one meanwhile
/// (`ResourceConflictException`: "An update is in progress"), so a repair first waits until the
/// function's `LastUpdateStatus` is no longer `InProgress`: after someone else's update, or
/// after the repair of another of its properties a moment before.
async fn until_updatable(
    client: &aws_sdk_lambda::Client,
    calls: &AtomicU64,
    function: &str,
) -> AwsResult<()> {
    use aws_sdk_lambda::types::LastUpdateStatus;
    let started = tokio::time::Instant::now();
    let mut delay = std::time::Duration::from_millis(500);
    loop {
        count(calls);
        let out = client
            .get_function_configuration()
            .function_name(function)
            .send()
            .await
            .map_err(|e| error("GetFunctionConfiguration", e))?;
        if out.last_update_status() != Some(&LastUpdateStatus::InProgress) {
            return Ok(());
        }
        if started.elapsed() >= FUNCTION_UPDATE_PATIENCE {
            return Err(AwsError::new(
                "GetFunctionConfiguration",
                Some("ResourceConflictException"),
                format!(
                    "{function} is still being updated after {} s; run apply again once it is done",
                    FUNCTION_UPDATE_PATIENCE.as_secs()
                ),
            ));
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(std::time::Duration::from_secs(10));
    }
}
