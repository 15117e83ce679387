//! The pieces primary and regional stacks share: the artifact key, buckets, TLS-only policies.

use serde_json::{Value, json};

use super::policy::{
    PolicyDocument, Statement, bucket_arn, objects_arn, organization_grantee, root_arn,
};
use crate::topology::Topology;

/// Key administration, granted to the build account root (which IAM then narrows).
const KEY_ADMIN_ACTIONS: &[&str] = &[
    "kms:CancelKeyDeletion",
    "kms:CreateAlias",
    "kms:CreateGrant",
    "kms:DeleteAlias",
    "kms:DescribeKey",
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListAliases",
    "kms:ListGrants",
    "kms:ListKeyPolicies",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:RetireGrant",
    "kms:RevokeGrant",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
];

/// Using the key for artifacts.
pub(crate) const KEY_USE_ACTIONS: &[&str] = &[
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
];

/// Object actions the build account's pipelines and sync function use on artifact buckets.
pub(crate) const ARTIFACT_OBJECT_ACTIONS: &[&str] =
    &["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"];
/// What the target accounts' deploy roles may do with artifacts: read them. Deploy actions have
/// no output artifacts, and a target that could write could change what a later stage (say,
/// production, after its approval) deploys.
pub(crate) const ARTIFACT_READ_ACTIONS: &[&str] = &["s3:GetObject", "s3:GetObjectVersion"];
/// What the target accounts may do with the artifact keys: decrypt, through S3 only.
pub(crate) const KEY_READ_ACTIONS: &[&str] = &["kms:Decrypt", "kms:DescribeKey"];

/// The condition that limits key use to requests S3 makes in the key's own region.
pub(crate) fn via_s3() -> Value {
    json!({ "StringEquals": { "kms:ViaService": { "Fn::Sub": "s3.${AWS::Region}.${AWS::URLSuffix}" } } })
}
pub(crate) const ARTIFACT_BUCKET_ACTIONS: &[&str] = &[
    "s3:GetBucketLocation",
    "s3:GetBucketVersioning",
    "s3:ListBucket",
];

fn root(account: &str) -> Value {
    json!({ "AWS": root_arn(account) })
}

/// The artifact key: rotation on, seven days' pending window; the build account administers it,
/// every target account may decrypt with it through S3 (account roots, since key policies reject
/// principals that do not exist; the deploy roles' own policies narrow use in the target
/// accounts). No target may encrypt: artifacts are written by the build account only.
pub(crate) fn key(topology: &Topology, region: &str) -> Value {
    let build = topology.build.account.as_str();
    let mut use_actions: Vec<&str> = KEY_USE_ACTIONS.to_vec();
    use_actions.retain(|a| *a != "kms:DescribeKey");
    let mut admin: Vec<&str> = KEY_ADMIN_ACTIONS
        .iter()
        .chain(use_actions.iter())
        .copied()
        .collect();
    admin.sort_unstable();
    admin.dedup();
    let mut statements = vec![
        Statement::allow("BuildAccountAdministers", &admin, vec![json!("*")])
            .principal(root(build)),
    ];
    if let Some(organization) = &topology.organization_id {
        let (principal, condition) = organization_grantee(topology, organization);
        let mut condition = condition.unwrap_or_else(|| json!({}));
        condition["StringEquals"]["kms:ViaService"] =
            via_s3()["StringEquals"]["kms:ViaService"].clone();
        statements.push(
            Statement::allow(
                "OrganizationDeployRolesDecrypt",
                KEY_READ_ACTIONS,
                vec![json!("*")],
            )
            .principal(principal)
            .condition(condition),
        );
    } else {
        let targets: Vec<Value> = topology
            .target_accounts()
            .iter()
            .map(|a| root_arn(a.as_str()))
            .collect();
        if !targets.is_empty() {
            statements.push(
                Statement::allow("TargetAccountsDecrypt", KEY_READ_ACTIONS, vec![json!("*")])
                    .principal(json!({ "AWS": targets }))
                    .condition(via_s3()),
            );
        }
    }
    json!({
        "Type": "AWS::KMS::Key",
        "DeletionPolicy": "Delete",
        "UpdateReplacePolicy": "Delete",
        "Properties": {
            "Description": format!("{} pipeline artifacts ({region})", topology.name),
            "EnableKeyRotation": true,
            "PendingWindowInDays": 7,
            "KeyPolicy": PolicyDocument::new(statements).to_value(),
        }
    })
}

pub(crate) fn alias(topology: &Topology) -> Value {
    json!({
        "Type": "AWS::KMS::Alias",
        "Properties": { "AliasName": topology.key_alias(), "TargetKeyId": { "Ref": "ArtifactKey" } }
    })
}

/// A bucket encrypted with the stack's artifact key, versioned, private, owner-enforced.
/// Noncurrent versions expire after `noncurrent_days`; uploads left incomplete are aborted after
/// seven days.
pub(crate) fn bucket(name: &str, noncurrent_days: u32) -> Value {
    let properties = json!({
        "BucketName": name,
        "BucketEncryption": { "ServerSideEncryptionConfiguration": [{
            "BucketKeyEnabled": true,
            "ServerSideEncryptionByDefault": {
                "SSEAlgorithm": "aws:kms",
                "KMSMasterKeyID": { "Fn::GetAtt": ["ArtifactKey", "Arn"] }
            }
        }]},
        "VersioningConfiguration": { "Status": "Enabled" },
        "PublicAccessBlockConfiguration": {
            "BlockPublicAcls": true,
            "BlockPublicPolicy": true,
            "IgnorePublicAcls": true,
            "RestrictPublicBuckets": true
        },
        "OwnershipControls": { "Rules": [{ "ObjectOwnership": "BucketOwnerEnforced" }] },
        "LifecycleConfiguration": { "Rules": [{
            "Id": "ExpireNoncurrentVersions",
            "Status": "Enabled",
            "NoncurrentVersionExpiration": { "NoncurrentDays": noncurrent_days },
            "AbortIncompleteMultipartUpload": { "DaysAfterInitiation": 7 }
        }]}
    });
    json!({
        "Type": "AWS::S3::Bucket",
        "DeletionPolicy": "Delete",
        "UpdateReplacePolicy": "Retain",
        "Properties": properties,
        "Metadata": { "checkov": { "skip": [
            { "id": "CKV_AWS_18", "comment": "Access logging needs a separate log bucket per region; pipeline artifacts are written only by CodePipeline and plinth's roles, and CloudTrail records their API calls." }
        ]}}
    })
}

/// A bucket policy: TLS 1.2 or later only, uploads encrypted with the stack's artifact key only,
/// plus the given statements. The denies name `s3:*` and hold for every principal: the rule
/// against wildcards is about what is allowed.
pub(crate) fn bucket_policy(logical_bucket: &str, mut grants: Vec<Statement>) -> Value {
    let bucket = json!({ "Ref": logical_bucket });
    let everything = vec![bucket_arn(bucket.clone()), objects_arn(bucket.clone())];
    let mut statements = vec![
        Statement::deny("DenyInsecureTransport", &["s3:*"], everything.clone())
            .principal(json!("*"))
            .condition(json!({ "Bool": { "aws:SecureTransport": "false" } })),
        Statement::deny("DenyOutdatedTls", &["s3:*"], everything)
            .principal(json!("*"))
            .condition(json!({ "NumericLessThan": { "s3:TlsVersion": "1.2" } })),
        // Two statements: the conditions of one statement must all hold for it to deny.
        Statement::deny(
            "DenyUploadsNotEncryptedWithKms",
            &["s3:PutObject"],
            vec![objects_arn(bucket.clone())],
        )
        .principal(json!("*"))
        .condition(json!({ "StringNotEquals": { "s3:x-amz-server-side-encryption": "aws:kms" } })),
        Statement::deny(
            "DenyUploadsWithAnotherKey",
            &["s3:PutObject"],
            vec![objects_arn(bucket)],
        )
        .principal(json!("*"))
        .condition(json!({ "StringNotEquals": {
            "s3:x-amz-server-side-encryption-aws-kms-key-id": { "Fn::GetAtt": ["ArtifactKey", "Arn"] }
        } })),
    ];
    statements.append(&mut grants);
    json!({
        "Type": "AWS::S3::BucketPolicy",
        "Properties": { "Bucket": { "Ref": logical_bucket }, "PolicyDocument": PolicyDocument::new(statements).to_value() }
    })
}
