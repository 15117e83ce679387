//! Log groups: their retention, and the calls that put it back or create the group again.

use std::sync::atomic::AtomicU64;

use super::AwsResult;
use crate::aws::errors::error;
use crate::plan::drift::{LiveLogGroup, Repair};

use super::{count, created, not_for};

pub(in crate::aws) async fn read_log_group(
    client: &aws_sdk_cloudwatchlogs::Client,
    calls: &AtomicU64,
    name: &str,
) -> AwsResult<Option<LiveLogGroup>> {
    count(calls);
    let out = client
        .describe_log_groups()
        .log_group_name_prefix(name)
        .send()
        .await
        .map_err(|e| error("DescribeLogGroups", e))?;
    Ok(out
        .log_groups()
        .iter()
        .find(|g| g.log_group_name() == Some(name))
        .map(|g| LiveLogGroup {
            retention_days: g.retention_in_days().map(i64::from),
        }))
}

pub(in crate::aws) async fn repair_log_group(
    client: &aws_sdk_cloudwatchlogs::Client,
    calls: &AtomicU64,
    repair: &Repair,
) -> AwsResult<()> {
    let (log_group, retention_days) = match repair {
        Repair::CreateLogGroup {
            log_group,
            retention_days,
        } => {
            count(calls);
            let made = client
                .create_log_group()
                .log_group_name(log_group)
                .send()
                .await
                .map(drop)
                .map_err(|e| error("CreateLogGroup", e));
            // made now or by an earlier try of the same repair: its retention is set below
            created(made, "ResourceAlreadyExistsException")?;
            (log_group, retention_days)
        }
        Repair::PutRetentionPolicy {
            log_group,
            retention_days,
        } => (log_group, retention_days),
        other => return Err(not_for("CloudWatch Logs", other)),
    };
    count(calls);
    match retention_days {
        Some(days) => client
            .put_retention_policy()
            .log_group_name(log_group)
            .retention_in_days(i32::try_from(*days).unwrap_or(i32::MAX))
            .send()
            .await
            .map(drop)
            .map_err(|e| error("PutRetentionPolicy", e)),
        None => client
            .delete_retention_policy()
            .log_group_name(log_group)
            .send()
            .await
            .map(drop)
            .map_err(|e| error("DeleteRetentionPolicy", e)),
    }
}
