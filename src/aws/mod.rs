//! The only module that knows the AWS SDK. One narrow trait per service plinth uses, with plain
//! types in and out, so that the executor and its tests can run on a fake of the same traits.
//! [`sdk::SdkCloud`] implements them on the official SDK with the standard credential chain,
//! per-account credentials from the topology, and the SDK's standard retry mode (throttling is
//! retried by the SDK, never read as "missing" or "failed").

pub(crate) mod calls;
mod errors;
#[cfg(any(test, feature = "test-support"))]
pub mod fake;
mod live;
mod profiles;
mod read_error;
pub mod sdk;
pub(crate) mod set_reads;
pub mod snapshot;
mod stack_sets;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub(crate) use stack_sets::{
    AccountFilter, Operation, Preferences, StackSetRequest, StackSets, Targets,
};

use crate::plan::StackSummary;
use crate::plan::drift::{
    LiveBucket, LiveFunction, LiveKey, LiveLogGroup, LiveRole, PipelineDefinition, Repair,
};
use crate::topology::{AccountId, Region};

/// An AWS call that failed, flattened from the SDK's error: which call, AWS's code and message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct AwsError {
    /// The API call, as AWS names it (`UpdateStack`).
    pub(crate) operation: &'static str,
    /// AWS's error code; `None` when no answer came (a transport failure).
    pub(crate) code: Option<String>,
    /// AWS's message, or the chain of causes when no answer came.
    pub(crate) message: String,
}

impl fmt::Display for AwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.code {
            Some(code) => write!(f, "{} failed: {code}: {}", self.operation, self.message),
            None => write!(f, "{} failed: {}", self.operation, self.message),
        }
    }
}

impl AwsError {
    /// Throttling, or no answer at all (no error code: a transport failure). Such an error says
    /// nothing about the resource asked about.
    pub(crate) fn is_transient(&self) -> bool {
        match self.code.as_deref() {
            None => true,
            Some(code) => matches!(
                code,
                "Throttling"
                    | "ThrottlingException"
                    | "RequestLimitExceeded"
                    | "TooManyRequestsException"
            ),
        }
    }

    /// CloudFormation refused an operation because another one holds the stack: a create of a
    /// name that exists (`AlreadyExistsException`), or an update or delete while the stack is
    /// in progress (`ValidationError: … is in UPDATE_IN_PROGRESS state and can not be updated`,
    /// `… cannot be deleted while in status …`). Reading the stack again and waiting resolves it.
    pub(crate) fn is_conflict(&self) -> bool {
        match self.code.as_deref() {
            Some("AlreadyExistsException") => true,
            Some("ValidationError") => {
                self.message.contains("_IN_PROGRESS state")
                    || self.message.contains("while in status")
            }
            _ => false,
        }
    }

    /// A policy refused because a principal it names is not known to the service: S3's
    /// `MalformedPolicy: Invalid principal in policy`, KMS's `MalformedPolicyDocumentException`
    /// ("… one or more invalid principals"), IAM's `MalformedPolicyDocument`. Right after a role
    /// is created this is IAM's eventual consistency, and passes within seconds or a minute.
    pub(crate) fn is_invisible_principal(&self) -> bool {
        matches!(
            self.code.as_deref(),
            Some(
                "MalformedPolicy" | "MalformedPolicyDocumentException" | "MalformedPolicyDocument"
            )
        ) && names_invisible_principal(&self.message)
    }

    /// CloudFormation refused a StackSet call because another operation runs on the set (an
    /// auto-deployment, or another run): waiting for it and calling again resolves it.
    pub(crate) fn is_stack_set_busy(&self) -> bool {
        self.code.as_deref() == Some("OperationInProgressException")
    }

    /// AWS refused the call for want of a permission (`AccessDenied`, `AccessDeniedException`,
    /// or S3's 403 with no code of its own).
    pub(crate) fn is_access_denied(&self) -> bool {
        matches!(
            self.code.as_deref(),
            Some("AccessDenied" | "AccessDeniedException" | "Forbidden")
        )
    }

    /// S3's answer for a bucket that does not exist.
    pub(crate) fn is_no_such_bucket(&self) -> bool {
        self.code.as_deref() == Some("NoSuchBucket")
    }

    /// An error of `operation` with AWS's code and message.
    pub(crate) fn new(
        operation: &'static str,
        code: Option<&str>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            operation,
            code: code.map(str::to_owned),
            message: message.into(),
        }
    }
}

/// The answer of an AWS call.
pub(crate) type AwsResult<T> = Result<T, AwsError>;

/// The failed events with a reason of a stack's latest operation, newest first (at most ten),
/// from its events newest first: those that came after the stack's own `*_IN_PROGRESS` event
/// that started the operation.
pub(crate) fn latest_failures(events: Vec<StackEvent>, stack: &str) -> Vec<StackEvent> {
    let mut out = Vec::new();
    for event in events {
        let operation_start = event.logical_id == stack
            && matches!(
                event.status.as_str(),
                "CREATE_IN_PROGRESS" | "UPDATE_IN_PROGRESS" | "DELETE_IN_PROGRESS"
            );
        if operation_start || out.len() >= 10 {
            break;
        }
        if event.status.ends_with("_FAILED") && event.reason.is_some() {
            out.push(event);
        }
    }
    out
}

/// Whether a refusal's text (an error message, or the reason of a stack event) says that a
/// policy names a principal the service does not know: S3 and IAM say "Invalid principal in
/// policy", KMS "one or more invalid principals".
pub(crate) fn names_invisible_principal(text: &str) -> bool {
    text.to_ascii_lowercase().contains("invalid principal")
}

/// What to create or update a stack with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackRequest {
    /// The stack's name.
    pub(crate) name: String,
    /// The template; sent as `TemplateBody` unless `template_url` is set.
    pub(crate) template_body: String,
    /// Where the same template was uploaded, for a template over the `TemplateBody` limit.
    pub(crate) template_url: Option<String>,
    /// Parameter values, the upstream stacks' outputs among them.
    pub(crate) parameters: BTreeMap<String, String>,
    /// The stack-level tags, which name the foundation and the stack's kind.
    pub(crate) tags: BTreeMap<String, String>,
}

/// A change set of type `IMPORT`: resources that exist outside any stack brought under one,
/// untouched (the template declares them and nothing else the stack does not already hold).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRequest {
    /// The stack's name; CloudFormation makes the stack (`REVIEW_IN_PROGRESS`) when it is new.
    pub(crate) name: String,
    /// The template of the import.
    pub(crate) template_body: String,
    /// The stack-level tags, which name the foundation and the stack's kind.
    pub(crate) tags: BTreeMap<String, String>,
    /// The resources to import, each with the identifier its type takes.
    pub(crate) resources: Vec<crate::plan::ImportedResource>,
}

/// Where a change set stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeSetState {
    /// CloudFormation is still making it.
    Pending,
    /// Made, and ready to be executed.
    Ready,
    /// CloudFormation refused it, for this reason.
    Failed(String),
}

/// Whether an update started, or CloudFormation found nothing to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateOutcome {
    /// The update started: wait for it.
    Started,
    /// The stack already holds the request: nothing to wait for.
    NoChanges,
}

/// One event of a stack: what happened to one of its resources (or to the stack itself), which
/// explains a failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackEvent {
    /// When it happened, as CloudFormation writes it.
    pub(crate) timestamp: String,
    /// The resource's logical id (the stack's name for the stack's own events).
    pub(crate) logical_id: String,
    /// The resource's type.
    pub(crate) resource_type: String,
    /// The resource's status (`CREATE_FAILED`).
    pub(crate) status: String,
    /// Why, when CloudFormation says.
    pub(crate) reason: Option<String>,
}

/// One resource of a stack: how the template names it and what AWS calls it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackResource {
    /// The template's name for it.
    pub(crate) logical_id: String,
    /// The service's name or id for it; `None` until it is created.
    pub(crate) physical_id: Option<String>,
    /// The resource's type.
    pub(crate) resource_type: String,
}

/// CloudFormation in one account and region.
#[async_trait]
pub trait CloudFormation: Send + Sync {
    /// Every stack of the region that is not deleted.
    async fn list_stacks(&self) -> AwsResult<Vec<StackSummary>>;
    /// One stack by name or id; `None` when it does not exist.
    async fn describe_stack(&self, name_or_id: &str) -> AwsResult<Option<StackSummary>>;
    /// The template the stack holds, as it was sent.
    async fn get_template(&self, name_or_id: &str) -> AwsResult<String>;
    /// Returns the stack id.
    async fn create_stack(&self, request: &StackRequest) -> AwsResult<String>;
    /// Starts an update; CloudFormation may find nothing to do.
    async fn update_stack(&self, request: &StackRequest) -> AwsResult<UpdateOutcome>;
    /// Starts a delete.
    async fn delete_stack(&self, name_or_id: &str) -> AwsResult<()>;
    /// Resumes the rollback of a stack in `UPDATE_ROLLBACK_FAILED`.
    async fn continue_update_rollback(&self, name_or_id: &str) -> AwsResult<()>;
    /// The most recent events, newest first.
    async fn stack_events(&self, name_or_id: &str) -> AwsResult<Vec<StackEvent>>;
    /// The stack's resources, for drift reads and bucket emptying.
    async fn stack_resources(&self, name_or_id: &str) -> AwsResult<Vec<StackResource>>;
    /// The name of the stack of this region that holds the resource with this physical id
    /// (`DescribeStackResources` by `PhysicalResourceId`); `None` when no stack does.
    async fn holding_stack(&self, physical_id: &str) -> AwsResult<Option<String>>;
    /// The stacks that import an export (none: an empty list).
    async fn list_imports(&self, export: &str) -> AwsResult<Vec<String>>;
    /// Creates a change set of type `IMPORT`; returns its id.
    async fn create_import_change_set(&self, request: &ImportRequest) -> AwsResult<String>;
    /// Where a change set stands.
    async fn change_set_state(&self, id: &str) -> AwsResult<ChangeSetState>;
    /// Executes a change set that is ready.
    async fn execute_change_set(&self, id: &str) -> AwsResult<()>;
}

/// Who holds a bucket name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BucketOwner {
    /// The name is free.
    Nobody,
    /// The account that asked.
    ThisAccount,
    /// Another account: the name cannot be had.
    Someone,
}

/// S3 as seen from one account; bucket operations go to the bucket's own region.
#[async_trait]
pub trait S3: Send + Sync {
    /// Who holds the bucket name.
    async fn bucket_owner(&self, bucket: &str) -> AwsResult<BucketOwner>;
    /// The region of a bucket of this account.
    async fn bucket_region(&self, bucket: &str) -> AwsResult<Region>;
    /// Deletes every object version and delete marker; returns how many were deleted.
    async fn empty_bucket(&self, bucket: &str, region: &Region) -> AwsResult<u64>;
    /// Deletes an empty bucket.
    async fn delete_bucket(&self, bucket: &str, region: &Region) -> AwsResult<()>;
    /// Writes an object encrypted with the bucket's default KMS key, named in the request: the
    /// foundation's bucket policies refuse uploads that do not name the bucket's own key.
    async fn put_object(
        &self,
        bucket: &str,
        region: &Region,
        key: &str,
        body: &str,
    ) -> AwsResult<()>;
    /// An object's body as text; `None` when the object does not exist.
    async fn get_object(
        &self,
        bucket: &str,
        region: &Region,
        key: &str,
    ) -> AwsResult<Option<String>>;
    /// The settings drift checks; `None` when the bucket does not exist.
    async fn read_bucket(&self, bucket: &str, region: &Region) -> AwsResult<Option<LiveBucket>>;
    /// Sets one bucket setting as declared.
    async fn repair(&self, region: &Region, repair: &Repair) -> AwsResult<()>;
}

/// IAM of one account.
#[async_trait]
pub trait Iam: Send + Sync {
    /// Trust, inline and managed policies, boundary; `None` when the role does not exist.
    async fn read_role(&self, name: &str) -> AwsResult<Option<LiveRole>>;
    /// Sets one role setting as declared.
    async fn repair(&self, repair: &Repair) -> AwsResult<()>;
}

/// The deletion state of a KMS key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyDeletion {
    /// Scheduled for deletion, for good at this date.
    PendingUntil(String),
    /// Deleted already.
    Gone,
    /// Not scheduled for deletion.
    Active,
}

/// KMS of one account and region.
#[async_trait]
pub trait Kms: Send + Sync {
    /// Whether and when the key is deleted.
    async fn key_deletion(&self, key_id: &str) -> AwsResult<KeyDeletion>;
    /// Policy, rotation and state; `None` when the key does not exist.
    async fn read_key(&self, key_id: &str) -> AwsResult<Option<LiveKey>>;
    /// The key an alias points at; `None` when the alias does not exist.
    async fn alias_target(&self, alias: &str) -> AwsResult<Option<String>>;
    /// Sets one key or alias setting as declared.
    async fn repair(&self, repair: &Repair) -> AwsResult<()>;
}

/// Lambda of one account and region.
#[async_trait]
pub trait Lambda: Send + Sync {
    /// Runtime, handler, timeout, memory and role, and the hash of the code (base64 SHA-256) of
    /// a function or, given a version's ARN, of that version; `None` when it does not exist.
    async fn read_function(
        &self,
        name_or_arn: &str,
    ) -> AwsResult<Option<(LiveFunction, Option<String>)>>;
    /// Sets the function's configuration or code as declared.
    async fn repair(&self, repair: &Repair) -> AwsResult<()>;
}

/// CloudWatch Logs of one account and region.
#[async_trait]
pub trait Logs: Send + Sync {
    /// The log group's retention; `None` when the log group does not exist.
    async fn read_log_group(&self, name: &str) -> AwsResult<Option<LiveLogGroup>>;
    /// Creates the log group or sets its retention as declared.
    async fn repair(&self, repair: &Repair) -> AwsResult<()>;
}

/// CodePipeline of one account and region.
#[async_trait]
pub trait CodePipeline: Send + Sync {
    /// The pipeline's definition; `None` when the pipeline does not exist.
    async fn read_pipeline(&self, name: &str) -> AwsResult<Option<PipelineDefinition>>;
    /// Puts the pipeline's definition back as declared.
    async fn repair(&self, repair: &Repair) -> AwsResult<()>;
}

/// STS with one account's credentials.
#[async_trait]
pub trait Sts: Send + Sync {
    /// The account the credentials act in.
    async fn caller_account(&self) -> AwsResult<String>;
}

/// AWS Organizations, read from the management account or a delegated administrator.
#[async_trait]
pub trait Organizations: Send + Sync {
    /// The organizational units directly under a unit or root.
    async fn child_units(&self, parent: &str) -> AwsResult<Vec<String>>;
    /// The active accounts directly in a unit or root (not in the units below it).
    async fn active_accounts(&self, parent: &str) -> AwsResult<Vec<String>>;
    /// The organization's id and its management account (`DescribeOrganization`, which any
    /// account of the organization may call).
    async fn describe(&self) -> AwsResult<OrganizationDescription>;
}

/// What `DescribeOrganization` says of an organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganizationDescription {
    /// The organization's id (`o-…`).
    pub id: String,
    /// The management account's id.
    pub management_account: String,
}

/// Clients per account and region. Asking for an account the cloud has no credentials for is
/// an error (code [`UNKNOWN_ACCOUNT`]), never another account's clients.
pub trait Cloud: Send + Sync {
    /// CloudFormation in an account and region.
    fn cloudformation(
        &self,
        account: &AccountId,
        region: &Region,
    ) -> AwsResult<Arc<dyn CloudFormation>>;
    /// S3 as an account sees it.
    fn s3(&self, account: &AccountId) -> AwsResult<Arc<dyn S3>>;
    /// IAM of an account.
    fn iam(&self, account: &AccountId) -> AwsResult<Arc<dyn Iam>>;
    /// KMS in an account and region.
    fn kms(&self, account: &AccountId, region: &Region) -> AwsResult<Arc<dyn Kms>>;
    /// Lambda in an account and region.
    fn lambda(&self, account: &AccountId, region: &Region) -> AwsResult<Arc<dyn Lambda>>;
    /// CodePipeline in an account and region.
    fn codepipeline(
        &self,
        account: &AccountId,
        region: &Region,
    ) -> AwsResult<Arc<dyn CodePipeline>>;
    /// CloudWatch Logs in an account and region.
    fn logs(&self, account: &AccountId, region: &Region) -> AwsResult<Arc<dyn Logs>>;
    /// STS with an account's credentials, to confirm whose they are.
    fn sts(&self, account: &AccountId) -> AwsResult<Arc<dyn Sts>>;
    /// AWS Organizations through the organization account.
    fn organizations(&self, account: &AccountId) -> AwsResult<Arc<dyn Organizations>>;
    /// Service-managed StackSets, as the management account or (`delegated_admin`) a
    /// delegated administrator. A cloud without them answers an error for every account.
    fn stack_sets(
        &self,
        account: &AccountId,
        region: &Region,
        delegated_admin: bool,
    ) -> AwsResult<Arc<dyn StackSets>> {
        let _ = (region, delegated_admin);
        Err(AwsError::new(
            "credentials",
            Some("UnsupportedOperation"),
            format!("this cloud has no StackSets for account {account}"),
        ))
    }
    /// How many AWS API calls were made so far.
    fn calls(&self) -> u64 {
        0
    }
}

/// The error code of a request for an account that has no credentials.
pub const UNKNOWN_ACCOUNT: &str = "UnknownAccount";

/// The error for an account the topology does not name.
pub(crate) fn unknown_account(account: &AccountId) -> AwsError {
    AwsError::new(
        "credentials",
        Some(UNKNOWN_ACCOUNT),
        format!("account {account} is not in the topology, so plinth has no credentials for it"),
    )
}
