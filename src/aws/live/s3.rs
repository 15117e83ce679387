//! Buckets: their settings, and the calls that put one back.

use std::sync::atomic::AtomicU64;

use super::AwsResult;
use crate::aws::errors::error;
use crate::plan::drift::{Encryption, LifecycleRule, LiveBucket, Repair};

use super::{absent, build_error, count, not_for};

pub(in crate::aws) async fn read_bucket(
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
pub(in crate::aws) async fn default_encryption(
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

pub(in crate::aws) async fn repair_bucket(
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
