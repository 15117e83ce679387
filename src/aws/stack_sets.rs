//! Service-managed CloudFormation StackSets, from the organization account: the trait plinth
//! uses for deploy roles by StackSet, its plain types, and its implementation on the SDK.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use aws_sdk_cloudformation::types::{
    AccountFilterType, AutoDeployment, CallAs, Capability, DeploymentTargets, Parameter,
    PermissionModels, RegionConcurrencyType, StackSetOperationPreferences, StackSetStatus, Tag,
};

use super::errors::error;
use super::{AwsError, AwsResult};
use crate::plan::StackInstance;

/// A StackSet as CloudFormation describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackSetDescription {
    /// The set's id (`NAME:UUID`), which its instances' stacks are tagged with.
    pub(crate) id: String,
    /// The set's name, which plinth derives from the target's (`NAME-deploy-TARGET`).
    pub(crate) name: String,
    /// `ACTIVE` or `DELETED`.
    pub(crate) status: String,
    /// The template every instance is to hold, as the set keeps it.
    pub(crate) template: String,
    /// The set's parameter values, which every instance gets.
    pub(crate) parameters: BTreeMap<String, String>,
    /// The set's tags, which carry the foundation's name and kind like a stack's.
    pub(crate) tags: BTreeMap<String, String>,
}

/// One StackSet operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    /// The id to follow the operation by.
    pub(crate) id: String,
    /// `CREATE`, `UPDATE`, `DELETE`, `DETECT_DRIFT`.
    pub(crate) action: String,
    /// `QUEUED`, `RUNNING`, `SUCCEEDED`, `FAILED`, `STOPPING`, `STOPPED`.
    pub(crate) status: String,
    /// Why it failed or stopped, when CloudFormation says.
    pub(crate) reason: Option<String>,
}

impl Operation {
    /// Whether the operation has ended, well or not.
    pub(crate) fn is_done(&self) -> bool {
        matches!(self.status.as_str(), "SUCCEEDED" | "FAILED" | "STOPPED")
    }
}

/// What an operation did in one account and region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceResult {
    /// The member account the instance is in.
    pub(crate) account: String,
    /// The instance's region.
    pub(crate) region: String,
    /// `PENDING`, `RUNNING`, `SUCCEEDED`, `FAILED`, `CANCELLED`.
    pub(crate) status: String,
    /// The failed resource's reason, for an instance that failed.
    pub(crate) reason: Option<String>,
}

/// What a StackSet holds: its template, parameters and tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackSetRequest {
    /// The set's name.
    pub(crate) name: String,
    /// The description CloudFormation shows: the template's own.
    pub(crate) description: String,
    /// The template, compact JSON.
    pub(crate) template_body: String,
    /// Parameter values for every instance (the artifact keys' ARNs).
    pub(crate) parameters: BTreeMap<String, String>,
    /// The foundation's tags, which every instance's stack carries too.
    pub(crate) tags: BTreeMap<String, String>,
}

/// How `accounts` refine the accounts of `units` (CloudFormation's `AccountFilterType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AccountFilter {
    /// Only the listed accounts of the units.
    Intersection,
    /// Every account of the units but the listed ones.
    Difference,
}

/// Which accounts an operation reaches: the accounts of organizational units, refined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Targets {
    /// The organizational units whose accounts (and those of the units below) are reached.
    pub(crate) units: Vec<String>,
    /// Accounts that refine the units' as `filter` says.
    pub(crate) accounts: Vec<String>,
    /// `None`: every account of the units (`accounts` must then be empty).
    pub(crate) filter: Option<AccountFilter>,
}

/// How fast an operation goes, and how many failures it tolerates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preferences {
    /// The share of the accounts deployed to at once, in each region.
    pub(crate) max_concurrent_percentage: u32,
    /// The share of the accounts whose instance may fail before the operation stops in a region.
    pub(crate) failure_tolerance_percentage: u32,
}

/// Service-managed StackSets in one account (the management account or a delegated
/// administrator) and region. Each change returns the id of the operation it started.
#[async_trait]
pub trait StackSets: Send + Sync {
    /// The StackSet; `None` when it does not exist (or is deleted).
    async fn describe(&self, name: &str) -> AwsResult<Option<StackSetDescription>>;
    /// Every instance, with its status.
    async fn instances(&self, name: &str) -> AwsResult<Vec<StackInstance>>;
    /// The most recent operations, newest first (at most one page).
    async fn operations(&self, name: &str) -> AwsResult<Vec<Operation>>;
    /// The names of the active StackSets whose name starts with `prefix`.
    async fn names(&self, prefix: &str) -> AwsResult<Vec<String>>;
    /// Creates the StackSet, service-managed with auto-deployment; no instances yet.
    async fn create(&self, request: &StackSetRequest) -> AwsResult<String>;
    /// Updates the StackSet and every instance.
    async fn update(
        &self,
        request: &StackSetRequest,
        preferences: Preferences,
    ) -> AwsResult<String>;
    /// Creates instances in the accounts `targets` name, in each of `regions`.
    async fn create_instances(
        &self,
        name: &str,
        targets: &Targets,
        regions: &[String],
        preferences: Preferences,
    ) -> AwsResult<String>;
    /// Deletes the instances and their stacks.
    async fn delete_instances(
        &self,
        name: &str,
        targets: &Targets,
        regions: &[String],
        preferences: Preferences,
    ) -> AwsResult<String>;
    /// Deletes the StackSet, which must have no instances left.
    async fn delete(&self, name: &str) -> AwsResult<()>;
    /// One operation, by its id: how it is going.
    async fn operation(&self, name: &str, id: &str) -> AwsResult<Operation>;
    /// What the operation did in each account and region.
    async fn results(&self, name: &str, id: &str) -> AwsResult<Vec<InstanceResult>>;
}

/// The SDK's StackSets client, calling as the management account or a delegated administrator.
pub(super) struct SdkStackSets {
    pub(super) client: aws_sdk_cloudformation::Client,
    pub(super) call_as: CallAs,
    pub(super) calls: Arc<AtomicU64>,
}

impl SdkStackSets {
    fn count(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }
}

fn is_missing(err: &AwsError) -> bool {
    err.code.as_deref() == Some("StackSetNotFoundException")
}

fn pairs_to_parameters(values: &BTreeMap<String, String>) -> Vec<Parameter> {
    values
        .iter()
        .map(|(k, v)| {
            Parameter::builder()
                .parameter_key(k)
                .parameter_value(v)
                .build()
        })
        .collect()
}

fn pairs_to_tags(values: &BTreeMap<String, String>) -> Vec<Tag> {
    values
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

fn deployment(targets: &Targets) -> DeploymentTargets {
    DeploymentTargets::builder()
        .set_organizational_unit_ids(Some(targets.units.clone()))
        .set_accounts((!targets.accounts.is_empty()).then(|| targets.accounts.clone()))
        .set_account_filter_type(targets.filter.map(|f| match f {
            AccountFilter::Intersection => AccountFilterType::Intersection,
            AccountFilter::Difference => AccountFilterType::Difference,
        }))
        .build()
}

fn preferences(p: Preferences) -> StackSetOperationPreferences {
    StackSetOperationPreferences::builder()
        .region_concurrency_type(RegionConcurrencyType::Parallel)
        .max_concurrent_percentage(i32::try_from(p.max_concurrent_percentage).unwrap_or(100))
        .failure_tolerance_percentage(i32::try_from(p.failure_tolerance_percentage).unwrap_or(100))
        .build()
}

#[async_trait]
impl StackSets for SdkStackSets {
    async fn describe(&self, name: &str) -> AwsResult<Option<StackSetDescription>> {
        self.count();
        let out = match self
            .client
            .describe_stack_set()
            .stack_set_name(name)
            .call_as(self.call_as.clone())
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) => {
                let err = error("DescribeStackSet", e);
                return if is_missing(&err) { Ok(None) } else { Err(err) };
            }
        };
        let Some(set) = out.stack_set() else {
            return Ok(None);
        };
        let status = set.status().map_or("", |s| s.as_str()).to_owned();
        if status == "DELETED" {
            return Ok(None);
        }
        let pair = |k: Option<&str>, v: Option<&str>| {
            (
                k.unwrap_or_default().to_owned(),
                v.unwrap_or_default().to_owned(),
            )
        };
        Ok(Some(StackSetDescription {
            id: set.stack_set_id().unwrap_or_default().to_owned(),
            name: set.stack_set_name().unwrap_or(name).to_owned(),
            status,
            template: set.template_body().unwrap_or_default().to_owned(),
            parameters: set
                .parameters()
                .iter()
                .map(|p| pair(p.parameter_key(), p.parameter_value()))
                .collect(),
            tags: set
                .tags()
                .iter()
                .map(|t| pair(t.key(), t.value()))
                .collect(),
        }))
    }

    async fn instances(&self, name: &str) -> AwsResult<Vec<StackInstance>> {
        let mut out = Vec::new();
        let mut pages = self
            .client
            .list_stack_instances()
            .stack_set_name(name)
            .call_as(self.call_as.clone())
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            self.count();
            let page = page.map_err(|e| error("ListStackInstances", e))?;
            out.extend(page.summaries().iter().map(|s| {
                StackInstance {
                    account: s.account().unwrap_or_default().to_owned(),
                    region: s.region().unwrap_or_default().to_owned(),
                    status: s.status().map_or("", |x| x.as_str()).to_owned(),
                    detailed_status: s
                        .stack_instance_status()
                        .and_then(|x| x.detailed_status())
                        .map(|x| x.as_str().to_owned()),
                    reason: s.status_reason().map(str::to_owned),
                    unit: s.organizational_unit_id().map(str::to_owned),
                    drift_status: s.drift_status().map(|x| x.as_str().to_owned()),
                }
            }));
        }
        Ok(out)
    }

    async fn operations(&self, name: &str) -> AwsResult<Vec<Operation>> {
        self.count();
        let out = self
            .client
            .list_stack_set_operations()
            .stack_set_name(name)
            .call_as(self.call_as.clone())
            .send()
            .await
            .map_err(|e| error("ListStackSetOperations", e))?;
        let mut operations: Vec<(Option<aws_smithy_types::DateTime>, Operation)> = out
            .summaries()
            .iter()
            .map(|s| {
                (
                    s.creation_timestamp().copied(),
                    Operation {
                        id: s.operation_id().unwrap_or_default().to_owned(),
                        action: s.action().map_or("", |a| a.as_str()).to_owned(),
                        status: s.status().map_or("", |a| a.as_str()).to_owned(),
                        reason: s.status_reason().map(str::to_owned),
                    },
                )
            })
            .collect();
        operations.sort_by(|a, b| {
            let key =
                |t: &Option<aws_smithy_types::DateTime>| t.map(|t| (t.secs(), t.subsec_nanos()));
            key(&b.0).cmp(&key(&a.0))
        });
        Ok(operations.into_iter().map(|(_, o)| o).collect())
    }

    async fn names(&self, prefix: &str) -> AwsResult<Vec<String>> {
        let mut out = Vec::new();
        let mut pages = self
            .client
            .list_stack_sets()
            .status(StackSetStatus::Active)
            .call_as(self.call_as.clone())
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            self.count();
            let page = page.map_err(|e| error("ListStackSets", e))?;
            out.extend(
                page.summaries()
                    .iter()
                    .filter_map(|s| s.stack_set_name())
                    .filter(|n| n.starts_with(prefix))
                    .map(str::to_owned),
            );
        }
        Ok(out)
    }

    async fn create(&self, request: &StackSetRequest) -> AwsResult<String> {
        self.count();
        let out = self
            .client
            .create_stack_set()
            .stack_set_name(&request.name)
            .description(&request.description)
            .template_body(&request.template_body)
            .set_parameters(Some(pairs_to_parameters(&request.parameters)))
            .set_tags(Some(pairs_to_tags(&request.tags)))
            .capabilities(Capability::CapabilityNamedIam)
            .permission_model(PermissionModels::ServiceManaged)
            .auto_deployment(
                AutoDeployment::builder()
                    .enabled(true)
                    .retain_stacks_on_account_removal(false)
                    .build(),
            )
            .call_as(self.call_as.clone())
            .send()
            .await
            .map_err(|e| error("CreateStackSet", e))?;
        Ok(out.stack_set_id().unwrap_or_default().to_owned())
    }

    async fn update(
        &self,
        request: &StackSetRequest,
        preferences: Preferences,
    ) -> AwsResult<String> {
        self.count();
        let out = self
            .client
            .update_stack_set()
            .stack_set_name(&request.name)
            .description(&request.description)
            .template_body(&request.template_body)
            .set_parameters(Some(pairs_to_parameters(&request.parameters)))
            .set_tags(Some(pairs_to_tags(&request.tags)))
            .capabilities(Capability::CapabilityNamedIam)
            .permission_model(PermissionModels::ServiceManaged)
            .auto_deployment(
                AutoDeployment::builder()
                    .enabled(true)
                    .retain_stacks_on_account_removal(false)
                    .build(),
            )
            .operation_preferences(self::preferences(preferences))
            .call_as(self.call_as.clone())
            .send()
            .await
            .map_err(|e| error("UpdateStackSet", e))?;
        Ok(out.operation_id().unwrap_or_default().to_owned())
    }

    async fn create_instances(
        &self,
        name: &str,
        targets: &Targets,
        regions: &[String],
        preferences: Preferences,
    ) -> AwsResult<String> {
        self.count();
        let out = self
            .client
            .create_stack_instances()
            .stack_set_name(name)
            .deployment_targets(deployment(targets))
            .set_regions(Some(regions.to_vec()))
            .operation_preferences(self::preferences(preferences))
            .call_as(self.call_as.clone())
            .send()
            .await
            .map_err(|e| error("CreateStackInstances", e))?;
        Ok(out.operation_id().unwrap_or_default().to_owned())
    }

    async fn delete_instances(
        &self,
        name: &str,
        targets: &Targets,
        regions: &[String],
        preferences: Preferences,
    ) -> AwsResult<String> {
        self.count();
        let out = self
            .client
            .delete_stack_instances()
            .stack_set_name(name)
            .deployment_targets(deployment(targets))
            .set_regions(Some(regions.to_vec()))
            .retain_stacks(false)
            .operation_preferences(self::preferences(preferences))
            .call_as(self.call_as.clone())
            .send()
            .await
            .map_err(|e| error("DeleteStackInstances", e))?;
        Ok(out.operation_id().unwrap_or_default().to_owned())
    }

    async fn delete(&self, name: &str) -> AwsResult<()> {
        self.count();
        match self
            .client
            .delete_stack_set()
            .stack_set_name(name)
            .call_as(self.call_as.clone())
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => {
                let err = error("DeleteStackSet", e);
                if is_missing(&err) { Ok(()) } else { Err(err) }
            }
        }
    }

    async fn operation(&self, name: &str, id: &str) -> AwsResult<Operation> {
        self.count();
        let out = self
            .client
            .describe_stack_set_operation()
            .stack_set_name(name)
            .operation_id(id)
            .call_as(self.call_as.clone())
            .send()
            .await
            .map_err(|e| error("DescribeStackSetOperation", e))?;
        let op = out.stack_set_operation();
        Ok(Operation {
            id: id.to_owned(),
            action: op
                .and_then(|o| o.action())
                .map_or("", |a| a.as_str())
                .to_owned(),
            status: op
                .and_then(|o| o.status())
                .map_or("", |a| a.as_str())
                .to_owned(),
            reason: op.and_then(|o| o.status_reason()).map(str::to_owned),
        })
    }

    async fn results(&self, name: &str, id: &str) -> AwsResult<Vec<InstanceResult>> {
        let mut out = Vec::new();
        let mut pages = self
            .client
            .list_stack_set_operation_results()
            .stack_set_name(name)
            .operation_id(id)
            .call_as(self.call_as.clone())
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            self.count();
            let page = page.map_err(|e| error("ListStackSetOperationResults", e))?;
            out.extend(page.summaries().iter().map(|s| InstanceResult {
                account: s.account().unwrap_or_default().to_owned(),
                region: s.region().unwrap_or_default().to_owned(),
                status: s.status().map_or("", |x| x.as_str()).to_owned(),
                reason: s.status_reason().map(str::to_owned),
            }));
        }
        Ok(out)
    }
}
