//! Keys and aliases: their policy, rotation and state, and the calls that put one back.

use std::sync::atomic::AtomicU64;

use super::AwsResult;
use crate::aws::errors::error;
use crate::plan::drift::{LiveKey, Repair};

use super::{absent, count, created, not_for};

pub(in crate::aws) async fn read_key(
    client: &aws_sdk_kms::Client,
    calls: &AtomicU64,
    key_id: &str,
) -> AwsResult<Option<LiveKey>> {
    count(calls);
    let Some(described) = absent(
        "DescribeKey",
        client.describe_key().key_id(key_id).send().await,
        &["NotFoundException"],
    )?
    else {
        return Ok(None);
    };
    let state = described
        .key_metadata()
        .and_then(|m| m.key_state())
        .map(|s| s.as_str().to_owned())
        .unwrap_or_default();
    count(calls);
    let policy = client
        .get_key_policy()
        .key_id(key_id)
        .policy_name("default")
        .send()
        .await
        .map_err(|e| error("GetKeyPolicy", e))?
        .policy()
        .map(str::to_owned);
    count(calls);
    let rotation = client
        .get_key_rotation_status()
        .key_id(key_id)
        .send()
        .await
        .map_err(|e| error("GetKeyRotationStatus", e))?
        .key_rotation_enabled();
    Ok(Some(LiveKey {
        policy,
        rotation,
        state,
    }))
}

pub(in crate::aws) async fn alias_target(
    client: &aws_sdk_kms::Client,
    calls: &AtomicU64,
    alias: &str,
) -> AwsResult<Option<String>> {
    let mut marker = None;
    loop {
        count(calls);
        let page = client
            .list_aliases()
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| error("ListAliases", e))?;
        if let Some(found) = page
            .aliases()
            .iter()
            .find(|a| a.alias_name() == Some(alias))
        {
            return Ok(found.target_key_id().map(str::to_owned));
        }
        marker = page.next_marker().map(str::to_owned);
        if marker.is_none() {
            return Ok(None);
        }
    }
}

pub(in crate::aws) async fn repair_key(
    client: &aws_sdk_kms::Client,
    calls: &AtomicU64,
    repair: &Repair,
) -> AwsResult<()> {
    count(calls);
    match repair {
        Repair::PutKeyPolicy { key_id, document } => client
            .put_key_policy()
            .key_id(key_id)
            .policy_name("default")
            .policy(document)
            .send()
            .await
            .map(drop)
            .map_err(|e| error("PutKeyPolicy", e)),
        Repair::EnableKeyRotation { key_id } => client
            .enable_key_rotation()
            .key_id(key_id)
            .send()
            .await
            .map(drop)
            .map_err(|e| error("EnableKeyRotation", e)),
        Repair::EnableKey {
            key_id,
            cancel_deletion,
        } => {
            if *cancel_deletion {
                count(calls);
                client
                    .cancel_key_deletion()
                    .key_id(key_id)
                    .send()
                    .await
                    .map_err(|e| error("CancelKeyDeletion", e))?;
            }
            client
                .enable_key()
                .key_id(key_id)
                .send()
                .await
                .map(drop)
                .map_err(|e| error("EnableKey", e))
        }
        Repair::UpdateAlias { alias, key_id } => client
            .update_alias()
            .alias_name(alias)
            .target_key_id(key_id)
            .send()
            .await
            .map(drop)
            .map_err(|e| error("UpdateAlias", e)),
        Repair::CreateAlias { alias, key_id } => {
            let made = client
                .create_alias()
                .alias_name(alias)
                .target_key_id(key_id)
                .send()
                .await
                .map(drop)
                .map_err(|e| error("CreateAlias", e));
            if created(made, "AlreadyExistsException")? {
                return Ok(());
            }
            // made by an earlier try of the same repair: pointed at the declared key
            count(calls);
            client
                .update_alias()
                .alias_name(alias)
                .target_key_id(key_id)
                .send()
                .await
                .map(drop)
                .map_err(|e| error("UpdateAlias", e))
        }
        other => Err(not_for("KMS", other)),
    }
}
