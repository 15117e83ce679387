//! Drift: what the resources of a stack are, read from their own services, against what the
//! stack's template declares. CloudFormation does not notice a bucket policy deleted or an inline
//! policy added behind its back; this module does, and says how to put each property back.
//!
//! Pure: the live configuration comes in as data ([`LiveStack`]), read by `aws::snapshot`.
//! Declared values are the template's properties with their intrinsic functions resolved against
//! the stack's physical resource ids and parameters. A value that cannot be resolved is not
//! compared, so an unknown never shows as drift.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::templates::{canonical_json, code, sorted_keys};
use crate::topology::{AccountId, Region};

mod pipeline;
pub use pipeline::{
    ArtifactStore, DEFAULT_EXECUTION_MODE, PipelineAction, PipelineDefinition, Stage,
};

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

/// Where a stack lives and what its template's references resolve to.
pub struct Context<'a> {
    pub account: &'a AccountId,
    pub region: &'a Region,
    pub parameters: &'a BTreeMap<String, String>,
    /// Logical id to (type, physical id), from the stack's resources.
    pub physical: BTreeMap<&'a str, (&'a str, &'a str)>,
}

impl<'a> Context<'a> {
    pub fn new(
        account: &'a AccountId,
        region: &'a Region,
        parameters: &'a BTreeMap<String, String>,
        live: &'a LiveStack,
    ) -> Self {
        let physical = live
            .resources
            .iter()
            .map(|r| {
                (
                    r.logical_id.as_str(),
                    (r.resource_type.as_str(), r.physical_id.as_str()),
                )
            })
            .collect();
        Self {
            account,
            region,
            parameters,
            physical,
        }
    }

    fn reference(&self, name: &str) -> Option<String> {
        pseudo_parameter(name, self.account, self.region).or_else(|| {
            self.parameters
                .get(name)
                .cloned()
                .or_else(|| self.physical.get(name).map(|(_, id)| (*id).to_owned()))
        })
    }

    fn attribute(&self, logical: &str, attribute: &str) -> Option<String> {
        let (kind, id) = self.physical.get(logical)?;
        let (p, region, account) = (partition(self.region.as_str()), self.region, self.account);
        match (*kind, attribute) {
            ("AWS::KMS::Key", "Arn") => Some(format!("arn:{p}:kms:{region}:{account}:key/{id}")),
            ("AWS::KMS::Key", "KeyId") => Some((*id).to_owned()),
            ("AWS::IAM::Role", "Arn") => Some(format!("arn:{p}:iam::{account}:role/{id}")),
            ("AWS::S3::Bucket", "Arn") => Some(format!("arn:{p}:s3:::{id}")),
            ("AWS::Logs::LogGroup", "Arn") => {
                Some(format!("arn:{p}:logs:{region}:{account}:log-group:{id}:*"))
            }
            ("AWS::Lambda::Function", "Arn") => {
                Some(format!("arn:{p}:lambda:{region}:{account}:function:{id}"))
            }
            _ => None,
        }
    }

    /// The value with every intrinsic function resolved; `None` when one cannot be.
    pub fn resolve(&self, value: &Value) -> Option<Value> {
        match value {
            Value::Array(items) => items
                .iter()
                .map(|v| self.resolve(v))
                .collect::<Option<Vec<_>>>()
                .map(Value::Array),
            Value::Object(map) if map.len() == 1 => {
                let (name, argument) = map.iter().next()?;
                match name.as_str() {
                    "Ref" => self.reference(argument.as_str()?).map(Value::String),
                    "Fn::GetAtt" => {
                        let parts = argument.as_array()?;
                        self.attribute(parts.first()?.as_str()?, parts.get(1)?.as_str()?)
                            .map(Value::String)
                    }
                    "Fn::Sub" => match argument {
                        Value::String(text) => self.substitute(text, &BTreeMap::new()),
                        Value::Array(parts) => {
                            let variables = parts.get(1)?.as_object()?;
                            let mut resolved = BTreeMap::new();
                            for (name, value) in variables {
                                resolved.insert(name.as_str(), scalar(&self.resolve(value)?));
                            }
                            self.substitute(parts.first()?.as_str()?, &resolved)
                        }
                        _ => None,
                    }
                    .map(Value::String),
                    "Fn::Join" => {
                        let parts = argument.as_array()?;
                        let separator = parts.first()?.as_str()?;
                        let items = self.resolve(parts.get(1)?)?;
                        let texts: Option<Vec<String>> = items
                            .as_array()?
                            .iter()
                            .map(|v| v.as_str().map(str::to_owned))
                            .collect();
                        Some(Value::String(texts?.join(separator)))
                    }
                    other if other.starts_with("Fn::") || other == "Condition" => None,
                    _ => self.resolve_object(map),
                }
            }
            Value::Object(map) => self.resolve_object(map),
            other => Some(other.clone()),
        }
    }

    fn resolve_object(&self, map: &serde_json::Map<String, Value>) -> Option<Value> {
        let mut out = serde_json::Map::new();
        for (k, v) in map {
            out.insert(k.clone(), self.resolve(v)?);
        }
        Some(Value::Object(out))
    }

    fn substitute(&self, text: &str, variables: &BTreeMap<&str, String>) -> Option<String> {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let end = rest[start..].find('}')? + start;
            let name = &rest[start + 2..end];
            let value = match (variables.get(name), name.split_once('.')) {
                (Some(value), _) => value.clone(),
                (None, Some((logical, attribute))) => self.attribute(logical, attribute)?,
                (None, None) => self.reference(name)?,
            };
            out.push_str(&value);
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        Some(out)
    }
}

/// The value of a pseudo parameter (`AWS::Partition`, `AWS::AccountId`, `AWS::Region`,
/// `AWS::URLSuffix`) for a stack in `account` and `region`; `None` for any other name.
pub fn pseudo_parameter(name: &str, account: &AccountId, region: &Region) -> Option<String> {
    match name {
        "AWS::Partition" => Some(partition(region.as_str()).to_owned()),
        "AWS::AccountId" => Some(account.to_string()),
        "AWS::Region" => Some(region.to_string()),
        "AWS::URLSuffix" => Some(
            if region.as_str().starts_with("cn-") {
                "amazonaws.com.cn"
            } else {
                "amazonaws.com"
            }
            .to_owned(),
        ),
        _ => None,
    }
}

/// The partition of a region.
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// Every property the template declares that the live resources do not have.
pub fn detect(template: &Value, live: &LiveStack, context: &Context<'_>) -> Vec<Drift> {
    let Some(resources) = template["Resources"].as_object() else {
        return Vec::new();
    };
    let by_logical: BTreeMap<&str, &LiveResource> = live
        .resources
        .iter()
        .map(|r| (r.logical_id.as_str(), r))
        .collect();
    let buckets: BTreeMap<&str, &LiveBucket> = live
        .resources
        .iter()
        .filter_map(|r| match &r.config {
            LiveConfig::Bucket(b) => Some((r.physical_id.as_str(), b)),
            _ => None,
        })
        .collect();
    let mut drifts = Vec::new();
    for (logical, resource) in resources {
        let properties = &resource["Properties"];
        let kind = resource["Type"].as_str().unwrap_or_default();
        if kind == "AWS::S3::BucketPolicy" {
            let Some(Value::String(bucket)) = context.resolve(&properties["Bucket"]) else {
                continue;
            };
            if let Some(live_bucket) = buckets.get(bucket.as_str()) {
                let mut found = Found::new(logical, kind, &bucket);
                found.policy(
                    "PolicyDocument",
                    live_bucket.policy.as_deref(),
                    context.resolve(&properties["PolicyDocument"]),
                    |document| Repair::PutBucketPolicy {
                        bucket: bucket.clone(),
                        document,
                    },
                );
                drifts.extend(found.drifts);
            }
            continue;
        }
        let Some(live) = by_logical.get(logical.as_str()) else {
            continue;
        };
        let mut found = Found::new(logical, kind, &live.physical_id);
        match &live.config {
            LiveConfig::Bucket(bucket) => {
                found.bucket(&live.physical_id, bucket, properties, context);
            }
            LiveConfig::Key(key) => found.key(&live.physical_id, key, properties, context),
            LiveConfig::Alias { target_key_id } => {
                if let Some(Value::String(declared)) = context.resolve(&properties["TargetKeyId"])
                    && target_key_id.as_deref().map(key_id) != Some(key_id(&declared))
                {
                    found.push(
                        "TargetKeyId",
                        target_key_id.clone().unwrap_or_else(|| "absent".into()),
                        declared.clone(),
                        Repair::UpdateAlias {
                            alias: live.physical_id.clone(),
                            key_id: key_id(&declared).to_owned(),
                        },
                    );
                }
            }
            LiveConfig::Role(role) => found.role(&live.physical_id, role, properties, context),
            LiveConfig::Function {
                configuration,
                code_sha256,
            } => {
                found.function(&live.physical_id, configuration, properties, context);
                let published = published_code(resources, logical, &by_logical);
                found.code(
                    &live.physical_id,
                    code_sha256.as_deref(),
                    published,
                    properties,
                );
            }
            LiveConfig::Pipeline(pipeline) => found.pipeline(pipeline, properties, context),
            LiveConfig::LogGroup(group) => {
                let declared = properties["RetentionInDays"].as_i64();
                if group.retention_days != declared {
                    let days = |d: Option<i64>| {
                        d.map_or_else(|| "never expire".to_owned(), |d| format!("{d} days"))
                    };
                    found.push(
                        "RetentionInDays",
                        days(group.retention_days),
                        days(declared),
                        Repair::PutRetentionPolicy {
                            log_group: live.physical_id.clone(),
                            retention_days: declared,
                        },
                    );
                }
            }
            LiveConfig::Gone => found.gone(&live.physical_id, properties, context),
            LiveConfig::Version { .. } | LiveConfig::NotRead => {}
        }
        drifts.extend(found.drifts);
    }
    drifts
}

/// The code hash of the version the template publishes of a function, as Lambda reports it.
fn published_code<'a>(
    resources: &serde_json::Map<String, Value>,
    function: &str,
    live: &BTreeMap<&str, &'a LiveResource>,
) -> Option<&'a str> {
    resources.iter().find_map(|(logical, resource)| {
        if resource["Type"] != "AWS::Lambda::Version"
            || resource["Properties"]["FunctionName"] != json!({ "Ref": function })
        {
            return None;
        }
        match &live.get(logical.as_str())?.config {
            LiveConfig::Version { code_sha256 } => code_sha256.as_deref(),
            _ => None,
        }
    })
}

/// A function's configuration as its template declares it, with Lambda's defaults.
fn declared_function(properties: &Value, context: &Context<'_>) -> Option<LiveFunction> {
    let Some(Value::String(role)) = context.resolve(&properties["Role"]) else {
        return None;
    };
    Some(LiveFunction {
        runtime: properties["Runtime"].as_str().map(str::to_owned),
        handler: properties["Handler"].as_str().map(str::to_owned),
        timeout: properties["Timeout"].as_i64().or(Some(3)),
        memory: properties["MemorySize"].as_i64().or(Some(128)),
        role: Some(role),
    })
}

/// The call that creates a deleted role again as its template declares it.
fn created_role(name: &str, properties: &Value, context: &Context<'_>) -> Option<Repair> {
    let trust = context.resolve(&properties["AssumeRolePolicyDocument"])?;
    let mut inline = BTreeMap::new();
    for policy in properties["Policies"].as_array().into_iter().flatten() {
        let document = context.resolve(&policy["PolicyDocument"])?;
        inline.insert(
            policy["PolicyName"].as_str()?.to_owned(),
            sorted_keys(&document).to_string(),
        );
    }
    let managed = match &properties["ManagedPolicyArns"] {
        Value::Null => Vec::new(),
        declared => context
            .resolve(declared)?
            .as_array()?
            .iter()
            .map(|arn| arn.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()?,
    };
    let boundary = match &properties["PermissionsBoundary"] {
        Value::Null => None,
        declared => Some(context.resolve(declared)?.as_str()?.to_owned()),
    };
    Some(Repair::CreateRole {
        role: name.to_owned(),
        trust: sorted_keys(&trust).to_string(),
        description: properties["Description"].as_str().map(str::to_owned),
        path: properties["Path"].as_str().map(str::to_owned),
        boundary,
        inline,
        managed,
    })
}

/// The key id of a key ARN, or the id itself.
fn key_id(text: &str) -> &str {
    text.rsplit_once("key/").map_or(text, |(_, id)| id)
}

/// The drifts of one resource, as they are found.
struct Found<'a> {
    logical: &'a str,
    kind: &'a str,
    physical: &'a str,
    drifts: Vec<Drift>,
}

impl<'a> Found<'a> {
    fn new(logical: &'a str, kind: &'a str, physical: &'a str) -> Self {
        Self {
            logical,
            kind,
            physical,
            drifts: Vec::new(),
        }
    }

    fn push(&mut self, property: &str, live: String, declared: String, repair: Repair) {
        self.push_with(property, live, declared, Vec::new(), repair);
    }

    fn push_with(
        &mut self,
        property: &str,
        live: String,
        declared: String,
        details: Vec<String>,
        repair: Repair,
    ) {
        self.drifts.push(Drift {
            resource: self.logical.to_owned(),
            resource_type: self.kind.to_owned(),
            physical_id: self.physical.to_owned(),
            property: property.to_owned(),
            live,
            declared,
            details,
            repair,
        });
    }

    /// A policy document: compared as sets of normalised statements.
    fn policy(
        &mut self,
        property: &str,
        live: Option<&str>,
        declared: Option<Value>,
        repair: impl FnOnce(String) -> Repair,
    ) {
        let Some(declared) = declared else {
            return;
        };
        let live_value = live.and_then(parse_document);
        if live_value
            .as_ref()
            .is_some_and(|l| same_policy(l, &declared))
        {
            return;
        }
        let details = match &live_value {
            Some(l) => {
                let mut lines = broken_grants(l, &declared);
                lines.extend(policy_changes(l, &declared));
                lines
            }
            None => Vec::new(),
        };
        let live_text = match (live, &live_value) {
            (None, _) => "absent".to_owned(),
            (Some(_), None) => "unreadable".to_owned(),
            (Some(_), Some(l)) => statement_count(l),
        };
        self.push_with(
            property,
            live_text,
            statement_count(&declared),
            details,
            repair(declared.to_string()),
        );
    }

    fn bucket(
        &mut self,
        bucket: &str,
        live: &LiveBucket,
        properties: &Value,
        context: &Context<'_>,
    ) {
        let name = bucket.to_owned();
        if let Some(declared) = context
            .resolve(&properties["BucketEncryption"]["ServerSideEncryptionConfiguration"][0])
            .filter(|v| !v.is_null())
        {
            let default = &declared["ServerSideEncryptionByDefault"];
            let wanted = Encryption {
                algorithm: default["SSEAlgorithm"]
                    .as_str()
                    .unwrap_or("AES256")
                    .to_owned(),
                key_id: default["KMSMasterKeyID"].as_str().map(str::to_owned),
                bucket_key: declared["BucketKeyEnabled"].as_bool().unwrap_or(false),
            };
            let same = live.encryption.as_ref().is_some_and(|l| {
                l.algorithm == wanted.algorithm
                    && l.bucket_key == wanted.bucket_key
                    && l.key_id.as_deref().map(key_id) == wanted.key_id.as_deref().map(key_id)
            });
            if !same {
                self.push(
                    "BucketEncryption",
                    live.encryption
                        .as_ref()
                        .map_or_else(|| "absent".into(), describe_encryption),
                    describe_encryption(&wanted),
                    Repair::PutBucketEncryption {
                        bucket: name.clone(),
                        encryption: wanted,
                    },
                );
            }
        }
        if properties["VersioningConfiguration"]["Status"] == "Enabled"
            && live.versioning.as_deref() != Some("Enabled")
        {
            self.push(
                "VersioningConfiguration",
                live.versioning
                    .clone()
                    .unwrap_or_else(|| "never enabled".into()),
                "Enabled".into(),
                Repair::EnableBucketVersioning {
                    bucket: name.clone(),
                },
            );
        }
        let block = &properties["PublicAccessBlockConfiguration"];
        if block.is_object() {
            let wanted = PUBLIC_ACCESS_BLOCK.map(|k| block[k].as_bool().unwrap_or(false));
            if live.public_access_block != Some(wanted) {
                self.push(
                    "PublicAccessBlockConfiguration",
                    live.public_access_block
                        .map_or_else(|| "absent".into(), |b| describe_block(&b)),
                    describe_block(&wanted),
                    Repair::PutPublicAccessBlock {
                        bucket: name.clone(),
                        settings: wanted,
                    },
                );
            }
        }
        if let Some(wanted) =
            properties["OwnershipControls"]["Rules"][0]["ObjectOwnership"].as_str()
            && live.ownership.as_deref() != Some(wanted)
        {
            self.push(
                "OwnershipControls",
                live.ownership.clone().unwrap_or_else(|| "absent".into()),
                wanted.to_owned(),
                Repair::PutBucketOwnership {
                    bucket: name.clone(),
                    ownership: wanted.to_owned(),
                },
            );
        }
        if let Some(rules) = properties["LifecycleConfiguration"]["Rules"].as_array() {
            let mut wanted: Vec<LifecycleRule> = rules
                .iter()
                .map(|r| LifecycleRule {
                    id: r["Id"].as_str().unwrap_or_default().to_owned(),
                    enabled: r["Status"] == "Enabled",
                    noncurrent_days: r["NoncurrentVersionExpiration"]["NoncurrentDays"].as_i64(),
                    abort_incomplete_days:
                        r["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"].as_i64(),
                })
                .collect();
            wanted.sort();
            let mut present = live.lifecycle.clone();
            present.sort();
            if present != wanted {
                self.push(
                    "LifecycleConfiguration",
                    describe_rules(&present),
                    describe_rules(&wanted),
                    Repair::PutBucketLifecycle {
                        bucket: name,
                        rules: wanted,
                    },
                );
            }
        }
    }

    fn key(&mut self, id: &str, live: &LiveKey, properties: &Value, context: &Context<'_>) {
        let id = id.to_owned();
        self.policy(
            "KeyPolicy",
            live.policy.as_deref(),
            context.resolve(&properties["KeyPolicy"]),
            |document| Repair::PutKeyPolicy {
                key_id: id.clone(),
                document,
            },
        );
        if properties["EnableKeyRotation"] == true && !live.rotation {
            self.push(
                "EnableKeyRotation",
                "false".into(),
                "true".into(),
                Repair::EnableKeyRotation { key_id: id.clone() },
            );
        }
        let enabled = properties["Enabled"].as_bool().unwrap_or(true);
        if enabled && live.state != "Enabled" {
            self.push(
                "Enabled",
                live.state.clone(),
                "Enabled".into(),
                Repair::EnableKey {
                    key_id: id,
                    cancel_deletion: live.state == "PendingDeletion",
                },
            );
        }
    }

    /// A resource deleted outside CloudFormation: shown as deleted, with the call that creates
    /// it again under its name exactly as declared. Nothing is shown when a declared value
    /// cannot be resolved, since the resource could not be made as declared.
    fn gone(&mut self, name: &str, properties: &Value, context: &Context<'_>) {
        let repair = match self.kind {
            "AWS::IAM::Role" => created_role(name, properties, context),
            "AWS::Lambda::Function" => {
                declared_function(properties, context).and_then(|configuration| {
                    Some(Repair::CreateFunction {
                        function: name.to_owned(),
                        description: properties["Description"].as_str().map(str::to_owned),
                        configuration,
                        source: properties["Code"]["ZipFile"].as_str()?.to_owned(),
                    })
                })
            }
            "AWS::CodePipeline::Pipeline" => PipelineDefinition::declared(properties, context)
                .map(|definition| Repair::CreatePipeline { definition }),
            "AWS::Logs::LogGroup" => Some(Repair::CreateLogGroup {
                log_group: name.to_owned(),
                retention_days: properties["RetentionInDays"].as_i64(),
            }),
            "AWS::KMS::Alias" => match context.resolve(&properties["TargetKeyId"]) {
                Some(Value::String(key)) => Some(Repair::CreateAlias {
                    alias: name.to_owned(),
                    key_id: key_id(&key).to_owned(),
                }),
                _ => None,
            },
            _ => None,
        };
        if let Some(repair) = repair {
            self.push(
                "deleted",
                "absent: deleted outside CloudFormation".into(),
                "exists".into(),
                repair,
            );
        }
    }

    fn function(
        &mut self,
        name: &str,
        live: &LiveFunction,
        properties: &Value,
        context: &Context<'_>,
    ) {
        let Some(declared) = declared_function(properties, context) else {
            return;
        };
        let text = |v: Option<String>| v.unwrap_or_else(|| "unset".into());
        let fields = [
            ("Runtime", live.runtime.clone(), declared.runtime.clone()),
            ("Handler", live.handler.clone(), declared.handler.clone()),
            (
                "Timeout",
                live.timeout.map(|t| t.to_string()),
                declared.timeout.map(|t| t.to_string()),
            ),
            (
                "MemorySize",
                live.memory.map(|m| m.to_string()),
                declared.memory.map(|m| m.to_string()),
            ),
            ("Role", live.role.clone(), declared.role.clone()),
        ];
        for (property, have, want) in fields {
            if have != want {
                self.push(
                    property,
                    text(have),
                    text(want),
                    Repair::UpdateFunctionConfiguration {
                        function: name.to_owned(),
                        configuration: declared.clone(),
                    },
                );
            }
        }
    }

    /// Inline code: Lambda's hash of the deployed package must be the hash of the version
    /// CloudFormation published from the template's code, or of plinth's own package of that
    /// code (after a repair). Without a published version to compare with, nothing is known.
    fn code(
        &mut self,
        name: &str,
        live: Option<&str>,
        published: Option<&str>,
        properties: &Value,
    ) {
        let (Some(live), Some(published), Some(source)) =
            (live, published, properties["Code"]["ZipFile"].as_str())
        else {
            return;
        };
        let repaired = code::code_sha256(&code::inline_code_zip(source));
        if live != published && live != repaired {
            self.push(
                "Code",
                format!("package sha256 {live}"),
                format!("the template's inline code (published as version sha256 {published})"),
                Repair::UpdateFunctionCode {
                    function: name.to_owned(),
                    source: source.to_owned(),
                },
            );
        }
    }

    fn role(&mut self, name: &str, live: &LiveRole, properties: &Value, context: &Context<'_>) {
        let role = name.to_owned();
        self.policy(
            "AssumeRolePolicyDocument",
            live.trust.as_deref(),
            context.resolve(&properties["AssumeRolePolicyDocument"]),
            |document| Repair::UpdateTrust {
                role: role.clone(),
                document,
            },
        );
        // Inline policies: every declared one as declared, and no other.
        let declared: Vec<(String, Option<Value>)> = properties["Policies"]
            .as_array()
            .map(|policies| {
                policies
                    .iter()
                    .filter_map(|p| {
                        Some((
                            p["PolicyName"].as_str()?.to_owned(),
                            context.resolve(&p["PolicyDocument"]),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        for (policy, document) in &declared {
            let property = format!("Policies/{policy}");
            self.policy(
                &property,
                live.inline.get(policy).map(String::as_str),
                document.clone(),
                |document| Repair::PutRolePolicy {
                    role: role.clone(),
                    name: policy.clone(),
                    document,
                },
            );
        }
        for (policy, document) in &live.inline {
            if declared.iter().all(|(name, _)| name != policy) {
                let details = parse_document(document)
                    .map(|d| policy_changes(&d, &json!({ "Statement": [] })))
                    .unwrap_or_default();
                self.push_with(
                    &format!("Policies/{policy}"),
                    "present, not in the template".into(),
                    "absent".into(),
                    details,
                    Repair::DeleteRolePolicy {
                        role: role.clone(),
                        name: policy.clone(),
                    },
                );
            }
        }
        // Managed policies: exactly the declared ones.
        let arns = match &properties["ManagedPolicyArns"] {
            Value::Null => Some(json!([])),
            declared => context.resolve(declared),
        };
        if let Some(Value::Array(arns)) = arns {
            let wanted: BTreeSet<String> = arns
                .iter()
                .filter_map(|a| a.as_str().map(str::to_owned))
                .collect();
            for arn in wanted.difference(&live.managed) {
                self.push(
                    "ManagedPolicyArns",
                    "not attached".into(),
                    arn.clone(),
                    Repair::AttachRolePolicy {
                        role: role.clone(),
                        arn: arn.clone(),
                    },
                );
            }
            for arn in live.managed.difference(&wanted) {
                self.push(
                    "ManagedPolicyArns",
                    arn.clone(),
                    "not attached".into(),
                    Repair::DetachRolePolicy {
                        role: role.clone(),
                        arn: arn.clone(),
                    },
                );
            }
        }
        let boundary = properties["PermissionsBoundary"].as_str();
        if boundary != live.boundary.as_deref() {
            self.push(
                "PermissionsBoundary",
                live.boundary.clone().unwrap_or_else(|| "none".into()),
                boundary.unwrap_or("none").to_owned(),
                match boundary {
                    Some(arn) => Repair::PutRoleBoundary {
                        role,
                        arn: arn.to_owned(),
                    },
                    None => Repair::DeleteRoleBoundary { role },
                },
            );
        }
    }
}

fn describe_encryption(e: &Encryption) -> String {
    let key = e
        .key_id
        .as_deref()
        .map(|k| format!(" with key {k}"))
        .unwrap_or_default();
    let bucket_key = if e.bucket_key { ", bucket key on" } else { "" };
    format!("{}{key}{bucket_key}", e.algorithm)
}

fn describe_block(b: &[bool; 4]) -> String {
    PUBLIC_ACCESS_BLOCK
        .iter()
        .zip(b)
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn describe_rules(rules: &[LifecycleRule]) -> String {
    if rules.is_empty() {
        return "no rules".into();
    }
    rules
        .iter()
        .map(|r| {
            format!(
                "{} ({}{}{})",
                r.id,
                if r.enabled { "enabled" } else { "disabled" },
                r.noncurrent_days
                    .map(|d| format!(", noncurrent versions expire after {d} days"))
                    .unwrap_or_default(),
                r.abort_incomplete_days
                    .map(|d| format!(", incomplete uploads aborted after {d} days"))
                    .unwrap_or_default(),
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn statement_count(document: &Value) -> String {
    let n = statements(document).len();
    format!("{n} statement{}", if n == 1 { "" } else { "s" })
}

/// A policy document's JSON text, as the services return it: IAM URL-encodes its documents.
pub fn parse_document(text: &str) -> Option<Value> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') {
        serde_json::from_str(trimmed).ok()
    } else {
        let decoded = percent_decode(trimmed)?;
        serde_json::from_str(&decoded).ok()
    }
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = text.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// Whether two policy documents say the same, whatever the order of statements, actions,
/// resources, principals and condition values, single values or lists, and the forms AWS
/// normalises (an account id for its root ARN, `"*"` for `{"AWS": "*"}`).
pub fn same_policy(a: &Value, b: &Value) -> bool {
    normalise(a) == normalise(b)
}

fn statements(document: &Value) -> Vec<Value> {
    match &document["Statement"] {
        Value::Array(items) => items.clone(),
        Value::Null => Vec::new(),
        single => vec![single.clone()],
    }
}

fn normalise(document: &Value) -> (String, BTreeSet<String>) {
    let version = document["Version"]
        .as_str()
        .unwrap_or("2008-10-17")
        .to_owned();
    let set = statements(document)
        .iter()
        .map(|s| canonical_json(&normalise_statement(s)))
        .collect();
    (version, set)
}

fn strings(value: &Value) -> Value {
    let mut items: Vec<String> = match value {
        Value::Array(items) => items.iter().map(scalar).collect(),
        Value::Null => Vec::new(),
        other => vec![scalar(other)],
    };
    items.sort();
    items.dedup();
    json!(items)
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        other => other.to_string(),
    }
}

fn normalise_principal(principal: &Value) -> Value {
    match principal {
        Value::String(s) if s == "*" => json!({ "AWS": ["*"] }),
        Value::Object(map) => {
            let mut out = serde_json::Map::new();
            for (kind, ids) in map {
                let mut ids = strings(ids);
                if kind == "AWS"
                    && let Value::Array(items) = &mut ids
                {
                    for item in items.iter_mut() {
                        if let Some(id) = item.as_str()
                            && id.len() == 12
                            && id.bytes().all(|b| b.is_ascii_digit())
                        {
                            *item = json!(format!("arn:aws:iam::{id}:root"));
                        }
                    }
                    items.sort_by_key(Value::to_string);
                }
                out.insert(kind.clone(), ids);
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

fn normalise_statement(statement: &Value) -> Value {
    let mut out = serde_json::Map::new();
    let Some(map) = statement.as_object() else {
        return statement.clone();
    };
    for (key, value) in map {
        let normalised = match key.as_str() {
            "Action" | "NotAction" | "Resource" | "NotResource" => strings(value),
            "Principal" | "NotPrincipal" => normalise_principal(value),
            "Condition" => {
                let mut operators = serde_json::Map::new();
                for (operator, pairs) in value.as_object().into_iter().flatten() {
                    let mut keys = serde_json::Map::new();
                    for (k, v) in pairs.as_object().into_iter().flatten() {
                        let mut v = strings(v);
                        if operator.starts_with("Bool")
                            && let Value::Array(items) = &mut v
                        {
                            for item in items.iter_mut() {
                                *item = json!(item.as_str().unwrap_or_default().to_lowercase());
                            }
                        }
                        keys.insert(k.clone(), v);
                    }
                    operators.insert(operator.clone(), Value::Object(keys));
                }
                Value::Object(operators)
            }
            "Sid" if value.as_str() == Some("") => continue,
            _ => value.clone(),
        };
        out.insert(key.clone(), normalised);
    }
    Value::Object(out)
}

/// The statements only `live` has (`- …`) and only `declared` has (`+ …`), one line each.
/// Whether a principal is an IAM unique id (`AROA…` for a role, `AIDA…` for a user): what
/// AWS shows in a policy in place of a principal that was deleted.
fn is_unique_id(principal: &str) -> bool {
    (principal.starts_with("AROA") || principal.starts_with("AIDA"))
        && principal.len() >= 16
        && principal
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// The AWS principals a policy names.
fn aws_principals(document: &Value) -> BTreeSet<String> {
    statements(document)
        .iter()
        .filter_map(|s| normalise_principal(&s["Principal"]).get("AWS").cloned())
        .flat_map(|ids| match ids {
            Value::Array(items) => items,
            other => vec![other],
        })
        .filter_map(|id| id.as_str().map(str::to_owned))
        .collect()
}

/// Why a live policy's grants are broken: each principal it names by unique id is a deleted
/// role or user (AWS keeps the id where the ARN was), and the declared principals it no
/// longer names are not granted, even to a role created again under the same name.
fn broken_grants(live: &Value, declared: &Value) -> Vec<String> {
    let named = aws_principals(live);
    let ids: Vec<&String> = named.iter().filter(|p| is_unique_id(p)).collect();
    if ids.is_empty() {
        return Vec::new();
    }
    let lost: Vec<String> = aws_principals(declared)
        .into_iter()
        .filter(|p| !named.contains(p))
        .collect();
    let ids = ids
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let mut line = format!(
        "! broken grant: the policy names {ids}, the unique id AWS keeps in place of a deleted principal"
    );
    if !lost.is_empty() {
        line.push_str(&format!(
            "; not granted until the policy is put again: {}",
            lost.join(", ")
        ));
    }
    vec![line]
}

pub fn policy_changes(live: &Value, declared: &Value) -> Vec<String> {
    let set = |document: &Value| -> BTreeMap<String, Value> {
        statements(document)
            .iter()
            .map(|s| {
                let n = normalise_statement(s);
                (canonical_json(&n), n)
            })
            .collect()
    };
    let (live_set, declared_set) = (set(live), set(declared));
    let removed: Vec<&Value> = live_set
        .iter()
        .filter(|(text, _)| !declared_set.contains_key(*text))
        .map(|(_, s)| s)
        .collect();
    let added: Vec<&Value> = declared_set
        .iter()
        .filter(|(text, _)| !live_set.contains_key(*text))
        .map(|(_, s)| s)
        .collect();
    let mut lines = Vec::new();
    let mut paired = BTreeSet::new();
    // A statement kept under its Sid that only gains or loses principals, actions or resources
    // is shown as what it gains and loses.
    for old in &removed {
        let Some(sid) = old["Sid"].as_str() else {
            continue;
        };
        let same_sid: Vec<&&Value> = added.iter().filter(|n| n["Sid"] == sid).collect();
        if let [new] = same_sid.as_slice()
            && let Some(line) = statement_change(sid, old, new)
        {
            lines.push(line);
            paired.insert(sid.to_owned());
        }
    }
    for statement in removed {
        if !statement["Sid"]
            .as_str()
            .is_some_and(|s| paired.contains(s))
        {
            lines.push(format!("- {}", describe_statement(statement)));
        }
    }
    for statement in added {
        if !statement["Sid"]
            .as_str()
            .is_some_and(|s| paired.contains(s))
        {
            lines.push(format!("+ {}", describe_statement(statement)));
        }
    }
    lines
}

/// `~ Sid: + principal a, - action b`, when two statements differ only in their principals,
/// actions and resources.
fn statement_change(sid: &str, old: &Value, new: &Value) -> Option<String> {
    for key in [
        "Effect",
        "Condition",
        "NotAction",
        "NotResource",
        "NotPrincipal",
    ] {
        if old.get(key) != new.get(key) {
            return None;
        }
    }
    let values = |statement: &Value, key: &str| -> BTreeSet<String> {
        let value = &statement[key];
        match key {
            "Principal" => value
                .as_object()
                .into_iter()
                .flatten()
                .flat_map(|(_, v)| v.as_array().cloned().unwrap_or_default())
                .map(|v| scalar(&v))
                .collect(),
            _ => value.as_array().into_iter().flatten().map(scalar).collect(),
        }
    };
    let mut parts = Vec::new();
    for (key, word) in [
        ("Principal", "principal"),
        ("Action", "action"),
        ("Resource", "resource"),
    ] {
        let (a, b) = (values(old, key), values(new, key));
        let gained: Vec<&String> = b.difference(&a).collect();
        let lost: Vec<&String> = a.difference(&b).collect();
        if !gained.is_empty() {
            parts.push(format!(
                "+ {word}{} {}",
                if gained.len() == 1 { "" } else { "s" },
                gained
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if !lost.is_empty() {
            parts.push(format!(
                "- {word}{} {}",
                if lost.len() == 1 { "" } else { "s" },
                lost.iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    (!parts.is_empty()).then(|| format!("~ {sid}: {}", parts.join("; ")))
}

/// A statement in a line: `Sid: Allow a, b on r to p when c`.
pub fn describe_statement(statement: &Value) -> String {
    let list = |v: &Value| {
        v.as_array().map_or_else(
            || scalar(v),
            |items| items.iter().map(scalar).collect::<Vec<_>>().join(", "),
        )
    };
    let mut text = String::new();
    if let Some(sid) = statement["Sid"].as_str() {
        text.push_str(sid);
        text.push_str(": ");
    }
    text.push_str(statement["Effect"].as_str().unwrap_or("?"));
    text.push(' ');
    text.push_str(&list(&statement["Action"]));
    if !statement["Resource"].is_null() {
        text.push_str(" on ");
        text.push_str(&list(&statement["Resource"]));
    }
    if let Some(principal) = statement["Principal"].as_object() {
        let who: Vec<String> = principal.values().map(list).collect();
        text.push_str(" to ");
        text.push_str(&who.join(", "));
    }
    if let Some(condition) = statement["Condition"].as_object() {
        let when: Vec<String> = condition
            .iter()
            .flat_map(|(op, pairs)| {
                pairs
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(move |(k, v)| format!("{op} {k} {}", list(v)))
            })
            .collect();
        text.push_str(" when ");
        text.push_str(&when.join(" and "));
    }
    text
}

#[cfg(test)]
mod tests;
