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
pub mod policy;
pub mod resolve;

pub use compare::detect;
use compare::{Found, key_id};
pub use pipeline::{
    ArtifactStore, DEFAULT_EXECUTION_MODE, PipelineAction, PipelineDefinition, Stage,
};
use policy::scalar;
pub use policy::{describe_statement, parse_document, policy_changes, same_policy};
pub use resolve::{Context, partition, pseudo_parameter};

/// The live configuration of the resources of one stack, as their services report it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LiveStack {
    pub resources: Vec<LiveResource>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LiveResource {
    pub logical_id: String,
    pub resource_type: String,
    pub physical_id: String,
    pub config: LiveConfig,
}

#[derive(Debug, Clone, PartialEq)]
pub enum LiveConfig {
    Bucket(LiveBucket),
    Key(LiveKey),
    Alias {
        target_key_id: Option<String>,
    },
    Role(LiveRole),
    Function {
        configuration: LiveFunction,
        /// Base64 SHA-256 of the deployment package, as Lambda reports it.
        code_sha256: Option<String>,
    },
    /// A published version of a function: the code CloudFormation deployed.
    Version {
        code_sha256: Option<String>,
    },
    Pipeline(PipelineDefinition),
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
    pub retention_days: Option<i64>,
}

/// A Lambda function's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct LiveFunction {
    pub runtime: Option<String>,
    pub handler: Option<String>,
    pub timeout: Option<i64>,
    pub memory: Option<i64>,
    pub role: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct LiveBucket {
    /// The bucket policy's JSON text; `None` when the bucket has none.
    pub policy: Option<String>,
    pub encryption: Option<Encryption>,
    /// `Enabled`, `Suspended`, or `None` when versioning was never set.
    pub versioning: Option<String>,
    /// The four public access block settings, in the order of [`PUBLIC_ACCESS_BLOCK`].
    pub public_access_block: Option<[bool; 4]>,
    pub ownership: Option<String>,
    pub lifecycle: Vec<LifecycleRule>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Encryption {
    pub algorithm: String,
    pub key_id: Option<String>,
    pub bucket_key: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LifecycleRule {
    pub id: String,
    pub enabled: bool,
    pub noncurrent_days: Option<i64>,
    pub abort_incomplete_days: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct LiveKey {
    pub policy: Option<String>,
    pub rotation: bool,
    /// `Enabled`, `Disabled`, `PendingDeletion`, …
    pub state: String,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct LiveRole {
    pub trust: Option<String>,
    /// Inline policies: name to JSON text.
    pub inline: BTreeMap<String, String>,
    pub managed: BTreeSet<String>,
    pub boundary: Option<String>,
}

/// The public access block settings, as CloudFormation names them.
pub const PUBLIC_ACCESS_BLOCK: [&str; 4] = [
    "BlockPublicAcls",
    "BlockPublicPolicy",
    "IgnorePublicAcls",
    "RestrictPublicBuckets",
];

/// One property of one resource that is not what the template declares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Drift {
    /// The template's logical id, e.g. `ArtifactBucketPolicy`.
    pub resource: String,
    pub resource_type: String,
    /// The physical name: bucket, key id, role name, alias.
    pub physical_id: String,
    pub property: String,
    /// What is there, in a line (`absent` when it is missing).
    pub live: String,
    /// What the template declares, in a line.
    pub declared: String,
    /// For a policy: the statements only the live document has (`-`) and only the declared one
    /// has (`+`), one per line.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
    /// The call that puts it back, exactly as declared.
    pub repair: Repair,
}

impl Drift {
    /// Whether two drifts are of the same property with the same declared value (policies by
    /// meaning, whatever their text).
    pub fn declares_the_same(&self, other: &Drift) -> bool {
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
pub enum Service {
    S3,
    Kms,
    Iam,
    Lambda,
    CodePipeline,
    Logs,
}

impl Repair {
    pub fn service(&self) -> Service {
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
    pub fn document(&self) -> Option<&str> {
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
    PutBucketPolicy {
        bucket: String,
        document: String,
    },
    PutBucketEncryption {
        bucket: String,
        encryption: Encryption,
    },
    EnableBucketVersioning {
        bucket: String,
    },
    PutPublicAccessBlock {
        bucket: String,
        settings: [bool; 4],
    },
    PutBucketOwnership {
        bucket: String,
        ownership: String,
    },
    PutBucketLifecycle {
        bucket: String,
        rules: Vec<LifecycleRule>,
    },
    PutKeyPolicy {
        key_id: String,
        document: String,
    },
    EnableKeyRotation {
        key_id: String,
    },
    EnableKey {
        key_id: String,
        /// A key pending deletion is first taken out of it.
        cancel_deletion: bool,
    },
    UpdateAlias {
        alias: String,
        key_id: String,
    },
    UpdateTrust {
        role: String,
        document: String,
    },
    PutRolePolicy {
        role: String,
        name: String,
        document: String,
    },
    DeleteRolePolicy {
        role: String,
        name: String,
    },
    AttachRolePolicy {
        role: String,
        arn: String,
    },
    DetachRolePolicy {
        role: String,
        arn: String,
    },
    PutRoleBoundary {
        role: String,
        arn: String,
    },
    DeleteRoleBoundary {
        role: String,
    },
    UpdateFunctionConfiguration {
        function: String,
        configuration: LiveFunction,
    },
    /// The inline source, zipped by plinth the same way every time.
    UpdateFunctionCode {
        function: String,
        source: String,
    },
    /// The whole definition: CodePipeline has no narrower call.
    UpdatePipeline {
        definition: PipelineDefinition,
    },
    /// A role deleted outside CloudFormation, created again under its name as declared: trust,
    /// description, path, boundary, inline and managed policies. It gets a new unique id, so
    /// the policies that named the old role are put again too (their own drift).
    CreateRole {
        role: String,
        trust: String,
        description: Option<String>,
        path: Option<String>,
        boundary: Option<String>,
        /// Inline policies: name to document.
        inline: BTreeMap<String, String>,
        managed: Vec<String>,
    },
    /// A function deleted outside CloudFormation, created again under its name with the
    /// declared configuration and plinth's package of the template's inline code.
    CreateFunction {
        function: String,
        description: Option<String>,
        configuration: LiveFunction,
        source: String,
    },
    /// A pipeline deleted outside CloudFormation, created again with the declared definition.
    CreatePipeline {
        definition: PipelineDefinition,
    },
    /// An alias deleted outside CloudFormation, created again for the declared key.
    CreateAlias {
        alias: String,
        key_id: String,
    },
    /// A log group deleted outside CloudFormation, created again with the declared retention.
    CreateLogGroup {
        log_group: String,
        retention_days: Option<i64>,
    },
    /// A log group's retention as declared (`None`: events never expire).
    PutRetentionPolicy {
        log_group: String,
        retention_days: Option<i64>,
    },
}

#[cfg(test)]
mod tests;
