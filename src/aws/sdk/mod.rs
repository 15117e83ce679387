//! The traits of [`super`] on the official AWS SDK for Rust.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use aws_config::retry::RetryConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_types::date_time::{DateTime, Format};

use super::errors::error;
use super::{
    AwsError, AwsResult, BucketOwner, Cloud, CloudFormation, CodePipeline, Iam, KeyDeletion, Kms,
    Lambda, Logs, Organizations, S3, Sts,
};
use crate::plan::drift::{
    LiveBucket, LiveFunction, LiveKey, LiveLogGroup, LiveRole, PipelineDefinition, Repair,
};
use crate::topology::{AccountId, Credentials, Region, Topology};

mod cloudformation;

use cloudformation::SdkCloudFormation;

fn time(value: Option<&DateTime>) -> String {
    value
        .and_then(|t| t.fmt(Format::DateTime).ok())
        .unwrap_or_default()
}

/// A stack that does not exist answers `ValidationError: Stack with id X does not exist`.
fn is_missing_stack(err: &AwsError) -> bool {
    err.code.as_deref() == Some("ValidationError") && err.message.contains("does not exist")
}

/// Credentials and SDK configuration per account.
pub struct SdkCloud {
    configs: BTreeMap<AccountId, SdkConfig>,
    calls: Arc<AtomicU64>,
}

impl SdkCloud {
    /// Sets up credentials for every account of the topology: its profile, its role assumed
    /// with the build account's credentials, or the default chain. Nothing is called yet.
    /// Credentials for every account of the topology, and for the organization's when it has one.
    pub async fn connect(topology: &Topology) -> Self {
        Self::connect_accounts(topology, topology.accounts()).await
    }

    /// Credentials for the build account and the organization's only: enough to read which
    /// accounts the topology's organizational units hold, before the targets are known.
    pub(crate) async fn connect_organization(topology: &Topology) -> Self {
        let build = BTreeMap::from([(
            topology.build.account.clone(),
            topology.build.credentials.clone(),
        )]);
        Self::connect_accounts(topology, build).await
    }

    async fn connect_accounts(
        topology: &Topology,
        accounts: BTreeMap<AccountId, Credentials>,
    ) -> Self {
        let build_region = aws_config::Region::new(topology.build.region.to_string());
        let loader = |profile: Option<String>| {
            let mut loader = aws_config::defaults(BehaviorVersion::latest())
                .region(build_region.clone())
                // Standard mode backs off per request. Adaptive mode's client-side rate limiter,
                // once throttled, slows every later call of the client, whatever it is for.
                // Backoff starts at 200 ms and doubles (with jitter) up to 20 s over ten
                // attempts: a passing fault costs little, a lasting one is waited out.
                .retry_config(
                    RetryConfig::standard()
                        .with_max_attempts(10)
                        .with_initial_backoff(std::time::Duration::from_millis(200)),
                );
            if let Some(profile) = profile {
                loader = loader.profile_name(profile);
            }
            loader
        };
        let default_chain = loader(None).load().await;
        // One HTTP client (one connection pool, one TLS configuration) for every account: a
        // client each costs about a megabyte per account.
        let http_client = default_chain.http_client();
        // The profile files are read once; each profile's loader parses only its own sections
        // (see `profiles`), not the whole file again, which each account's credentials would
        // keep for as long as they live.
        let files = super::profiles::ProfileFiles::read();
        let load = |profile: Option<String>| {
            let mut loader = loader(profile.clone());
            if let Some(client) = http_client.clone() {
                loader = loader.http_client(client);
            }
            if let (Some(files), Some(profile)) = (&files, &profile) {
                use aws_runtime::env_config::file::{EnvConfigFileKind, EnvConfigFiles};
                let (config, credentials) = files.for_profile(profile);
                loader = loader.profile_files(
                    EnvConfigFiles::builder()
                        .with_contents(EnvConfigFileKind::Config, config)
                        .with_contents(EnvConfigFileKind::Credentials, credentials)
                        .build(),
                );
            }
            loader.load()
        };
        let assume = |base: SdkConfig, arn: String| async move {
            let provider = AssumeRoleProvider::builder(arn)
                .session_name("plinth")
                .configure(&base)
                .build()
                .await;
            base.into_builder()
                .credentials_provider(
                    aws_credential_types::provider::SharedCredentialsProvider::new(provider),
                )
                .build()
        };
        let build = match &topology.build.credentials {
            Credentials::DefaultChain => default_chain.clone(),
            Credentials::Profile(profile) => load(Some(profile.clone())).await,
            Credentials::AssumeRole(arn) => assume(default_chain.clone(), arn.clone()).await,
        };
        let mut configs = BTreeMap::new();
        let organization = topology
            .organization
            .iter()
            .map(|o| (o.account.clone(), o.credentials.clone()));
        for (account, credentials) in accounts.into_iter().chain(organization) {
            if configs.contains_key(&account) {
                continue;
            }
            let config = if account == topology.build.account {
                build.clone()
            } else {
                match credentials {
                    Credentials::DefaultChain => default_chain.clone(),
                    Credentials::Profile(profile) => load(Some(profile)).await,
                    Credentials::AssumeRole(arn) => assume(build.clone(), arn).await,
                }
            };
            configs.insert(account, config);
        }
        Self {
            configs,
            calls: Arc::new(AtomicU64::new(0)),
        }
    }

    fn config(&self, account: &AccountId, region: Option<&Region>) -> AwsResult<SdkConfig> {
        let base = self
            .configs
            .get(account)
            .cloned()
            .ok_or_else(|| super::unknown_account(account))?;
        Ok(match region {
            Some(region) => base
                .into_builder()
                .region(aws_config::Region::new(region.to_string()))
                .build(),
            None => base,
        })
    }
}

impl Cloud for SdkCloud {
    fn cloudformation(
        &self,
        account: &AccountId,
        region: &Region,
    ) -> AwsResult<Arc<dyn CloudFormation>> {
        // Built for each use and dropped after it, like every other client: the credentials
        // (and their cache) and the HTTP client are shared through the account's config, so a
        // client kept for each account and region would only hold memory.
        Ok(Arc::new(SdkCloudFormation {
            client: aws_sdk_cloudformation::Client::new(&self.config(account, Some(region))?),
            calls: self.calls.clone(),
        }))
    }

    fn s3(&self, account: &AccountId) -> AwsResult<Arc<dyn S3>> {
        Ok(Arc::new(SdkS3 {
            config: self.config(account, None)?,
            calls: self.calls.clone(),
        }))
    }

    fn iam(&self, account: &AccountId) -> AwsResult<Arc<dyn Iam>> {
        Ok(Arc::new(SdkIam {
            client: aws_sdk_iam::Client::new(&self.config(account, None)?),
            calls: self.calls.clone(),
        }))
    }

    fn kms(&self, account: &AccountId, region: &Region) -> AwsResult<Arc<dyn Kms>> {
        Ok(Arc::new(SdkKms {
            client: aws_sdk_kms::Client::new(&self.config(account, Some(region))?),
            calls: self.calls.clone(),
        }))
    }

    fn lambda(&self, account: &AccountId, region: &Region) -> AwsResult<Arc<dyn Lambda>> {
        Ok(Arc::new(SdkLambda {
            client: aws_sdk_lambda::Client::new(&self.config(account, Some(region))?),
            calls: self.calls.clone(),
        }))
    }

    fn codepipeline(
        &self,
        account: &AccountId,
        region: &Region,
    ) -> AwsResult<Arc<dyn CodePipeline>> {
        Ok(Arc::new(SdkCodePipeline {
            client: aws_sdk_codepipeline::Client::new(&self.config(account, Some(region))?),
            calls: self.calls.clone(),
        }))
    }

    fn logs(&self, account: &AccountId, region: &Region) -> AwsResult<Arc<dyn Logs>> {
        Ok(Arc::new(SdkLogs {
            client: aws_sdk_cloudwatchlogs::Client::new(&self.config(account, Some(region))?),
            calls: self.calls.clone(),
        }))
    }

    fn sts(&self, account: &AccountId) -> AwsResult<Arc<dyn Sts>> {
        Ok(Arc::new(SdkSts {
            client: aws_sdk_sts::Client::new(&self.config(account, None)?),
            calls: self.calls.clone(),
        }))
    }

    fn organizations(&self, account: &AccountId) -> AwsResult<Arc<dyn Organizations>> {
        Ok(Arc::new(SdkOrganizations {
            client: aws_sdk_organizations::Client::new(&self.config(account, None)?),
            calls: self.calls.clone(),
        }))
    }

    fn stack_sets(
        &self,
        account: &AccountId,
        region: &Region,
        delegated_admin: bool,
    ) -> AwsResult<Arc<dyn super::StackSets>> {
        use aws_sdk_cloudformation::types::CallAs;
        Ok(Arc::new(super::stack_sets::SdkStackSets {
            client: aws_sdk_cloudformation::Client::new(&self.config(account, Some(region))?),
            call_as: if delegated_admin {
                CallAs::DelegatedAdmin
            } else {
                CallAs::SelfValue
            },
            calls: self.calls.clone(),
        }))
    }

    fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }
}

/// The first object `DeleteObjects` could not delete, passing over those already gone
/// (`NoSuchVersion`, `NoSuchKey`: deleted meanwhile by another run or a lifecycle rule).
fn first_failure(errors: &[aws_sdk_s3::types::Error]) -> Option<&aws_sdk_s3::types::Error> {
    errors
        .iter()
        .find(|e| !matches!(e.code(), Some("NoSuchVersion" | "NoSuchKey")))
}

struct SdkS3 {
    config: SdkConfig,
    calls: Arc<AtomicU64>,
}

impl SdkS3 {
    fn client(&self, region: Option<&Region>) -> aws_sdk_s3::Client {
        let mut builder = aws_sdk_s3::config::Builder::from(&self.config);
        if let Some(region) = region {
            builder = builder.region(aws_config::Region::new(region.to_string()));
        }
        // A custom endpoint (AWS_ENDPOINT_URL: a local emulator or a proxy) does not resolve
        // virtual-hosted bucket names; path-style addressing works with both.
        if self.config.endpoint_url().is_some() {
            builder = builder.force_path_style(true);
        }
        aws_sdk_s3::Client::from_conf(builder.build())
    }

    fn count(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }
}

#[async_trait]
impl S3 for SdkS3 {
    async fn read_bucket(&self, bucket: &str, region: &Region) -> AwsResult<Option<LiveBucket>> {
        super::live::read_bucket(&self.client(Some(region)), &self.calls, bucket).await
    }

    async fn repair(&self, region: &Region, repair: &Repair) -> AwsResult<()> {
        super::live::repair_bucket(&self.client(Some(region)), &self.calls, repair).await
    }

    async fn bucket_owner(&self, bucket: &str) -> AwsResult<BucketOwner> {
        let client = self.client(None);
        self.count();
        let mine = client
            .list_buckets()
            .send()
            .await
            .map_err(|e| error("ListBuckets", e))?;
        if mine.buckets().iter().any(|b| b.name() == Some(bucket)) {
            return Ok(BucketOwner::ThisAccount);
        }
        self.count();
        match client.head_bucket().bucket(bucket).send().await {
            Ok(_) => Ok(BucketOwner::Someone),
            Err(e) => {
                let status = e.raw_response().map(|r| r.status().as_u16());
                match status {
                    Some(404) => Ok(BucketOwner::Nobody),
                    Some(403 | 301) => Ok(BucketOwner::Someone),
                    _ => Err(error("HeadBucket", e)),
                }
            }
        }
    }

    async fn bucket_region(&self, bucket: &str) -> AwsResult<Region> {
        self.count();
        let out = self
            .client(None)
            .get_bucket_location()
            .bucket(bucket)
            .send()
            .await
            .map_err(|e| error("GetBucketLocation", e))?;
        // No constraint is us-east-1; `EU` is the old name of eu-west-1.
        let name = match out
            .location_constraint()
            .map(aws_sdk_s3::types::BucketLocationConstraint::as_str)
        {
            None | Some("") => "us-east-1",
            Some("EU") => "eu-west-1",
            Some(other) => other,
        };
        Region::parse(name).map_err(|e| AwsError::new("GetBucketLocation", None, e))
    }

    async fn empty_bucket(&self, bucket: &str, region: &Region) -> AwsResult<u64> {
        use aws_sdk_s3::types::{Delete, ObjectIdentifier};
        let client = self.client(Some(region));
        let mut deleted = 0;
        loop {
            // Each round lists from the start: what was deleted is gone from the listing.
            self.count();
            let page = client
                .list_object_versions()
                .bucket(bucket)
                .max_keys(1000)
                .send()
                .await
                .map_err(|e| error("ListObjectVersions", e))?;
            let mut objects = Vec::new();
            for v in page.versions() {
                objects.push((
                    v.key().unwrap_or_default().to_owned(),
                    v.version_id().map(str::to_owned),
                ));
            }
            for m in page.delete_markers() {
                objects.push((
                    m.key().unwrap_or_default().to_owned(),
                    m.version_id().map(str::to_owned),
                ));
            }
            if objects.is_empty() {
                return Ok(deleted);
            }
            for chunk in objects.chunks(1000) {
                let identifiers = chunk
                    .iter()
                    .map(|(key, version)| {
                        ObjectIdentifier::builder()
                            .key(key)
                            .set_version_id(version.clone())
                            .build()
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| AwsError::new("DeleteObjects", None, e.to_string()))?;
                let delete = Delete::builder()
                    .set_objects(Some(identifiers))
                    .quiet(true)
                    .build()
                    .map_err(|e| AwsError::new("DeleteObjects", None, e.to_string()))?;
                self.count();
                let out = client
                    .delete_objects()
                    .bucket(bucket)
                    .delete(delete)
                    .send()
                    .await
                    .map_err(|e| error("DeleteObjects", e))?;
                // A version or key deleted meanwhile (by another run, or a lifecycle rule) is done.
                if let Some(failed) = first_failure(out.errors()) {
                    return Err(AwsError::new(
                        "DeleteObjects",
                        failed.code(),
                        format!(
                            "{} ({})",
                            failed.message().unwrap_or("cannot delete"),
                            failed.key().unwrap_or_default()
                        ),
                    ));
                }
                deleted += chunk.len() as u64;
            }
        }
    }

    async fn delete_bucket(&self, bucket: &str, region: &Region) -> AwsResult<()> {
        self.count();
        self.client(Some(region))
            .delete_bucket()
            .bucket(bucket)
            .send()
            .await
            .map_err(|e| error("DeleteBucket", e))?;
        Ok(())
    }

    async fn put_object(
        &self,
        bucket: &str,
        region: &Region,
        key: &str,
        body: &str,
    ) -> AwsResult<()> {
        let client = self.client(Some(region));
        let default_key = super::live::default_encryption(&client, &self.calls, bucket)
            .await?
            .filter(|e| e.algorithm == "aws:kms")
            .and_then(|e| e.key_id);
        self.count();
        let mut request = client
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type("application/json")
            .body(aws_sdk_s3::primitives::ByteStream::from(
                body.as_bytes().to_vec(),
            ));
        if let Some(key_arn) = default_key {
            request = request
                .server_side_encryption(aws_sdk_s3::types::ServerSideEncryption::AwsKms)
                .ssekms_key_id(key_arn);
        }
        request.send().await.map_err(|e| error("PutObject", e))?;
        Ok(())
    }

    async fn get_object(
        &self,
        bucket: &str,
        region: &Region,
        key: &str,
    ) -> AwsResult<Option<String>> {
        self.count();
        let out = match self
            .client(Some(region))
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) => {
                let err = error("GetObject", e);
                return if err.code.as_deref() == Some("NoSuchKey") {
                    Ok(None)
                } else {
                    Err(err)
                };
            }
        };
        let bytes =
            out.body.collect().await.map_err(|e| {
                AwsError::new("GetObject", None, format!("reading the object: {e}"))
            })?;
        Ok(Some(
            String::from_utf8_lossy(&bytes.into_bytes()).into_owned(),
        ))
    }
}

struct SdkIam {
    client: aws_sdk_iam::Client,
    calls: Arc<AtomicU64>,
}

#[async_trait]
impl Iam for SdkIam {
    async fn read_role(&self, name: &str) -> AwsResult<Option<LiveRole>> {
        super::live::read_role(&self.client, &self.calls, name).await
    }

    async fn repair(&self, repair: &Repair) -> AwsResult<()> {
        super::live::repair_role(&self.client, &self.calls, repair).await
    }
}

struct SdkKms {
    client: aws_sdk_kms::Client,
    calls: Arc<AtomicU64>,
}

#[async_trait]
impl Kms for SdkKms {
    async fn read_key(&self, key_id: &str) -> AwsResult<Option<LiveKey>> {
        super::live::read_key(&self.client, &self.calls, key_id).await
    }

    async fn alias_target(&self, alias: &str) -> AwsResult<Option<String>> {
        super::live::alias_target(&self.client, &self.calls, alias).await
    }

    async fn repair(&self, repair: &Repair) -> AwsResult<()> {
        super::live::repair_key(&self.client, &self.calls, repair).await
    }

    async fn key_deletion(&self, key_id: &str) -> AwsResult<KeyDeletion> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        match self.client.describe_key().key_id(key_id).send().await {
            Ok(out) => {
                let Some(metadata) = out.key_metadata() else {
                    return Ok(KeyDeletion::Gone);
                };
                if metadata.key_state() == Some(&aws_sdk_kms::types::KeyState::PendingDeletion) {
                    Ok(KeyDeletion::PendingUntil(time(metadata.deletion_date())))
                } else {
                    Ok(KeyDeletion::Active)
                }
            }
            Err(e)
                if e.as_service_error().is_some_and(
                    aws_sdk_kms::operation::describe_key::DescribeKeyError::is_not_found_exception,
                ) =>
            {
                Ok(KeyDeletion::Gone)
            }
            Err(e) => Err(error("DescribeKey", e)),
        }
    }
}

struct SdkLambda {
    client: aws_sdk_lambda::Client,
    calls: Arc<AtomicU64>,
}

#[async_trait]
impl Lambda for SdkLambda {
    async fn read_function(
        &self,
        name_or_arn: &str,
    ) -> AwsResult<Option<(LiveFunction, Option<String>)>> {
        super::live::read_function(&self.client, &self.calls, name_or_arn).await
    }

    async fn repair(&self, repair: &Repair) -> AwsResult<()> {
        super::live::repair_function(&self.client, &self.calls, repair).await
    }
}

struct SdkLogs {
    client: aws_sdk_cloudwatchlogs::Client,
    calls: Arc<AtomicU64>,
}

#[async_trait]
impl Logs for SdkLogs {
    async fn read_log_group(&self, name: &str) -> AwsResult<Option<LiveLogGroup>> {
        super::live::read_log_group(&self.client, &self.calls, name).await
    }

    async fn repair(&self, repair: &Repair) -> AwsResult<()> {
        super::live::repair_log_group(&self.client, &self.calls, repair).await
    }
}

struct SdkCodePipeline {
    client: aws_sdk_codepipeline::Client,
    calls: Arc<AtomicU64>,
}

#[async_trait]
impl CodePipeline for SdkCodePipeline {
    async fn read_pipeline(&self, name: &str) -> AwsResult<Option<PipelineDefinition>> {
        super::live::read_pipeline(&self.client, &self.calls, name).await
    }

    async fn repair(&self, repair: &Repair) -> AwsResult<()> {
        super::live::repair_pipeline(&self.client, &self.calls, repair).await
    }
}

struct SdkSts {
    client: aws_sdk_sts::Client,
    calls: Arc<AtomicU64>,
}

#[async_trait]
impl Sts for SdkSts {
    async fn caller_account(&self) -> AwsResult<String> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let out = self
            .client
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| error("GetCallerIdentity", e))?;
        Ok(out.account().unwrap_or_default().to_owned())
    }
}

struct SdkOrganizations {
    client: aws_sdk_organizations::Client,
    calls: Arc<AtomicU64>,
}

#[async_trait]
impl Organizations for SdkOrganizations {
    async fn child_units(&self, parent: &str) -> AwsResult<Vec<String>> {
        let mut units = Vec::new();
        let mut pages = self
            .client
            .list_children()
            .parent_id(parent)
            .child_type(aws_sdk_organizations::types::ChildType::OrganizationalUnit)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            self.calls.fetch_add(1, Ordering::Relaxed);
            let page = page.map_err(|e| error("ListChildren", e))?;
            units.extend(
                page.children()
                    .iter()
                    .filter_map(|c| c.id().map(str::to_owned)),
            );
        }
        Ok(units)
    }

    async fn active_accounts(&self, parent: &str) -> AwsResult<Vec<String>> {
        use aws_sdk_organizations::types::AccountStatus;
        let mut accounts = Vec::new();
        let mut pages = self
            .client
            .list_accounts_for_parent()
            .parent_id(parent)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            self.calls.fetch_add(1, Ordering::Relaxed);
            let page = page.map_err(|e| error("ListAccountsForParent", e))?;
            accounts.extend(
                page.accounts()
                    .iter()
                    // A suspended account, or one being removed, can be deployed to no more.
                    .filter(|a| a.status().is_none_or(|s| *s == AccountStatus::Active))
                    .filter_map(|a| a.id().map(str::to_owned)),
            );
        }
        Ok(accounts)
    }

    async fn describe(&self) -> AwsResult<crate::aws::OrganizationDescription> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let out = self
            .client
            .describe_organization()
            .send()
            .await
            .map_err(|e| error("DescribeOrganization", e))?;
        let organization = out.organization();
        Ok(crate::aws::OrganizationDescription {
            id: organization
                .and_then(|o| o.id())
                .unwrap_or_default()
                .to_owned(),
            management_account: organization
                .and_then(|o| o.master_account_id())
                .unwrap_or_default()
                .to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emptying_a_bucket_counts_a_version_or_key_already_gone_as_deleted() {
        use aws_sdk_s3::types::Error;
        let error = |code: &str, key: &str| Error::builder().code(code).key(key).build();
        let gone = [error("NoSuchVersion", "a"), error("NoSuchKey", "b")];
        assert!(first_failure(&gone).is_none());
        let refused = [
            error("NoSuchVersion", "a"),
            error("AccessDenied", "c"),
            error("InternalError", "d"),
        ];
        assert_eq!(first_failure(&refused).and_then(Error::key), Some("c"));
        assert!(first_failure(&[]).is_none());
    }

    #[tokio::test]
    async fn an_account_outside_the_topology_has_no_clients() {
        let topology = crate::fixtures::generated(&[(222_222_222_222, &["us-east-1"])], 0);
        let cloud = SdkCloud::connect(&topology).await;
        let known = AccountId::parse("222222222222").unwrap();
        let unknown = AccountId::parse("999999999999").unwrap();
        assert!(cloud.sts(&known).is_ok());
        let region = Region::parse("us-east-1").unwrap();
        for error in [
            cloud.sts(&unknown).err(),
            cloud.s3(&unknown).err(),
            cloud.iam(&unknown).err(),
            cloud.kms(&unknown, &region).err(),
            cloud.cloudformation(&unknown, &region).err(),
        ] {
            let error = error.expect("no clients for an unknown account");
            assert_eq!(error.code.as_deref(), Some(crate::aws::UNKNOWN_ACCOUNT));
            assert!(error.message.contains("999999999999"), "{error}");
        }
    }
}
