//! The fake's S3, IAM, KMS, Lambda, Logs and CodePipeline of one account, over the same state.

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use super::super::{
    AwsError, AwsResult, BucketOwner, CodePipeline, Iam, KeyDeletion, Kms, Lambda, Logs, S3,
};
use crate::plan::drift::{
    LiveBucket, LiveFunction, LiveKey, LiveLogGroup, LiveRole, PipelineDefinition, Repair,
};
use crate::topology::Region;

use super::{KEY_DELETION_DATE, State, enter};

/// S3, IAM and KMS of one account, over the same state.
pub(super) struct FakeAccount {
    pub(super) state: Arc<Mutex<State>>,
    pub(super) account: String,
    pub(super) calls: Arc<AtomicU64>,
}

impl FakeAccount {
    fn enter(&self, operation: &'static str) -> AwsResult<std::sync::MutexGuard<'_, State>> {
        enter(
            &self.state,
            &self.calls,
            operation,
            ("SlowDown", "Please reduce your request rate."),
        )
    }
}

#[async_trait]
impl S3 for FakeAccount {
    async fn read_bucket(&self, _bucket: &str, _region: &Region) -> AwsResult<Option<LiveBucket>> {
        drop(self.enter("GetBucketPolicy")?);
        Ok(None)
    }

    async fn repair(&self, _region: &Region, repair: &Repair) -> AwsResult<()> {
        self.record(repair)
    }

    async fn bucket_region(&self, bucket: &str) -> AwsResult<Region> {
        let state = self.enter("GetBucketLocation")?;
        let region = state
            .buckets
            .get(bucket)
            .filter(|b| b.account == self.account)
            .map(|b| b.region.clone())
            .ok_or_else(|| {
                AwsError::new(
                    "GetBucketLocation",
                    Some("NoSuchBucket"),
                    "The specified bucket does not exist",
                )
            })?;
        Region::parse(&region).map_err(|e| AwsError::new("GetBucketLocation", None, e))
    }

    async fn bucket_owner(&self, bucket: &str) -> AwsResult<BucketOwner> {
        let state = self.enter("HeadBucket")?;
        Ok(match state.buckets.get(bucket) {
            None => BucketOwner::Nobody,
            Some(b) if b.account == self.account => BucketOwner::ThisAccount,
            Some(_) => BucketOwner::Someone,
        })
    }

    async fn empty_bucket(&self, bucket: &str, _region: &Region) -> AwsResult<u64> {
        let mut state = self.enter("DeleteObjects")?;
        let Some(b) = state.buckets.get_mut(bucket) else {
            return Err(AwsError::new(
                "ListObjectVersions",
                Some("NoSuchBucket"),
                "The specified bucket does not exist",
            ));
        };
        Ok(std::mem::take(&mut b.objects))
    }

    async fn get_object(
        &self,
        bucket: &str,
        _region: &Region,
        key: &str,
    ) -> AwsResult<Option<String>> {
        let state = self.enter("GetObject")?;
        match state.buckets.get(bucket) {
            Some(b) if b.account == self.account => Ok(b.bodies.get(key).cloned()),
            Some(_) => Err(AwsError::new(
                "GetObject",
                Some("AccessDenied"),
                "Access Denied",
            )),
            None => Err(AwsError::new(
                "GetObject",
                Some("NoSuchBucket"),
                "The specified bucket does not exist",
            )),
        }
    }

    async fn put_object(
        &self,
        bucket: &str,
        _region: &Region,
        key: &str,
        body: &str,
    ) -> AwsResult<()> {
        let mut state = self.enter("PutObject")?;
        match state.buckets.get_mut(bucket) {
            Some(b) if b.account == self.account => {
                if b.bodies.insert(key.to_owned(), body.to_owned()).is_none() {
                    b.objects += 1;
                }
                Ok(())
            }
            Some(_) => Err(AwsError::new(
                "PutObject",
                Some("AccessDenied"),
                "Access Denied",
            )),
            None => Err(AwsError::new(
                "PutObject",
                Some("NoSuchBucket"),
                "The specified bucket does not exist",
            )),
        }
    }

    async fn delete_bucket(&self, bucket: &str, _region: &Region) -> AwsResult<()> {
        let mut state = self.enter("DeleteBucket")?;
        match state.buckets.get(bucket) {
            None => Err(AwsError::new(
                "DeleteBucket",
                Some("NoSuchBucket"),
                "The specified bucket does not exist",
            )),
            Some(b) if b.objects > 0 => Err(AwsError::new(
                "DeleteBucket",
                Some("BucketNotEmpty"),
                "The bucket you tried to delete is not empty",
            )),
            Some(_) => {
                state.buckets.remove(bucket);
                Ok(())
            }
        }
    }
}

#[async_trait]
impl Iam for FakeAccount {
    /// The fake models whether a role exists, not its settings: drift is checked against the
    /// emulator.
    async fn read_role(&self, name: &str) -> AwsResult<Option<LiveRole>> {
        let state = self.enter("GetRole")?;
        Ok(state
            .roles
            .contains(&(self.account.clone(), name.to_owned()))
            .then(LiveRole::default))
    }

    async fn repair(&self, repair: &Repair) -> AwsResult<()> {
        self.record(repair)
    }
}

impl FakeAccount {
    fn record(&self, repair: &Repair) -> AwsResult<()> {
        let mut state = self.enter("Repair")?;
        state.repairs.push((self.account.clone(), repair.clone()));
        Ok(())
    }
}

#[async_trait]
impl Kms for FakeAccount {
    async fn key_deletion(&self, key_id: &str) -> AwsResult<KeyDeletion> {
        let state = self.enter("DescribeKey")?;
        Ok(if state.deleted_keys.contains(key_id) {
            KeyDeletion::PendingUntil(KEY_DELETION_DATE.to_owned())
        } else {
            KeyDeletion::Active
        })
    }

    async fn read_key(&self, _key_id: &str) -> AwsResult<Option<LiveKey>> {
        drop(self.enter("DescribeKey")?);
        Ok(None)
    }

    async fn alias_target(&self, _alias: &str) -> AwsResult<Option<String>> {
        drop(self.enter("ListAliases")?);
        Ok(None)
    }

    async fn repair(&self, repair: &Repair) -> AwsResult<()> {
        self.record(repair)
    }
}

#[async_trait]
impl Lambda for FakeAccount {
    async fn read_function(
        &self,
        _name_or_arn: &str,
    ) -> AwsResult<Option<(LiveFunction, Option<String>)>> {
        drop(self.enter("GetFunction")?);
        Ok(None)
    }

    async fn repair(&self, repair: &Repair) -> AwsResult<()> {
        self.record(repair)
    }
}

#[async_trait]
impl Logs for FakeAccount {
    async fn read_log_group(&self, _name: &str) -> AwsResult<Option<LiveLogGroup>> {
        drop(self.enter("DescribeLogGroups")?);
        Ok(None)
    }

    async fn repair(&self, repair: &Repair) -> AwsResult<()> {
        self.record(repair)
    }
}

#[async_trait]
impl CodePipeline for FakeAccount {
    async fn read_pipeline(&self, _name: &str) -> AwsResult<Option<PipelineDefinition>> {
        drop(self.enter("GetPipeline")?);
        Ok(None)
    }

    async fn repair(&self, repair: &Repair) -> AwsResult<()> {
        self.record(repair)
    }
}
