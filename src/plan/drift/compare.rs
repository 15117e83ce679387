//! Per-resource comparison: each resource kind's live settings (buckets, keys and aliases,
//! roles, the sync function and its log group, pipelines) against what the template declares,
//! each difference with the call that puts it back.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::templates::{code, sorted_keys};

use super::policy::{broken_grants, statement_count};
use super::{
    Context, Drift, Encryption, LifecycleRule, LiveBucket, LiveConfig, LiveFunction, LiveKey,
    LiveResource, LiveRole, LiveStack, PUBLIC_ACCESS_BLOCK, PipelineDefinition, Repair,
    parse_document, policy_changes, same_policy,
};

/// Every property the template declares that the live resources do not have.
pub(crate) fn detect(template: &Value, live: &LiveStack, context: &Context<'_>) -> Vec<Drift> {
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
pub(super) fn key_id(text: &str) -> &str {
    text.rsplit_once("key/").map_or(text, |(_, id)| id)
}

/// The drifts of one resource, as they are found.
pub(super) struct Found<'a> {
    logical: &'a str,
    kind: &'a str,
    physical: &'a str,
    drifts: Vec<Drift>,
}

impl<'a> Found<'a> {
    pub(super) fn new(logical: &'a str, kind: &'a str, physical: &'a str) -> Self {
        Self {
            logical,
            kind,
            physical,
            drifts: Vec::new(),
        }
    }

    pub(super) fn push(&mut self, property: &str, live: String, declared: String, repair: Repair) {
        self.push_with(property, live, declared, Vec::new(), repair);
    }

    pub(super) fn push_with(
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
