//! Drift: what the resources of a stack are, read from their own services, against what the
//! stack's template declares. CloudFormation does not notice a bucket policy deleted or an inline
//! policy added behind its back; this module does, and says how to put each property back.
//!
//! Pure: the live configuration comes in as data ([`LiveStack`]), read by `aws::snapshot`.
//! Declared values are the template's properties with their intrinsic functions resolved against
//! the stack's physical resource ids and parameters. A value that cannot be resolved is not
//! compared, so an unknown never shows as drift.
//!
//! Its rooms: [`resolve`] brings a template's intrinsic functions to the values they take in a
//! deployed stack; [`policy`] compares policy documents by meaning and says how they differ;
//! `compare` compares each resource kind's live settings with the declared ones; `pipeline`
//! does the same for a pipeline's definition.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

mod compare;
mod pipeline;
pub(crate) mod policy;
pub(crate) mod resolve;

pub(crate) use compare::detect;
use compare::{Found, key_id};
pub(crate) use pipeline::{
    ArtifactStore, DEFAULT_EXECUTION_MODE, PipelineAction, PipelineDefinition, Stage,
};
use policy::scalar;
pub(crate) use policy::{parse_document, policy_changes, same_policy};
pub(crate) use resolve::{Context, partition, pseudo_parameter};

/// The live configuration of the resources of one stack, as their services report it.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct LiveStack {
    /// Every resource of the stack, read or not.
    pub(crate) resources: Vec<LiveResource>,
}

/// One resource of a stack, with what its service holds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LiveResource {
    /// The template's name for it.
    pub(crate) logical_id: String,
    /// Its type.
    pub(crate) resource_type: String,
    /// Its name or id in its service.
    pub(crate) physical_id: String,
    /// What its service holds.
    pub(crate) config: LiveConfig,
}

/// What a resource's service holds, by kind.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum LiveConfig {
    /// An S3 bucket's settings.
    Bucket(LiveBucket),
    /// A KMS key's policy, rotation and state.
    Key(LiveKey),
    /// A KMS alias.
    Alias {
        /// The key it points at; `None` when the alias is gone.
        target_key_id: Option<String>,
    },
    /// An IAM role's policies and boundary.
    Role(LiveRole),
    /// A Lambda function.
    Function {
        /// Its configuration.
        configuration: LiveFunction,
        /// Base64 SHA-256 of the deployment package, as Lambda reports it.
        code_sha256: Option<String>,
    },
    /// A published version of a function: the code CloudFormation deployed.
    Version {
        /// Base64 SHA-256 of the version's package.
        code_sha256: Option<String>,
    },
    /// A CodePipeline's definition.
    Pipeline(PipelineDefinition),
    /// A log group's retention.
    LogGroup(LiveLogGroup),
    /// A resource the stack owns that its service no longer has: deleted outside
    /// CloudFormation (roles, functions, pipelines, aliases and log groups, which plinth can
    /// create again under the same name).
    Gone,
    /// A resource of a type drift does not check, or one that no longer exists and that plinth
    /// cannot create again by itself.
    NotRead,
}

/// A CloudWatch Logs log group's settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LiveLogGroup {
    /// Days its events are kept; `None`: forever.
    pub(crate) retention_days: Option<i64>,
}

/// A Lambda function's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct LiveFunction {
    /// Its runtime (`python3.12`).
    pub(crate) runtime: Option<String>,
    /// Its handler (`index.handler`).
    pub(crate) handler: Option<String>,
    /// Its timeout, in seconds.
    pub(crate) timeout: Option<i64>,
    /// Its memory, in MB.
    pub(crate) memory: Option<i64>,
    /// The ARN of the role it runs as.
    pub(crate) role: Option<String>,
}

/// An S3 bucket's settings that the templates declare.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LiveBucket {
    /// The bucket policy's JSON text; `None` when the bucket has none.
    pub(crate) policy: Option<String>,
    /// Its default encryption; `None` when it has none.
    pub(crate) encryption: Option<Encryption>,
    /// `Enabled`, `Suspended`, or `None` when versioning was never set.
    pub(crate) versioning: Option<String>,
    /// The four public access block settings, in the order of [`PUBLIC_ACCESS_BLOCK`].
    pub(crate) public_access_block: Option<[bool; 4]>,
    /// Its object ownership (`BucketOwnerEnforced`); `None` when not set.
    pub(crate) ownership: Option<String>,
    /// Its lifecycle rules.
    pub(crate) lifecycle: Vec<LifecycleRule>,
}

/// A bucket's default encryption.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Encryption {
    /// `aws:kms` or `AES256`.
    pub(crate) algorithm: String,
    /// The KMS key, for `aws:kms`.
    pub(crate) key_id: Option<String>,
    /// Whether S3 Bucket Keys are on.
    pub(crate) bucket_key: bool,
}

/// A bucket lifecycle rule, as far as the templates declare one.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LifecycleRule {
    /// The rule's id.
    pub(crate) id: String,
    /// Whether it is on.
    pub(crate) enabled: bool,
    /// Days after which noncurrent versions expire.
    pub(crate) noncurrent_days: Option<i64>,
    /// Days after which incomplete multipart uploads are aborted.
    pub(crate) abort_incomplete_days: Option<i64>,
}

/// A KMS key's settings that the templates declare.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LiveKey {
    /// The key policy's JSON text.
    pub(crate) policy: Option<String>,
    /// Whether yearly rotation is on.
    pub(crate) rotation: bool,
    /// `Enabled`, `Disabled`, `PendingDeletion`, …
    pub(crate) state: String,
}

/// An IAM role's settings that the templates declare.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LiveRole {
    /// The trust policy's JSON text.
    pub(crate) trust: Option<String>,
    /// Inline policies: name to JSON text.
    pub(crate) inline: BTreeMap<String, String>,
    /// The ARNs of its attached managed policies.
    pub(crate) managed: BTreeSet<String>,
    /// Its permissions boundary's ARN.
    pub(crate) boundary: Option<String>,
}

/// The public access block settings, as CloudFormation names them.
pub(crate) const PUBLIC_ACCESS_BLOCK: [&str; 4] = [
    "BlockPublicAcls",
    "BlockPublicPolicy",
    "IgnorePublicAcls",
    "RestrictPublicBuckets",
];

/// One property of one resource that is not what the template declares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Drift {
    /// The template's logical id, e.g. `ArtifactBucketPolicy`.
    pub(crate) resource: String,
    /// Its type.
    pub(crate) resource_type: String,
    /// The physical name: bucket, key id, role name, alias.
    pub(crate) physical_id: String,
    /// The property, as the template names it (`PolicyDocument`), or `deleted`.
    pub(crate) property: String,
    /// What is there, in a line (`absent` when it is missing).
    pub(crate) live: String,
    /// What the template declares, in a line.
    pub(crate) declared: String,
    /// For a policy: the statements only the live document has (`-`) and only the declared one
    /// has (`+`), one per line.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) details: Vec<String>,
    /// The call that puts it back, exactly as declared.
    pub(crate) repair: Repair,
}

impl Drift {
    /// Whether two drifts are of the same property with the same declared value (policies by
    /// meaning, whatever their text).
    pub(crate) fn declares_the_same(&self, other: &Drift) -> bool {
        if (&self.resource, &self.property) != (&other.resource, &other.property) {
            return false;
        }
        match (self.repair.document(), other.repair.document()) {
            (Some(a), Some(b)) => match (parse_document(a), parse_document(b)) {
                (Some(a), Some(b)) => same_policy(&a, &b),
                _ => a == b,
            },
            _ => self.repair == other.repair,
        }
    }
}

/// The service a repair call goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Service {
    /// Amazon S3.
    S3,
    /// AWS KMS.
    Kms,
    /// AWS IAM.
    Iam,
    /// AWS Lambda.
    Lambda,
    /// AWS CodePipeline.
    CodePipeline,
    /// Amazon CloudWatch Logs.
    Logs,
}

impl Repair {
    /// The service the call goes to.
    pub(crate) fn service(&self) -> Service {
        match self {
            Repair::PutBucketPolicy { .. }
            | Repair::PutBucketEncryption { .. }
            | Repair::EnableBucketVersioning { .. }
            | Repair::PutPublicAccessBlock { .. }
            | Repair::PutBucketOwnership { .. }
            | Repair::PutBucketLifecycle { .. } => Service::S3,
            Repair::PutKeyPolicy { .. }
            | Repair::EnableKeyRotation { .. }
            | Repair::EnableKey { .. }
            | Repair::UpdateAlias { .. }
            | Repair::CreateAlias { .. } => Service::Kms,
            Repair::CreateRole { .. }
            | Repair::UpdateTrust { .. }
            | Repair::PutRolePolicy { .. }
            | Repair::DeleteRolePolicy { .. }
            | Repair::AttachRolePolicy { .. }
            | Repair::DetachRolePolicy { .. }
            | Repair::PutRoleBoundary { .. }
            | Repair::DeleteRoleBoundary { .. } => Service::Iam,
            Repair::UpdateFunctionConfiguration { .. }
            | Repair::UpdateFunctionCode { .. }
            | Repair::CreateFunction { .. } => Service::Lambda,
            Repair::UpdatePipeline { .. } | Repair::CreatePipeline { .. } => Service::CodePipeline,
            Repair::CreateLogGroup { .. } | Repair::PutRetentionPolicy { .. } => Service::Logs,
        }
    }

    /// The policy document a repair writes, if it writes one.
    pub(crate) fn document(&self) -> Option<&str> {
        match self {
            Repair::PutBucketPolicy { document, .. }
            | Repair::PutKeyPolicy { document, .. }
            | Repair::UpdateTrust { document, .. }
            | Repair::PutRolePolicy { document, .. } => Some(document),
            _ => None,
        }
    }
}

/// A narrowly scoped call that sets one property to what the template declares. CloudFormation
/// sends only what changed in a template, so it never rewrites a property changed behind its
/// back; these calls do, and nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "call", rename_all = "snake_case")]
pub enum Repair {
    /// `PutBucketPolicy`: the declared bucket policy.
    PutBucketPolicy {
        /// The bucket.
        bucket: String,
        /// The declared document's JSON text.
        document: String,
    },
    /// `PutBucketEncryption`: the declared default encryption.
    PutBucketEncryption {
        /// The bucket.
        bucket: String,
        /// The declared default encryption.
        encryption: Encryption,
    },
    /// `PutBucketVersioning` with versioning enabled.
    EnableBucketVersioning {
        /// The bucket.
        bucket: String,
    },
    /// `PutPublicAccessBlock`: the declared four settings.
    PutPublicAccessBlock {
        /// The bucket.
        bucket: String,
        /// The declared settings, in the order of [`PUBLIC_ACCESS_BLOCK`].
        settings: [bool; 4],
    },
    /// `PutBucketOwnershipControls`: the declared object ownership.
    PutBucketOwnership {
        /// The bucket.
        bucket: String,
        /// The declared object ownership.
        ownership: String,
    },
    /// `PutBucketLifecycleConfiguration`: the declared rules.
    PutBucketLifecycle {
        /// The bucket.
        bucket: String,
        /// The declared lifecycle rules.
        rules: Vec<LifecycleRule>,
    },
    /// `PutKeyPolicy`: the declared key policy.
    PutKeyPolicy {
        /// The key's id.
        key_id: String,
        /// The declared document's JSON text.
        document: String,
    },
    /// `EnableKeyRotation`.
    EnableKeyRotation {
        /// The key's id.
        key_id: String,
    },
    /// `EnableKey`, for a key disabled or pending deletion.
    EnableKey {
        /// The key's id.
        key_id: String,
        /// A key pending deletion is first taken out of it.
        cancel_deletion: bool,
    },
    /// `UpdateAlias`: the alias points at the declared key again.
    UpdateAlias {
        /// The alias's name (`alias/…`).
        alias: String,
        /// The key's id.
        key_id: String,
    },
    /// `UpdateAssumeRolePolicy`: the declared trust policy.
    UpdateTrust {
        /// The role's name.
        role: String,
        /// The declared document's JSON text.
        document: String,
    },
    /// `PutRolePolicy`: an inline policy as declared (added, or put back).
    PutRolePolicy {
        /// The role's name.
        role: String,
        /// The inline policy's name.
        name: String,
        /// The declared document's JSON text.
        document: String,
    },
    /// `DeleteRolePolicy`: an inline policy the template does not declare.
    DeleteRolePolicy {
        /// The role's name.
        role: String,
        /// The inline policy's name.
        name: String,
    },
    /// `AttachRolePolicy`: a declared managed policy that is missing.
    AttachRolePolicy {
        /// The role's name.
        role: String,
        /// The managed policy's ARN.
        arn: String,
    },
    /// `DetachRolePolicy`: a managed policy the template does not declare.
    DetachRolePolicy {
        /// The role's name.
        role: String,
        /// The managed policy's ARN.
        arn: String,
    },
    /// `PutRolePermissionsBoundary`: the declared boundary.
    PutRoleBoundary {
        /// The role's name.
        role: String,
        /// The boundary policy's ARN.
        arn: String,
    },
    /// `DeleteRolePermissionsBoundary`: a boundary the template does not declare.
    DeleteRoleBoundary {
        /// The role's name.
        role: String,
    },
    /// `UpdateFunctionConfiguration`: runtime, handler, timeout, memory and role as declared.
    UpdateFunctionConfiguration {
        /// The function's name.
        function: String,
        /// The declared configuration.
        configuration: LiveFunction,
    },
    /// The inline source, zipped by plinth the same way every time.
    UpdateFunctionCode {
        /// The function's name.
        function: String,
        /// The template's inline source.
        source: String,
    },
    /// The whole definition: CodePipeline has no narrower call.
    UpdatePipeline {
        /// The declared definition.
        definition: PipelineDefinition,
    },
    /// A role deleted outside CloudFormation, created again under its name as declared: trust,
    /// description, path, boundary, inline and managed policies. It gets a new unique id, so
    /// the policies that named the old role are put again too (their own drift).
    CreateRole {
        /// The role's name.
        role: String,
        /// The declared trust policy's JSON text.
        trust: String,
        /// The declared description.
        description: Option<String>,
        /// The declared path (`/` when none).
        path: Option<String>,
        /// The declared permissions boundary's ARN.
        boundary: Option<String>,
        /// Inline policies: name to document.
        inline: BTreeMap<String, String>,
        /// The declared managed policies' ARNs.
        managed: Vec<String>,
    },
    /// A function deleted outside CloudFormation, created again under its name with the
    /// declared configuration and plinth's package of the template's inline code.
    CreateFunction {
        /// The function's name.
        function: String,
        /// The declared description.
        description: Option<String>,
        /// The declared configuration.
        configuration: LiveFunction,
        /// The template's inline source.
        source: String,
    },
    /// A pipeline deleted outside CloudFormation, created again with the declared definition.
    CreatePipeline {
        /// The declared definition.
        definition: PipelineDefinition,
    },
    /// An alias deleted outside CloudFormation, created again for the declared key.
    CreateAlias {
        /// The alias's name (`alias/…`).
        alias: String,
        /// The key's id.
        key_id: String,
    },
    /// A log group deleted outside CloudFormation, created again with the declared retention.
    CreateLogGroup {
        /// The log group's name.
        log_group: String,
        /// The declared retention in days; `None`: events never expire.
        retention_days: Option<i64>,
    },
    /// A log group's retention as declared (`None`: events never expire).
    PutRetentionPolicy {
        /// The log group's name.
        log_group: String,
        /// The declared retention in days; `None`: events never expire.
        retention_days: Option<i64>,
    },
}

#[cfg(test)]
mod tests;
