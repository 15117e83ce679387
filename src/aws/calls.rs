//! Every AWS API call plinth makes, with the IAM actions each needs: the one list of what
//! plinth's own credentials must be allowed. The SDK layer names each call where it maps the
//! call's error (`error("CreateStack", e)`); a test reads the `aws` module's sources and checks
//! that every call made is listed here and every call listed is made, so that a new call cannot
//! reach AWS without its permission being known. Each call also says which command first needs
//! it, what it acts on and which of plinth's identities make it: `plinth policy` (the `policy`
//! module) builds each identity's policy from this table.
//!
//! The IAM action is not always the API's name: S3 authorizes `HeadBucket` as `s3:ListBucket`,
//! `ListObjectVersions` as `s3:ListBucketVersions`, `PutBucketEncryption` as
//! `s3:PutEncryptionConfiguration`; CloudWatch Logs' prefix is `logs`.

/// One API call, the IAM actions it needs, on what, by whom and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Call {
    /// The API's name for the call, as the SDK layer names it (`CreateStack`).
    pub(crate) operation: &'static str,
    /// The IAM actions that authorize it.
    pub(crate) actions: &'static [&'static str],
    /// Which command first needs it: plan's reads, or apply's and destroy's changes.
    pub(crate) phase: Phase,
    /// The resources it acts on.
    pub(crate) scope: Scope,
    /// Which of plinth's identities make it ([`BUILD`], [`TARGET`], [`ORGANIZATION`]).
    pub(crate) who: u8,
}

/// Which command first needs a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Phase {
    /// `plan` reads it (and so do `apply` and `destroy`).
    Plan,
    /// Only `apply` and `destroy` make it.
    Apply,
}

/// What a call acts on, which the policy scopes to the foundation's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Scope {
    /// The foundation's stacks.
    Stacks,
    /// The foundation's stacks and plinth's change sets of them.
    ChangeSets,
    /// No stack in particular: listing stacks, finding a stack by a resource, export imports.
    AnyStack,
    /// The foundation's StackSets.
    StackSets,
    /// The foundation's StackSets and the accounts and resource types their instances reach.
    StackSetInstances,
    /// No StackSet in particular: listing them.
    AnyStackSet,
    /// The foundation's buckets.
    Buckets,
    /// No bucket in particular: listing them.
    AnyBucket,
    /// Every object of the foundation's buckets (emptied before they are deleted).
    Objects,
    /// The objects plinth itself keeps in the build bucket (`plinth/…`).
    OwnObjects,
    /// The account's KMS keys (a key's id is random: no name scopes it).
    Keys,
    /// The foundation's key aliases and the keys they name.
    Aliases,
    /// No key in particular: creating one, listing aliases.
    AnyKey,
    /// The foundation's IAM roles.
    Roles,
    /// The foundation's Lambda functions and their versions.
    Functions,
    /// The foundation's log groups.
    LogGroups,
    /// No log group in particular: listing them.
    AnyLogGroup,
    /// The foundation's pipelines.
    Pipelines,
    /// The organization's root, units and accounts.
    Organization,
    /// Nothing: the call needs no permission.
    Nothing,
}

/// The build account's identity.
pub(crate) const BUILD: u8 = 1;
/// A target account's identity.
pub(crate) const TARGET: u8 = 2;
/// The organization account's identity.
pub(crate) const ORGANIZATION: u8 = 4;
const BUILD_TARGET: u8 = BUILD | TARGET;
const ORG: u8 = ORGANIZATION;
const ALL: u8 = BUILD | TARGET | ORGANIZATION;

const fn made(
    phase: Phase,
    operation: &'static str,
    actions: &'static [&'static str],
    scope: Scope,
    who: u8,
) -> Call {
    Call {
        operation,
        actions,
        phase,
        scope,
        who,
    }
}

/// A call `plan` makes.
const fn plan(
    operation: &'static str,
    actions: &'static [&'static str],
    scope: Scope,
    who: u8,
) -> Call {
    made(Phase::Plan, operation, actions, scope, who)
}

/// A call only `apply` and `destroy` make.
const fn apply(
    operation: &'static str,
    actions: &'static [&'static str],
    scope: Scope,
    who: u8,
) -> Call {
    made(Phase::Apply, operation, actions, scope, who)
}

/// Every call, by service.
pub(crate) const CALLS: &[Call] = &[
    plan(
        "DescribeStacks",
        &["cloudformation:DescribeStacks"],
        Scope::AnyStack,
        BUILD_TARGET,
    ),
    plan(
        "GetTemplate",
        &["cloudformation:GetTemplate"],
        Scope::Stacks,
        BUILD_TARGET,
    ),
    apply(
        "CreateStack",
        &["cloudformation:CreateStack"],
        Scope::Stacks,
        BUILD_TARGET,
    ),
    apply(
        "UpdateStack",
        &["cloudformation:UpdateStack"],
        Scope::Stacks,
        BUILD_TARGET,
    ),
    apply(
        "DeleteStack",
        &["cloudformation:DeleteStack"],
        Scope::Stacks,
        BUILD_TARGET,
    ),
    apply(
        "ContinueUpdateRollback",
        &["cloudformation:ContinueUpdateRollback"],
        Scope::Stacks,
        BUILD_TARGET,
    ),
    plan(
        "DescribeStackEvents",
        &["cloudformation:DescribeStackEvents"],
        Scope::Stacks,
        BUILD_TARGET,
    ),
    plan(
        "ListStackResources",
        &["cloudformation:ListStackResources"],
        Scope::Stacks,
        BUILD_TARGET,
    ),
    plan(
        "DescribeStackResources",
        &["cloudformation:DescribeStackResources"],
        Scope::AnyStack,
        BUILD_TARGET,
    ),
    plan(
        "ListImports",
        &["cloudformation:ListImports"],
        Scope::AnyStack,
        BUILD,
    ),
    apply(
        "CreateChangeSet",
        &["cloudformation:CreateChangeSet"],
        Scope::ChangeSets,
        BUILD_TARGET,
    ),
    apply(
        "DescribeChangeSet",
        &["cloudformation:DescribeChangeSet"],
        Scope::ChangeSets,
        BUILD_TARGET,
    ),
    apply(
        "ExecuteChangeSet",
        &["cloudformation:ExecuteChangeSet"],
        Scope::ChangeSets,
        BUILD_TARGET,
    ),
    apply(
        "CreateStackSet",
        &["cloudformation:CreateStackSet"],
        Scope::StackSets,
        ORG,
    ),
    apply(
        "UpdateStackSet",
        &["cloudformation:UpdateStackSet"],
        Scope::StackSets,
        ORG,
    ),
    apply(
        "DeleteStackSet",
        &["cloudformation:DeleteStackSet"],
        Scope::StackSets,
        ORG,
    ),
    plan(
        "DescribeStackSet",
        &["cloudformation:DescribeStackSet"],
        Scope::StackSets,
        ORG,
    ),
    plan(
        "ListStackSets",
        &["cloudformation:ListStackSets"],
        Scope::AnyStackSet,
        ORG,
    ),
    apply(
        "CreateStackInstances",
        &["cloudformation:CreateStackInstances"],
        Scope::StackSetInstances,
        ORG,
    ),
    apply(
        "DeleteStackInstances",
        &["cloudformation:DeleteStackInstances"],
        Scope::StackSetInstances,
        ORG,
    ),
    plan(
        "ListStackInstances",
        &["cloudformation:ListStackInstances"],
        Scope::StackSets,
        ORG,
    ),
    plan(
        "DescribeStackSetOperation",
        &["cloudformation:DescribeStackSetOperation"],
        Scope::StackSets,
        ORG,
    ),
    plan(
        "ListStackSetOperations",
        &["cloudformation:ListStackSetOperations"],
        Scope::StackSets,
        ORG,
    ),
    plan(
        "ListStackSetOperationResults",
        &["cloudformation:ListStackSetOperationResults"],
        Scope::StackSets,
        ORG,
    ),
    plan(
        "ListBuckets",
        &["s3:ListAllMyBuckets"],
        Scope::AnyBucket,
        BUILD,
    ),
    plan("HeadBucket", &["s3:ListBucket"], Scope::Buckets, BUILD),
    plan(
        "GetBucketLocation",
        &["s3:GetBucketLocation"],
        Scope::Buckets,
        BUILD,
    ),
    apply(
        "ListObjectVersions",
        &["s3:ListBucketVersions"],
        Scope::Buckets,
        BUILD,
    ),
    apply(
        "DeleteObjects",
        &["s3:DeleteObject", "s3:DeleteObjectVersion"],
        Scope::Objects,
        BUILD,
    ),
    apply("DeleteBucket", &["s3:DeleteBucket"], Scope::Buckets, BUILD),
    apply("PutObject", &["s3:PutObject"], Scope::OwnObjects, BUILD),
    plan("GetObject", &["s3:GetObject"], Scope::OwnObjects, BUILD),
    plan(
        "GetBucketPolicy",
        &["s3:GetBucketPolicy"],
        Scope::Buckets,
        BUILD,
    ),
    plan(
        "GetBucketEncryption",
        &["s3:GetEncryptionConfiguration"],
        Scope::Buckets,
        BUILD,
    ),
    plan(
        "GetBucketVersioning",
        &["s3:GetBucketVersioning"],
        Scope::Buckets,
        BUILD,
    ),
    plan(
        "GetBucketLifecycleConfiguration",
        &["s3:GetLifecycleConfiguration"],
        Scope::Buckets,
        BUILD,
    ),
    plan(
        "GetBucketOwnershipControls",
        &["s3:GetBucketOwnershipControls"],
        Scope::Buckets,
        BUILD,
    ),
    plan(
        "GetPublicAccessBlock",
        &["s3:GetBucketPublicAccessBlock"],
        Scope::Buckets,
        BUILD,
    ),
    apply(
        "PutBucketPolicy",
        &["s3:PutBucketPolicy"],
        Scope::Buckets,
        BUILD,
    ),
    apply(
        "PutBucketVersioning",
        &["s3:PutBucketVersioning"],
        Scope::Buckets,
        BUILD,
    ),
    apply(
        "PutBucketEncryption",
        &["s3:PutEncryptionConfiguration"],
        Scope::Buckets,
        BUILD,
    ),
    apply(
        "PutBucketLifecycleConfiguration",
        &["s3:PutLifecycleConfiguration"],
        Scope::Buckets,
        BUILD,
    ),
    apply(
        "PutBucketOwnershipControls",
        &["s3:PutBucketOwnershipControls"],
        Scope::Buckets,
        BUILD,
    ),
    apply(
        "PutPublicAccessBlock",
        &["s3:PutBucketPublicAccessBlock"],
        Scope::Buckets,
        BUILD,
    ),
    plan("DescribeKey", &["kms:DescribeKey"], Scope::Keys, BUILD),
    plan("ListAliases", &["kms:ListAliases"], Scope::AnyKey, BUILD),
    plan("GetKeyPolicy", &["kms:GetKeyPolicy"], Scope::Keys, BUILD),
    plan(
        "GetKeyRotationStatus",
        &["kms:GetKeyRotationStatus"],
        Scope::Keys,
        BUILD,
    ),
    apply("PutKeyPolicy", &["kms:PutKeyPolicy"], Scope::Keys, BUILD),
    apply(
        "EnableKeyRotation",
        &["kms:EnableKeyRotation"],
        Scope::Keys,
        BUILD,
    ),
    apply(
        "CancelKeyDeletion",
        &["kms:CancelKeyDeletion"],
        Scope::Keys,
        BUILD,
    ),
    apply("EnableKey", &["kms:EnableKey"], Scope::Keys, BUILD),
    apply("CreateAlias", &["kms:CreateAlias"], Scope::Aliases, BUILD),
    apply("UpdateAlias", &["kms:UpdateAlias"], Scope::Aliases, BUILD),
    plan("GetRole", &["iam:GetRole"], Scope::Roles, BUILD_TARGET),
    apply(
        "CreateRole",
        &["iam:CreateRole"],
        Scope::Roles,
        BUILD_TARGET,
    ),
    plan(
        "GetRolePolicy",
        &["iam:GetRolePolicy"],
        Scope::Roles,
        BUILD_TARGET,
    ),
    plan(
        "ListRolePolicies",
        &["iam:ListRolePolicies"],
        Scope::Roles,
        BUILD_TARGET,
    ),
    plan(
        "ListAttachedRolePolicies",
        &["iam:ListAttachedRolePolicies"],
        Scope::Roles,
        BUILD_TARGET,
    ),
    apply(
        "PutRolePolicy",
        &["iam:PutRolePolicy"],
        Scope::Roles,
        BUILD_TARGET,
    ),
    apply(
        "AttachRolePolicy",
        &["iam:AttachRolePolicy"],
        Scope::Roles,
        BUILD_TARGET,
    ),
    apply(
        "DeleteRolePolicy",
        &["iam:DeleteRolePolicy"],
        Scope::Roles,
        BUILD_TARGET,
    ),
    apply(
        "DetachRolePolicy",
        &["iam:DetachRolePolicy"],
        Scope::Roles,
        BUILD_TARGET,
    ),
    apply(
        "UpdateAssumeRolePolicy",
        &["iam:UpdateAssumeRolePolicy"],
        Scope::Roles,
        BUILD_TARGET,
    ),
    apply(
        "PutRolePermissionsBoundary",
        &["iam:PutRolePermissionsBoundary"],
        Scope::Roles,
        BUILD_TARGET,
    ),
    apply(
        "DeleteRolePermissionsBoundary",
        &["iam:DeleteRolePermissionsBoundary"],
        Scope::Roles,
        BUILD_TARGET,
    ),
    plan(
        "GetFunctionConfiguration",
        &["lambda:GetFunctionConfiguration"],
        Scope::Functions,
        BUILD,
    ),
    apply(
        "CreateFunction",
        &["lambda:CreateFunction", "iam:PassRole"],
        Scope::Functions,
        BUILD,
    ),
    apply(
        "UpdateFunctionConfiguration",
        &["lambda:UpdateFunctionConfiguration", "iam:PassRole"],
        Scope::Functions,
        BUILD,
    ),
    apply(
        "UpdateFunctionCode",
        &["lambda:UpdateFunctionCode"],
        Scope::Functions,
        BUILD,
    ),
    plan(
        "DescribeLogGroups",
        &["logs:DescribeLogGroups"],
        Scope::AnyLogGroup,
        BUILD,
    ),
    apply(
        "CreateLogGroup",
        &["logs:CreateLogGroup"],
        Scope::LogGroups,
        BUILD,
    ),
    apply(
        "PutRetentionPolicy",
        &["logs:PutRetentionPolicy"],
        Scope::LogGroups,
        BUILD,
    ),
    apply(
        "DeleteRetentionPolicy",
        &["logs:DeleteRetentionPolicy"],
        Scope::LogGroups,
        BUILD,
    ),
    plan(
        "GetPipeline",
        &["codepipeline:GetPipeline"],
        Scope::Pipelines,
        BUILD,
    ),
    apply(
        "CreatePipeline",
        &["codepipeline:CreatePipeline", "iam:PassRole"],
        Scope::Pipelines,
        BUILD,
    ),
    apply(
        "UpdatePipeline",
        &["codepipeline:UpdatePipeline", "iam:PassRole"],
        Scope::Pipelines,
        BUILD,
    ),
    plan("GetCallerIdentity", &[], Scope::Nothing, ALL),
    plan(
        "ListChildren",
        &["organizations:ListChildren"],
        Scope::Organization,
        ORG,
    ),
    plan(
        "ListAccountsForParent",
        &["organizations:ListAccountsForParent"],
        Scope::Organization,
        ORG,
    ),
    plan(
        "DescribeOrganization",
        &["organizations:DescribeOrganization"],
        Scope::Organization,
        ORG,
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
            hint.contains("account 222222222222's credentials are not allowed cloudformation:DescribeStacks: the policy `plinth policy` prints for it allows it"),
            "{hint}"
        );
        // S3's refusal names no one: the call says which actions it needs.
        let terse = crate::aws::read_error::ReadError::Stacks {
            account: crate::topology::AccountId::parse("222222222222").unwrap(),
            region: crate::topology::Region::parse("us-east-1").unwrap(),
            source: crate::aws::AwsError::new("HeadBucket", Some("Forbidden"), "Forbidden"),
        };
        let hint = terse.hint().expect("a hint");
        assert!(
            hint.contains("not allowed s3:ListBucket (the call HeadBucket)"),
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
