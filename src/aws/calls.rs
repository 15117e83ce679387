//! Every AWS API call plinth makes, with the IAM actions each needs: the one list of what
//! plinth's own credentials must be allowed. The SDK layer names each call where it maps the
//! call's error (`error("CreateStack", e)`); a test reads the `aws` module's sources and checks
//! that every call made is listed here and every call listed is made, so that a new call cannot
//! reach AWS without its permission being known.
//!
//! The IAM action is not always the API's name: S3 authorizes `HeadBucket` as `s3:ListBucket`,
//! `ListObjectVersions` as `s3:ListBucketVersions`, `PutBucketEncryption` as
//! `s3:PutEncryptionConfiguration`; CloudWatch Logs' prefix is `logs`.

/// One API call and the IAM actions it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Call {
    /// The API's name for the call, as the SDK layer names it (`CreateStack`).
    pub(crate) operation: &'static str,
    /// The IAM actions that authorize it.
    pub(crate) actions: &'static [&'static str],
}

const fn call(operation: &'static str, actions: &'static [&'static str]) -> Call {
    Call { operation, actions }
}

/// Every call, by service.
pub(crate) const CALLS: &[Call] = &[
    // CloudFormation: stacks, change sets (imports), exports, StackSets
    call("DescribeStacks", &["cloudformation:DescribeStacks"]),
    call("GetTemplate", &["cloudformation:GetTemplate"]),
    call("CreateStack", &["cloudformation:CreateStack"]),
    call("UpdateStack", &["cloudformation:UpdateStack"]),
    call("DeleteStack", &["cloudformation:DeleteStack"]),
    call(
        "ContinueUpdateRollback",
        &["cloudformation:ContinueUpdateRollback"],
    ),
    call(
        "DescribeStackEvents",
        &["cloudformation:DescribeStackEvents"],
    ),
    call("ListStackResources", &["cloudformation:ListStackResources"]),
    call(
        "DescribeStackResources",
        &["cloudformation:DescribeStackResources"],
    ),
    call("ListImports", &["cloudformation:ListImports"]),
    call("CreateChangeSet", &["cloudformation:CreateChangeSet"]),
    call("DescribeChangeSet", &["cloudformation:DescribeChangeSet"]),
    call("ExecuteChangeSet", &["cloudformation:ExecuteChangeSet"]),
    call("CreateStackSet", &["cloudformation:CreateStackSet"]),
    call("UpdateStackSet", &["cloudformation:UpdateStackSet"]),
    call("DeleteStackSet", &["cloudformation:DeleteStackSet"]),
    call("DescribeStackSet", &["cloudformation:DescribeStackSet"]),
    call("ListStackSets", &["cloudformation:ListStackSets"]),
    call(
        "CreateStackInstances",
        &["cloudformation:CreateStackInstances"],
    ),
    call(
        "DeleteStackInstances",
        &["cloudformation:DeleteStackInstances"],
    ),
    call("ListStackInstances", &["cloudformation:ListStackInstances"]),
    call(
        "DescribeStackSetOperation",
        &["cloudformation:DescribeStackSetOperation"],
    ),
    call(
        "ListStackSetOperations",
        &["cloudformation:ListStackSetOperations"],
    ),
    call(
        "ListStackSetOperationResults",
        &["cloudformation:ListStackSetOperationResults"],
    ),
    // S3
    call("ListBuckets", &["s3:ListAllMyBuckets"]),
    call("HeadBucket", &["s3:ListBucket"]),
    call("GetBucketLocation", &["s3:GetBucketLocation"]),
    call("ListObjectVersions", &["s3:ListBucketVersions"]),
    call(
        "DeleteObjects",
        &["s3:DeleteObject", "s3:DeleteObjectVersion"],
    ),
    call("DeleteBucket", &["s3:DeleteBucket"]),
    call("PutObject", &["s3:PutObject"]),
    call("GetObject", &["s3:GetObject"]),
    call("GetBucketPolicy", &["s3:GetBucketPolicy"]),
    call("GetBucketEncryption", &["s3:GetEncryptionConfiguration"]),
    call("GetBucketVersioning", &["s3:GetBucketVersioning"]),
    call(
        "GetBucketLifecycleConfiguration",
        &["s3:GetLifecycleConfiguration"],
    ),
    call(
        "GetBucketOwnershipControls",
        &["s3:GetBucketOwnershipControls"],
    ),
    call("GetPublicAccessBlock", &["s3:GetBucketPublicAccessBlock"]),
    call("PutBucketPolicy", &["s3:PutBucketPolicy"]),
    call("PutBucketVersioning", &["s3:PutBucketVersioning"]),
    call("PutBucketEncryption", &["s3:PutEncryptionConfiguration"]),
    call(
        "PutBucketLifecycleConfiguration",
        &["s3:PutLifecycleConfiguration"],
    ),
    call(
        "PutBucketOwnershipControls",
        &["s3:PutBucketOwnershipControls"],
    ),
    call("PutPublicAccessBlock", &["s3:PutBucketPublicAccessBlock"]),
    // KMS
    call("DescribeKey", &["kms:DescribeKey"]),
    call("ListAliases", &["kms:ListAliases"]),
    call("GetKeyPolicy", &["kms:GetKeyPolicy"]),
    call("GetKeyRotationStatus", &["kms:GetKeyRotationStatus"]),
    call("PutKeyPolicy", &["kms:PutKeyPolicy"]),
    call("EnableKeyRotation", &["kms:EnableKeyRotation"]),
    call("CancelKeyDeletion", &["kms:CancelKeyDeletion"]),
    call("EnableKey", &["kms:EnableKey"]),
    call("CreateAlias", &["kms:CreateAlias"]),
    call("UpdateAlias", &["kms:UpdateAlias"]),
    // IAM
    call("GetRole", &["iam:GetRole"]),
    call("CreateRole", &["iam:CreateRole"]),
    call("GetRolePolicy", &["iam:GetRolePolicy"]),
    call("ListRolePolicies", &["iam:ListRolePolicies"]),
    call(
        "ListAttachedRolePolicies",
        &["iam:ListAttachedRolePolicies"],
    ),
    call("PutRolePolicy", &["iam:PutRolePolicy"]),
    call("AttachRolePolicy", &["iam:AttachRolePolicy"]),
    call("DeleteRolePolicy", &["iam:DeleteRolePolicy"]),
    call("DetachRolePolicy", &["iam:DetachRolePolicy"]),
    call("UpdateAssumeRolePolicy", &["iam:UpdateAssumeRolePolicy"]),
    call(
        "PutRolePermissionsBoundary",
        &["iam:PutRolePermissionsBoundary"],
    ),
    call(
        "DeleteRolePermissionsBoundary",
        &["iam:DeleteRolePermissionsBoundary"],
    ),
    // Lambda
    call(
        "GetFunctionConfiguration",
        &["lambda:GetFunctionConfiguration"],
    ),
    call("CreateFunction", &["lambda:CreateFunction"]),
    call(
        "UpdateFunctionConfiguration",
        &["lambda:UpdateFunctionConfiguration"],
    ),
    call("UpdateFunctionCode", &["lambda:UpdateFunctionCode"]),
    // CloudWatch Logs
    call("DescribeLogGroups", &["logs:DescribeLogGroups"]),
    call("CreateLogGroup", &["logs:CreateLogGroup"]),
    call("PutRetentionPolicy", &["logs:PutRetentionPolicy"]),
    call("DeleteRetentionPolicy", &["logs:DeleteRetentionPolicy"]),
    // CodePipeline
    call("GetPipeline", &["codepipeline:GetPipeline"]),
    call("CreatePipeline", &["codepipeline:CreatePipeline"]),
    call("UpdatePipeline", &["codepipeline:UpdatePipeline"]),
    // STS: GetCallerIdentity needs no permission
    call("GetCallerIdentity", &[]),
    // Organizations
    call("ListChildren", &["organizations:ListChildren"]),
    call(
        "ListAccountsForParent",
        &["organizations:ListAccountsForParent"],
    ),
    call(
        "DescribeOrganization",
        &["organizations:DescribeOrganization"],
    ),
];

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::CALLS;

    /// The sources of the `aws` module that call the SDK, without their tests.
    const SOURCES: &[(&str, &str)] = &[
        ("sdk/mod.rs", include_str!("sdk/mod.rs")),
        (
            "sdk/cloudformation.rs",
            include_str!("sdk/cloudformation.rs"),
        ),
        ("stack_sets.rs", include_str!("stack_sets.rs")),
        ("live/iam.rs", include_str!("live/iam.rs")),
        ("live/kms.rs", include_str!("live/kms.rs")),
        ("live/lambda.rs", include_str!("live/lambda.rs")),
        ("live/logs.rs", include_str!("live/logs.rs")),
        ("live/pipeline.rs", include_str!("live/pipeline.rs")),
        ("live/s3.rs", include_str!("live/s3.rs")),
        ("live/mod.rs", include_str!("live/mod.rs")),
    ];

    /// The operations a source names where it maps a call's error: `error("Op", …)`,
    /// `build_error("Op", …)` and `absent("Op", …)` (a read whose "not found" is an answer).
    fn named(source: &str) -> BTreeSet<String> {
        let code = source
            .split("#[cfg(test)]\nmod tests")
            .next()
            .unwrap_or(source);
        let mut out = BTreeSet::new();
        for opening in ["error(", "absent("] {
            for (start, _) in code.match_indices(opening) {
                let rest = code[start + opening.len()..].trim_start();
                let Some(rest) = rest.strip_prefix('"') else {
                    continue;
                };
                let Some(end) = rest.find('"') else { continue };
                let operation = &rest[..end];
                let follows = rest[end + 1..].trim_start();
                if operation.starts_with(|c: char| c.is_ascii_uppercase())
                    && operation.chars().all(char::is_alphanumeric)
                    && follows.starts_with(',')
                {
                    out.insert(operation.to_owned());
                }
            }
        }
        out
    }

    #[test]
    fn every_call_the_sdk_layer_makes_is_listed_and_every_listed_call_is_made() {
        let made: BTreeSet<String> = SOURCES.iter().flat_map(|(_, s)| named(s)).collect();
        let listed: BTreeSet<String> = CALLS.iter().map(|c| c.operation.to_owned()).collect();
        let unlisted: Vec<_> = made.difference(&listed).collect();
        assert!(
            unlisted.is_empty(),
            "calls made but not listed in aws/calls.rs: {unlisted:?}"
        );
        let unmade: Vec<_> = listed.difference(&made).collect();
        assert!(
            unmade.is_empty(),
            "calls listed in aws/calls.rs that no source makes: {unmade:?}"
        );
    }

    #[test]
    fn a_read_refused_for_want_of_a_permission_hints_at_the_action_it_needs() {
        let error = crate::aws::read_error::ReadError::Stacks {
            account: crate::topology::AccountId::parse("222222222222").unwrap(),
            region: crate::topology::Region::parse("us-east-1").unwrap(),
            source: crate::aws::AwsError::new(
                "DescribeStacks",
                Some("AccessDenied"),
                "User: arn:aws:sts::222222222222:assumed-role/ops/x is not authorized to perform: cloudformation:DescribeStacks",
            ),
        };
        let hint = error.hint().expect("a hint");
        assert!(
            hint.contains("not allowed cloudformation:DescribeStacks (the call DescribeStacks)"),
            "{hint}"
        );
        let throttled = crate::aws::read_error::ReadError::Stacks {
            account: crate::topology::AccountId::parse("222222222222").unwrap(),
            region: crate::topology::Region::parse("us-east-1").unwrap(),
            source: crate::aws::AwsError::new("DescribeStacks", Some("Throttling"), "slow down"),
        };
        assert_eq!(throttled.hint(), None);
    }

    #[test]
    fn every_action_is_a_service_and_a_name_without_wildcards() {
        for call in CALLS {
            for action in call.actions {
                let (service, name) = action.split_once(':').expect("service:Action");
                assert!(
                    [
                        "cloudformation",
                        "s3",
                        "kms",
                        "iam",
                        "lambda",
                        "logs",
                        "codepipeline",
                        "organizations"
                    ]
                    .contains(&service),
                    "{action}"
                );
                assert!(
                    !name.contains('*') && name.starts_with(|c: char| c.is_ascii_uppercase()),
                    "{action}"
                );
            }
        }
        let operations: BTreeSet<_> = CALLS.iter().map(|c| c.operation).collect();
        assert_eq!(operations.len(), CALLS.len(), "each call is listed once");
    }
}
