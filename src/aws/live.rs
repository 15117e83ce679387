//! Drift through the SDK: reading the settings of buckets, keys, aliases, roles, the sync
//! function and pipelines, and the narrowly scoped calls that set one of them back to what a
//! template declares.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};

use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::sdk::error;
use super::{AwsError, AwsResult};
use crate::plan::drift::{
    ArtifactStore, Encryption, LifecycleRule, LiveBucket, LiveFunction, LiveKey, LiveLogGroup,
    LiveRole, PipelineAction, PipelineDefinition, Repair, Stage,
};

fn count(calls: &AtomicU64) {
    calls.fetch_add(1, Ordering::Relaxed);
}

/// `Ok(None)` for the error codes that mean "not set" (or "not there").
fn absent<T, E>(
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
fn created(result: AwsResult<()>, exists: &str) -> AwsResult<bool> {
    match result {
        Ok(()) => Ok(true),
        Err(e) if e.code.as_deref() == Some(exists) => Ok(false),
        Err(e) => Err(e),
    }
}

fn build_error(operation: &'static str, e: &impl std::fmt::Display) -> AwsError {
    AwsError {
        operation,
        code: None,
        message: e.to_string(),
    }
}

pub(super) async fn read_bucket(
    client: &aws_sdk_s3::Client,
    calls: &AtomicU64,
    bucket: &str,
) -> AwsResult<Option<LiveBucket>> {
    const GONE: &str = "NoSuchBucket";
    count(calls);
    let Some(versioning) = absent(
        "GetBucketVersioning",
        client.get_bucket_versioning().bucket(bucket).send().await,
        &[GONE],
    )?
    else {
        return Ok(None);
    };
    count(calls);
    let policy = absent(
        "GetBucketPolicy",
        client.get_bucket_policy().bucket(bucket).send().await,
        &["NoSuchBucketPolicy", GONE],
    )?
    .and_then(|p| p.policy().map(str::to_owned));
    let encryption = default_encryption(client, calls, bucket).await?;
    count(calls);
    let public_access_block = absent(
        "GetPublicAccessBlock",
        client.get_public_access_block().bucket(bucket).send().await,
        &["NoSuchPublicAccessBlockConfiguration", GONE],
    )?
    .and_then(|b| {
        let c = b.public_access_block_configuration()?;
        Some([
            c.block_public_acls().unwrap_or(false),
            c.block_public_policy().unwrap_or(false),
            c.ignore_public_acls().unwrap_or(false),
            c.restrict_public_buckets().unwrap_or(false),
        ])
    });
    count(calls);
    let ownership = absent(
        "GetBucketOwnershipControls",
        client
            .get_bucket_ownership_controls()
            .bucket(bucket)
            .send()
            .await,
        &["OwnershipControlsNotFoundError", GONE],
    )?
    .and_then(|o| {
        Some(
            o.ownership_controls()?
                .rules()
                .first()?
                .object_ownership()
                .as_str()
                .to_owned(),
        )
    });
    count(calls);
    let lifecycle = absent(
        "GetBucketLifecycleConfiguration",
        client
            .get_bucket_lifecycle_configuration()
            .bucket(bucket)
            .send()
            .await,
        &["NoSuchLifecycleConfiguration", GONE],
    )?
    .map(|l| {
        l.rules()
            .iter()
            .map(|r| LifecycleRule {
                id: r.id().unwrap_or_default().to_owned(),
                enabled: r.status() == &aws_sdk_s3::types::ExpirationStatus::Enabled,
                noncurrent_days: r
                    .noncurrent_version_expiration()
                    .and_then(aws_sdk_s3::types::NoncurrentVersionExpiration::noncurrent_days)
                    .map(i64::from),
                abort_incomplete_days: r
                    .abort_incomplete_multipart_upload()
                    .and_then(
                        aws_sdk_s3::types::AbortIncompleteMultipartUpload::days_after_initiation,
                    )
                    .map(i64::from),
            })
            .collect()
    })
    .unwrap_or_default();
    Ok(Some(LiveBucket {
        policy,
        encryption,
        versioning: versioning.status().map(|s| s.as_str().to_owned()),
        public_access_block,
        ownership,
        lifecycle,
    }))
}

/// A bucket's default encryption; `None` when it has none (or the bucket is gone).
pub(super) async fn default_encryption(
    client: &aws_sdk_s3::Client,
    calls: &AtomicU64,
    bucket: &str,
) -> AwsResult<Option<Encryption>> {
    count(calls);
    Ok(absent(
        "GetBucketEncryption",
        client.get_bucket_encryption().bucket(bucket).send().await,
        &[
            "ServerSideEncryptionConfigurationNotFoundError",
            "NoSuchBucket",
        ],
    )?
    .and_then(|e| {
        let rule = e
            .server_side_encryption_configuration()?
            .rules()
            .first()?
            .clone();
        let default = rule.apply_server_side_encryption_by_default()?;
        Some(Encryption {
            algorithm: default.sse_algorithm().as_str().to_owned(),
            key_id: default.kms_master_key_id().map(str::to_owned),
            bucket_key: rule.bucket_key_enabled().unwrap_or(false),
        })
    }))
}

pub(super) async fn repair_bucket(
    client: &aws_sdk_s3::Client,
    calls: &AtomicU64,
    repair: &Repair,
) -> AwsResult<()> {
    use aws_sdk_s3::types::{
        AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, BucketVersioningStatus,
        ExpirationStatus, LifecycleRuleFilter, NoncurrentVersionExpiration, ObjectOwnership,
        OwnershipControls, OwnershipControlsRule, PublicAccessBlockConfiguration,
        ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
        ServerSideEncryptionRule, VersioningConfiguration,
    };
    count(calls);
    match repair {
        Repair::PutBucketPolicy { bucket, document } => client
            .put_bucket_policy()
            .bucket(bucket)
            .policy(document)
            .send()
            .await
            .map(drop)
            .map_err(|e| error("PutBucketPolicy", e)),
        Repair::PutBucketEncryption { bucket, encryption } => {
            let default = ServerSideEncryptionByDefault::builder()
                .sse_algorithm(ServerSideEncryption::from(encryption.algorithm.as_str()))
                .set_kms_master_key_id(encryption.key_id.clone())
                .build()
                .map_err(|e| build_error("PutBucketEncryption", &e))?;
            let configuration = ServerSideEncryptionConfiguration::builder()
                .rules(
                    ServerSideEncryptionRule::builder()
                        .apply_server_side_encryption_by_default(default)
                        .bucket_key_enabled(encryption.bucket_key)
                        .build(),
                )
                .build()
                .map_err(|e| build_error("PutBucketEncryption", &e))?;
            client
                .put_bucket_encryption()
                .bucket(bucket)
                .server_side_encryption_configuration(configuration)
                .send()
                .await
                .map(drop)
                .map_err(|e| error("PutBucketEncryption", e))
        }
        Repair::EnableBucketVersioning { bucket } => client
            .put_bucket_versioning()
            .bucket(bucket)
            .versioning_configuration(
                VersioningConfiguration::builder()
                    .status(BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await
            .map(drop)
            .map_err(|e| error("PutBucketVersioning", e)),
        Repair::PutPublicAccessBlock { bucket, settings } => client
            .put_public_access_block()
            .bucket(bucket)
            .public_access_block_configuration(
                PublicAccessBlockConfiguration::builder()
                    .block_public_acls(settings[0])
                    .block_public_policy(settings[1])
                    .ignore_public_acls(settings[2])
                    .restrict_public_buckets(settings[3])
                    .build(),
            )
            .send()
            .await
            .map(drop)
            .map_err(|e| error("PutPublicAccessBlock", e)),
        Repair::PutBucketOwnership { bucket, ownership } => {
            let rule = OwnershipControlsRule::builder()
                .object_ownership(ObjectOwnership::from(ownership.as_str()))
                .build()
                .map_err(|e| build_error("PutBucketOwnershipControls", &e))?;
            let controls = OwnershipControls::builder()
                .rules(rule)
                .build()
                .map_err(|e| build_error("PutBucketOwnershipControls", &e))?;
            client
                .put_bucket_ownership_controls()
                .bucket(bucket)
                .ownership_controls(controls)
                .send()
                .await
                .map(drop)
                .map_err(|e| error("PutBucketOwnershipControls", e))
        }
        Repair::PutBucketLifecycle { bucket, rules } => {
            let mut configuration = BucketLifecycleConfiguration::builder();
            for rule in rules {
                let mut builder = aws_sdk_s3::types::LifecycleRule::builder()
                    .id(&rule.id)
                    .status(if rule.enabled {
                        ExpirationStatus::Enabled
                    } else {
                        ExpirationStatus::Disabled
                    })
                    .filter(LifecycleRuleFilter::builder().prefix("").build());
                if let Some(days) = rule.noncurrent_days {
                    builder = builder.noncurrent_version_expiration(
                        NoncurrentVersionExpiration::builder()
                            .noncurrent_days(i32::try_from(days).unwrap_or(i32::MAX))
                            .build(),
                    );
                }
                if let Some(days) = rule.abort_incomplete_days {
                    builder = builder.abort_incomplete_multipart_upload(
                        AbortIncompleteMultipartUpload::builder()
                            .days_after_initiation(i32::try_from(days).unwrap_or(i32::MAX))
                            .build(),
                    );
                }
                configuration = configuration.rules(
                    builder
                        .build()
                        .map_err(|e| build_error("PutBucketLifecycleConfiguration", &e))?,
                );
            }
            client
                .put_bucket_lifecycle_configuration()
                .bucket(bucket)
                .lifecycle_configuration(
                    configuration
                        .build()
                        .map_err(|e| build_error("PutBucketLifecycleConfiguration", &e))?,
                )
                .send()
                .await
                .map(drop)
                .map_err(|e| error("PutBucketLifecycleConfiguration", e))
        }
        other => Err(not_for("S3", other)),
    }
}

fn not_for(service: &str, repair: &Repair) -> AwsError {
    AwsError {
        operation: "Repair",
        code: None,
        message: format!("{service} does not make the repair {repair:?}"),
    }
}

pub(super) async fn read_key(
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

pub(super) async fn alias_target(
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

pub(super) async fn repair_key(
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

pub(super) async fn read_role(
    client: &aws_sdk_iam::Client,
    calls: &AtomicU64,
    name: &str,
) -> AwsResult<Option<LiveRole>> {
    count(calls);
    let Some(role) = absent(
        "GetRole",
        client.get_role().role_name(name).send().await,
        &["NoSuchEntity"],
    )?
    else {
        return Ok(None);
    };
    let role = role.role();
    let trust = role
        .and_then(|r| r.assume_role_policy_document())
        .map(str::to_owned);
    let boundary = role
        .and_then(|r| r.permissions_boundary())
        .and_then(|b| b.permissions_boundary_arn())
        .map(str::to_owned);
    let mut names = Vec::new();
    let mut marker = None;
    loop {
        count(calls);
        let page = client
            .list_role_policies()
            .role_name(name)
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| error("ListRolePolicies", e))?;
        names.extend(page.policy_names().iter().cloned());
        marker = page.marker().map(str::to_owned);
        if marker.is_none() {
            break;
        }
    }
    let mut inline = BTreeMap::new();
    for policy in names {
        count(calls);
        let document = client
            .get_role_policy()
            .role_name(name)
            .policy_name(&policy)
            .send()
            .await
            .map_err(|e| error("GetRolePolicy", e))?
            .policy_document()
            .to_owned();
        inline.insert(policy, document);
    }
    let mut managed = BTreeSet::new();
    let mut marker = None;
    loop {
        count(calls);
        let page = client
            .list_attached_role_policies()
            .role_name(name)
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| error("ListAttachedRolePolicies", e))?;
        managed.extend(
            page.attached_policies()
                .iter()
                .filter_map(|p| p.policy_arn().map(str::to_owned)),
        );
        marker = page.marker().map(str::to_owned);
        if marker.is_none() {
            break;
        }
    }
    Ok(Some(LiveRole {
        trust,
        inline,
        managed,
        boundary,
    }))
}

pub(super) async fn repair_role(
    client: &aws_sdk_iam::Client,
    calls: &AtomicU64,
    repair: &Repair,
) -> AwsResult<()> {
    count(calls);
    match repair {
        Repair::UpdateTrust { role, document } => client
            .update_assume_role_policy()
            .role_name(role)
            .policy_document(document)
            .send()
            .await
            .map(drop)
            .map_err(|e| error("UpdateAssumeRolePolicy", e)),
        Repair::PutRolePolicy {
            role,
            name,
            document,
        } => client
            .put_role_policy()
            .role_name(role)
            .policy_name(name)
            .policy_document(document)
            .send()
            .await
            .map(drop)
            .map_err(|e| error("PutRolePolicy", e)),
        Repair::DeleteRolePolicy { role, name } => absent(
            "DeleteRolePolicy",
            client
                .delete_role_policy()
                .role_name(role)
                .policy_name(name)
                .send()
                .await,
            &["NoSuchEntity"],
        )
        .map(drop),
        Repair::AttachRolePolicy { role, arn } => client
            .attach_role_policy()
            .role_name(role)
            .policy_arn(arn)
            .send()
            .await
            .map(drop)
            .map_err(|e| error("AttachRolePolicy", e)),
        Repair::DetachRolePolicy { role, arn } => absent(
            "DetachRolePolicy",
            client
                .detach_role_policy()
                .role_name(role)
                .policy_arn(arn)
                .send()
                .await,
            &["NoSuchEntity"],
        )
        .map(drop),
        Repair::PutRoleBoundary { role, arn } => client
            .put_role_permissions_boundary()
            .role_name(role)
            .permissions_boundary(arn)
            .send()
            .await
            .map(drop)
            .map_err(|e| error("PutRolePermissionsBoundary", e)),
        Repair::DeleteRoleBoundary { role } => client
            .delete_role_permissions_boundary()
            .role_name(role)
            .send()
            .await
            .map(drop)
            .map_err(|e| error("DeleteRolePermissionsBoundary", e)),
        Repair::CreateRole {
            role,
            trust,
            description,
            path,
            boundary,
            inline,
            managed,
        } => {
            let made = client
                .create_role()
                .role_name(role)
                .assume_role_policy_document(trust)
                .set_description(description.clone())
                .set_path(path.clone())
                .set_permissions_boundary(boundary.clone())
                .send()
                .await
                .map(drop)
                .map_err(|e| error("CreateRole", e));
            if !created(made, "EntityAlreadyExists")? {
                // made by an earlier try of the same repair: its trust is put as declared
                count(calls);
                client
                    .update_assume_role_policy()
                    .role_name(role)
                    .policy_document(trust)
                    .send()
                    .await
                    .map_err(|e| error("UpdateAssumeRolePolicy", e))?;
            }
            for (name, document) in inline {
                count(calls);
                client
                    .put_role_policy()
                    .role_name(role)
                    .policy_name(name)
                    .policy_document(document)
                    .send()
                    .await
                    .map_err(|e| error("PutRolePolicy", e))?;
            }
            for arn in managed {
                count(calls);
                client
                    .attach_role_policy()
                    .role_name(role)
                    .policy_arn(arn)
                    .send()
                    .await
                    .map_err(|e| error("AttachRolePolicy", e))?;
            }
            Ok(())
        }
        other => Err(not_for("IAM", other)),
    }
}

pub(super) async fn read_function(
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

pub(super) async fn repair_function(
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

pub(super) async fn read_pipeline(
    client: &aws_sdk_codepipeline::Client,
    calls: &AtomicU64,
    name: &str,
) -> AwsResult<Option<PipelineDefinition>> {
    count(calls);
    let Some(out) = absent(
        "GetPipeline",
        client.get_pipeline().name(name).send().await,
        &["PipelineNotFoundException"],
    )?
    else {
        return Ok(None);
    };
    let Some(p) = out.pipeline() else {
        return Ok(None);
    };
    let store = |s: &aws_sdk_codepipeline::types::ArtifactStore| ArtifactStore {
        bucket: s.location().to_owned(),
        key: s.encryption_key().map(|k| k.id().to_owned()),
    };
    let mut artifact_stores: BTreeMap<String, ArtifactStore> = p
        .artifact_stores()
        .into_iter()
        .flatten()
        .map(|(region, s)| (region.clone(), store(s)))
        .collect();
    if let Some(single) = p.artifact_store() {
        // A pipeline with one store names no region: it is the pipeline's own.
        let region = client
            .config()
            .region()
            .map(ToString::to_string)
            .unwrap_or_default();
        artifact_stores.insert(region, store(single));
    }
    let stages = p
        .stages()
        .iter()
        .map(|stage| Stage {
            name: stage.name().to_owned(),
            actions: stage
                .actions()
                .iter()
                .map(|a| {
                    let id = a.action_type_id();
                    PipelineAction {
                        name: a.name().to_owned(),
                        category: id
                            .map(|i| i.category().as_str().to_owned())
                            .unwrap_or_default(),
                        owner: id
                            .map(|i| i.owner().as_str().to_owned())
                            .unwrap_or_default(),
                        provider: id.map(|i| i.provider().to_owned()).unwrap_or_default(),
                        version: id.map(|i| i.version().to_owned()).unwrap_or_default(),
                        configuration: a
                            .configuration()
                            .into_iter()
                            .flatten()
                            .map(|(k, v)| (k.clone(), v.clone()))
                            .collect(),
                        input_artifacts: a
                            .input_artifacts()
                            .iter()
                            .map(|i| i.name().to_owned())
                            .collect(),
                        output_artifacts: a
                            .output_artifacts()
                            .iter()
                            .map(|o| o.name().to_owned())
                            .collect(),
                        role_arn: a.role_arn().map(str::to_owned),
                        region: a.region().map(str::to_owned),
                        run_order: i64::from(a.run_order().unwrap_or(1)),
                        namespace: a.namespace().map(str::to_owned),
                    }
                })
                .collect(),
        })
        .collect();
    let triggers = p
        .triggers()
        .iter()
        .map(|t| {
            let source = t.git_configuration().map_or("", |g| g.source_action_name());
            format!("{} on {source}", t.provider_type().as_str())
        })
        .collect();
    Ok(Some(PipelineDefinition {
        name: p.name().to_owned(),
        role_arn: p.role_arn().to_owned(),
        pipeline_type: p.pipeline_type().map(|t| t.as_str().to_owned()),
        execution_mode: p.execution_mode().map(|m| m.as_str().to_owned()),
        variables: p
            .variables()
            .iter()
            .map(|v| (v.name().to_owned(), v.default_value().map(str::to_owned)))
            .collect(),
        triggers,
        artifact_stores,
        stages,
    }))
}

/// The SDK's declaration of a definition, for `UpdatePipeline`.
fn declaration(
    d: &PipelineDefinition,
) -> Result<
    aws_sdk_codepipeline::types::PipelineDeclaration,
    aws_smithy_types::error::operation::BuildError,
> {
    use aws_sdk_codepipeline::types::{
        ActionCategory, ActionDeclaration, ActionOwner, ActionTypeId, ArtifactStoreType,
        EncryptionKey, EncryptionKeyType, ExecutionMode, InputArtifact, OutputArtifact,
        PipelineDeclaration, PipelineType, PipelineVariableDeclaration, StageDeclaration,
    };
    // No triggers: a definition with triggers is never compared, so never repaired.
    let mut pipeline = PipelineDeclaration::builder()
        .name(&d.name)
        .role_arn(&d.role_arn)
        .set_pipeline_type(d.pipeline_type.as_deref().map(PipelineType::from))
        .execution_mode(ExecutionMode::from(
            d.execution_mode
                .as_deref()
                .unwrap_or(crate::plan::drift::DEFAULT_EXECUTION_MODE),
        ));
    for (name, default) in &d.variables {
        pipeline = pipeline.variables(
            PipelineVariableDeclaration::builder()
                .name(name)
                .set_default_value(default.clone())
                .build()?,
        );
    }
    for (region, store) in &d.artifact_stores {
        let key = store
            .key
            .as_ref()
            .map(|id| {
                EncryptionKey::builder()
                    .id(id)
                    .r#type(EncryptionKeyType::Kms)
                    .build()
            })
            .transpose()?;
        let store = aws_sdk_codepipeline::types::ArtifactStore::builder()
            .r#type(ArtifactStoreType::S3)
            .location(&store.bucket)
            .set_encryption_key(key)
            .build()?;
        pipeline = pipeline.artifact_stores(region, store);
    }
    for stage in &d.stages {
        let mut declared = StageDeclaration::builder().name(&stage.name);
        for a in &stage.actions {
            let mut action = ActionDeclaration::builder()
                .name(&a.name)
                .action_type_id(
                    ActionTypeId::builder()
                        .category(ActionCategory::from(a.category.as_str()))
                        .owner(ActionOwner::from(a.owner.as_str()))
                        .provider(&a.provider)
                        .version(&a.version)
                        .build()?,
                )
                .run_order(i32::try_from(a.run_order).unwrap_or(1))
                .set_configuration(
                    (!a.configuration.is_empty())
                        .then(|| a.configuration.clone().into_iter().collect()),
                )
                .set_role_arn(a.role_arn.clone())
                .set_region(a.region.clone())
                .set_namespace(a.namespace.clone());
            for name in &a.input_artifacts {
                action = action.input_artifacts(InputArtifact::builder().name(name).build()?);
            }
            for name in &a.output_artifacts {
                action = action.output_artifacts(OutputArtifact::builder().name(name).build()?);
            }
            declared = declared.actions(action.build()?);
        }
        pipeline = pipeline.stages(declared.build()?);
    }
    pipeline.build()
}

pub(super) async fn repair_pipeline(
    client: &aws_sdk_codepipeline::Client,
    calls: &AtomicU64,
    repair: &Repair,
) -> AwsResult<()> {
    let (definition, create) = match repair {
        Repair::UpdatePipeline { definition } => (definition, false),
        Repair::CreatePipeline { definition } => (definition, true),
        other => return Err(not_for("CodePipeline", other)),
    };
    let declaration = declaration(definition).map_err(|e| build_error("UpdatePipeline", &e))?;
    count(calls);
    if create {
        let made = client
            .create_pipeline()
            .pipeline(declaration.clone())
            .send()
            .await
            .map(drop)
            .map_err(|e| error("CreatePipeline", e));
        if created(made, "PipelineNameInUseException")? {
            return Ok(());
        }
        // made by an earlier try of the same repair: put as declared below
        count(calls);
    }
    client
        .update_pipeline()
        .pipeline(declaration)
        .send()
        .await
        .map(drop)
        .map_err(|e| error("UpdatePipeline", e))
}

pub(super) async fn read_log_group(
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

pub(super) async fn repair_log_group(
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
