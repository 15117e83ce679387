//! Drift through the SDK: reading the settings of buckets, keys, aliases, roles, the sync
//! function, its log group and pipelines, and the narrowly scoped calls that set one of them
//! back to what a template declares. A room per service; the SDK clients are made in `sdk` and
//! passed in.

mod iam;
mod kms;
mod lambda;
mod logs;
mod pipeline;
mod s3;

pub(super) use iam::{read_role, repair_role};
pub(super) use kms::{alias_target, read_key, repair_key};
pub(super) use lambda::{read_function, repair_function};
pub(super) use logs::{read_log_group, repair_log_group};
pub(super) use pipeline::{read_pipeline, repair_pipeline};
pub(super) use s3::{default_encryption, read_bucket, repair_bucket};

use std::sync::atomic::{AtomicU64, Ordering};

use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::errors::error;
use super::{AwsError, AwsResult};
use crate::plan::drift::Repair;

pub(super) fn count(calls: &AtomicU64) {
    calls.fetch_add(1, Ordering::Relaxed);
}

/// `Ok(None)` for the error codes that mean "not set" (or "not there").
pub(super) fn absent<T, E>(
    operation: &'static str,
    result: Result<T, E>,
    codes: &[&str],
) -> AwsResult<Option<T>>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match result {
        Ok(value) => Ok(Some(value)),
        Err(e) if e.code().is_some_and(|c| codes.contains(&c)) => Ok(None),
        Err(e) => Err(error(operation, e)),
    }
}

/// Whether a create made the resource now (`true`) or found it made already, by an earlier try
/// of the same repair (`false`: the error `exists` says so).
pub(super) fn created(result: AwsResult<()>, exists: &str) -> AwsResult<bool> {
    match result {
        Ok(()) => Ok(true),
        Err(e) if e.code.as_deref() == Some(exists) => Ok(false),
        Err(e) => Err(e),
    }
}

pub(super) fn build_error(operation: &'static str, e: &impl std::fmt::Display) -> AwsError {
    AwsError {
        operation,
        code: None,
        message: e.to_string(),
    }
}

pub(super) fn not_for(service: &str, repair: &Repair) -> AwsError {
    AwsError {
        operation: "Repair",
        code: None,
        message: format!("{service} does not make the repair {repair:?}"),
    }
}
