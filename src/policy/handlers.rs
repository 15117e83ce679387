//! What CloudFormation's resource handlers do with plinth's credentials. plinth passes no
//! service role, so CloudFormation creates, updates, imports and deletes each resource of its
//! templates as the identity that called it: that identity needs the handlers' permissions,
//! which the resource types' provider schemas list. plinth grants them all but those tied to
//! properties its templates never set ([`EXCLUDED`], each with its reason).

use std::collections::BTreeSet;

use serde::Serialize;

use super::Role;
use crate::aws::calls::Scope;
use crate::layout::StackKind;
use crate::templates::schemas::handler_permissions;
use crate::topology::Topology;

/// The handlers a stack operation runs: create, update, delete, and read (which an import runs).
const HANDLERS: &[&str] = &["create", "update", "delete", "read"];

/// A handler permission plinth does not grant, and why its templates never need it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Excluded {
    /// The resource type whose handler lists it; `*` for every type.
    pub resource_type: &'static str,
    /// The action, or `service:*` for every action of a service.
    pub action: &'static str,
    /// Why plinth's templates never make the handler call it.
    pub reason: &'static str,
}

const fn exclude(
    resource_type: &'static str,
    action: &'static str,
    reason: &'static str,
) -> Excluded {
    Excluded {
        resource_type,
        action,
        reason,
    }
}

/// The handler permissions plinth leaves out.
pub(crate) const EXCLUDED: &[Excluded] = &[
    exclude(
        "*",
        "s3tables:*",
        "buckets have no MetadataTableConfiguration",
    ),
    exclude("*", "s3files:*", "functions mount no file system"),
    exclude("*", "ec2:*", "functions have no VpcConfig"),
    exclude("*", "elasticfilesystem:*", "functions mount no file system"),
    exclude(
        "*",
        "firehose:*",
        "log groups deliver to no Firehose stream",
    ),
    exclude(
        "*",
        "codestar-connections:*",
        "pipeline sources are S3 objects, not connections",
    ),
    exclude(
        "AWS::Logs::LogGroup",
        "s3:REST.PUT.OBJECT",
        "not an IAM action",
    ),
    exclude(
        "AWS::Lambda::Function",
        "lambda:AssociateRuntimeAlias",
        "not an IAM action (the Service Authorization Reference has none by that name)",
    ),
    exclude(
        "AWS::S3::Bucket",
        "iam:PassRole",
        "buckets have no ReplicationConfiguration",
    ),
    exclude(
        "AWS::S3::Bucket",
        "s3:PutAccelerateConfiguration",
        "buckets have no AccelerateConfiguration",
    ),
    exclude(
        "AWS::S3::Bucket",
        "s3:PutAnalyticsConfiguration",
        "buckets have no AnalyticsConfigurations",
    ),
    exclude(
        "AWS::S3::Bucket",
        "s3:DeleteBucketAnalyticsConfiguration",
        "buckets have no AnalyticsConfigurations",
    ),
    exclude(
        "AWS::S3::Bucket",
        "s3:PutBucketCORS",
        "buckets have no CorsConfiguration",
    ),
    exclude(
        "AWS::S3::Bucket",
        "s3:DeleteBucketCors",
        "buckets have no CorsConfiguration",
    ),
    exclude(
        "AWS::S3::Bucket",
        "s3:PutBucketLogging",
        "buckets have no LoggingConfiguration",
    ),
    exclude(
        "AWS::S3::Bucket",
        "s3:PutBucketNotification",
        "buckets have no NotificationConfiguration",
    ),
    exclude(
        "AWS::S3::Bucket",
        "s3:PutBucketObjectLockConfiguration",
        "buckets have no ObjectLockConfiguration",
    ),
    exclude(
        "AWS::S3::Bucket",
        "s3:PutObjectLockConfiguration",
        "buckets have no ObjectLockConfiguration",
    ),
    exclude(
        "AWS::S3::Bucket",
        "s3:PutBucketReplication",
        "buckets have no ReplicationConfiguration",
    ),
    exclude(
        "AWS::S3::Bucket",
        "s3:PutReplicationConfiguration",
        "buckets have no ReplicationConfiguration",
    ),
    exclude(
        "AWS::S3::Bucket",
        "s3:DeleteBucketReplication",
        "buckets have no ReplicationConfiguration",
    ),
    exclude(
        "AWS::S3::Bucket",
        "s3:PutBucketWebsite",
        "buckets have no WebsiteConfiguration",
    ),
    exclude(
        "AWS::S3::Bucket",
        "s3:DeleteBucketWebsite",
        "buckets have no WebsiteConfiguration",
    ),
    exclude(
        "AWS::S3::Bucket",
        "s3:PutIntelligentTieringConfiguration",
        "buckets have no IntelligentTieringConfigurations",
    ),
    exclude(
        "AWS::S3::Bucket",
        "s3:PutInventoryConfiguration",
        "buckets have no InventoryConfigurations",
    ),
    exclude(
        "AWS::S3::Bucket",
        "s3:PutMetricsConfiguration",
        "buckets have no MetricsConfigurations",
    ),
    exclude(
        "AWS::S3::Bucket",
        "s3:DeleteBucketMetricsConfiguration",
        "buckets have no MetricsConfigurations",
    ),
    exclude(
        "AWS::S3::Bucket",
        "s3:CreateBucketMetadataTableConfiguration",
        "buckets have no MetadataTableConfiguration or MetadataConfiguration",
    ),
    exclude(
        "AWS::S3::Bucket",
        "s3:DeleteBucketMetadataTableConfiguration",
        "buckets have no MetadataTableConfiguration or MetadataConfiguration",
    ),
    exclude(
        "AWS::S3::Bucket",
        "s3:UpdateBucketMetadataAnnotationTableConfiguration",
        "buckets have no MetadataTableConfiguration or MetadataConfiguration",
    ),
    exclude(
        "AWS::S3::Bucket",
        "s3:UpdateBucketMetadataInventoryTableConfiguration",
        "buckets have no MetadataTableConfiguration or MetadataConfiguration",
    ),
    exclude(
        "AWS::S3::Bucket",
        "s3:UpdateBucketMetadataJournalTableConfiguration",
        "buckets have no MetadataTableConfiguration or MetadataConfiguration",
    ),
    exclude(
        "AWS::S3::Bucket",
        "s3:PutBucketAbac",
        "buckets have no AbacStatus",
    ),
    exclude(
        "AWS::S3::Bucket",
        "s3:PutBucketAcl",
        "buckets have no AccessControl",
    ),
    exclude(
        "AWS::S3::Bucket",
        "s3:PutObjectAcl",
        "buckets have no AccessControl",
    ),
    exclude(
        "AWS::Lambda::Function",
        "kms:*",
        "functions have no KmsKeyArn",
    ),
    exclude(
        "AWS::Lambda::Function",
        "s3:GetObject",
        "the function's code is inline (ZipFile)",
    ),
    exclude(
        "AWS::Lambda::Function",
        "s3:GetObjectVersion",
        "the function's code is inline (ZipFile)",
    ),
    exclude(
        "AWS::Lambda::Function",
        "lambda:GetLayerVersion",
        "functions have no Layers",
    ),
    exclude(
        "AWS::Lambda::Function",
        "lambda:PassCapacityProvider",
        "functions have no CapacityProviderConfig",
    ),
    exclude(
        "AWS::Lambda::Function",
        "lambda:GetCodeSigningConfig",
        "functions have no CodeSigningConfigArn",
    ),
    exclude(
        "AWS::Logs::LogGroup",
        "logs:CreateLogDelivery",
        "log groups have no delivery",
    ),
    exclude(
        "AWS::Logs::LogGroup",
        "logs:PutResourcePolicy",
        "log groups have no ResourcePolicyDocument",
    ),
    exclude(
        "AWS::Logs::LogGroup",
        "logs:DeleteResourcePolicy",
        "log groups have no ResourcePolicyDocument",
    ),
    exclude(
        "AWS::Logs::LogGroup",
        "logs:DescribeResourcePolicies",
        "log groups have no ResourcePolicyDocument",
    ),
    exclude(
        "AWS::Logs::LogGroup",
        "logs:DescribeIndexPolicies",
        "log groups have no FieldIndexPolicies",
    ),
];

/// Handler permissions that IAM knows by another name (S3 authorizes `DeleteBucketEncryption` as
/// `s3:PutEncryptionConfiguration`, `DeleteBucketLifecycle` as `s3:PutLifecycleConfiguration`).
pub(crate) const RENAMED: &[(&str, &str)] = &[
    ("s3:DeleteBucketEncryption", "s3:PutEncryptionConfiguration"),
    ("s3:DeleteBucketLifecycle", "s3:PutLifecycleConfiguration"),
];

/// The excluded permissions, for the JSON output.
pub(super) fn excluded() -> &'static [Excluded] {
    EXCLUDED
}

fn is_excluded(resource_type: &str, action: &str) -> bool {
    EXCLUDED.iter().any(|e| {
        (e.resource_type == "*" || e.resource_type == resource_type)
            && match e.action.strip_suffix('*') {
                Some(prefix) => action.starts_with(prefix),
                None => e.action == action,
            }
    })
}

/// The resource types the stacks of an identity's role hold, read from the rendered templates.
/// The StackSets' templates are deployed by CloudFormation's own StackSet roles, not plinth's.
pub(super) fn resource_types(topology: &Topology, role: Role) -> BTreeSet<String> {
    let graph = crate::ops::fresh_graph(topology);
    let mut types = BTreeSet::new();
    let mut deploy_seen = false;
    for node in crate::templates::render_graph(topology, &graph) {
        let kind = node.stack.key.kind();
        let mine = match role {
            Role::Build => matches!(
                kind,
                StackKind::Primary | StackKind::Regional | StackKind::Pipeline
            ),
            Role::Target => kind == StackKind::Deploy,
            Role::Organization => false,
        };
        deploy_seen |= kind == StackKind::Deploy || kind == StackKind::StackSet;
        if mine {
            types.extend(template_types(&node.template.body()));
        }
    }
    if role == Role::Target && !deploy_seen {
        // Targets only by organizational unit, resolved when plinth plans: a deploy stack is
        // the same in every account.
        let spec = crate::layout::StackSpec {
            key: crate::layout::StackKey::Deploy {
                account: topology.build.account.clone(),
            },
            name: String::new(),
            account: topology.build.account.clone(),
            region: topology.build.region.clone(),
        };
        types.extend(template_types(
            &crate::templates::render(topology, &spec, &[]).body(),
        ));
    }
    types
}

fn template_types(body: &serde_json::Value) -> Vec<String> {
    body["Resources"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(_, r)| r["Type"].as_str().map(str::to_owned))
        .collect()
}

/// Every resource type plinth ships a schema for.
pub(super) fn shipped_types() -> BTreeSet<String> {
    crate::templates::schemas::types()
}

/// Every handler permission the resource types need, but the excluded.
pub(super) fn actions(types: &BTreeSet<String>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for resource_type in types {
        for handler in HANDLERS {
            let permissions = handler_permissions(resource_type, handler)
                .unwrap_or_else(|| panic!("no schema shipped for {resource_type}"));
            out.extend(
                permissions
                    .into_iter()
                    .filter(|a| !is_excluded(resource_type, a))
                    .map(|a| {
                        RENAMED
                            .iter()
                            .find(|(from, _)| *from == a)
                            .map_or(a, |(_, to)| (*to).to_owned())
                    }),
            );
        }
    }
    out
}

/// The scope of a handler permission: what the foundation's statement for it names.
pub(super) fn scope(action: &str) -> Option<Scope> {
    let (service, name) = action.split_once(':')?;
    Some(match service {
        "s3" if name == "ListAllMyBuckets" => Scope::AnyBucket,
        "s3" if name.contains("Object") && !name.contains("ObjectLock") => Scope::Objects,
        "s3" => Scope::Buckets,
        "kms" if ["CreateKey", "ListKeys", "ListAliases"].contains(&name) => Scope::AnyKey,
        "kms" if name.ends_with("Alias") => Scope::Aliases,
        "kms" => Scope::Keys,
        "iam" if name == "PassRole" => return None,
        "iam" => Scope::Roles,
        "lambda" => Scope::Functions,
        "logs" if name == "DescribeLogGroups" => Scope::AnyLogGroup,
        "logs" => Scope::LogGroups,
        "codepipeline" => Scope::Pipelines,
        _ => return None,
    })
}
