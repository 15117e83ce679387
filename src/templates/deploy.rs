//! The deploy stack (every target account, build region): the role the pipeline assumes and the
//! role CloudFormation runs as. Their names are fixed so that their ARNs are known in advance.
//! With deploy roles by StackSet, one template serves every account of a target by
//! organizational unit: it names its own account as `${AWS::AccountId}`.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::policy::{PolicyDocument, Statement, bucket_arn, objects_arn, role_arn, root_arn};
use super::storage::{ARTIFACT_BUCKET_ACTIONS, ARTIFACT_READ_ACTIONS, KEY_READ_ACTIONS, via_s3};
use super::{Template, artifact_key, outputs};
use crate::layout::{StackKey, pipeline_reach};
use crate::topology::{AccountId, Topology};

/// The accounts a deploy template serves, and what it says of them.
struct Served<'t> {
    here: StackKey,
    accounts: Vec<AccountId>,
    /// The account in the ARNs of its own roles: an id, or `${AWS::AccountId}`.
    arn_account: String,
    description: String,
    boundary: Option<&'t str>,
    policies: Vec<String>,
}

/// The deploy stack of one target account.
pub(crate) fn render(topology: &Topology, account: &AccountId) -> Template {
    render_served(
        topology,
        &Served {
            here: StackKey::Deploy {
                account: account.clone(),
            },
            accounts: vec![account.clone()],
            arn_account: account.to_string(),
            description: format!(
                "plinth deploy stack: {} deploy roles of account {account}",
                topology.name
            ),
            boundary: topology.account_boundary(account),
            policies: topology.account_policies(account),
        },
    )
}

/// The template of the StackSet of a target by organizational unit: the deploy stack of every
/// account it serves, and of those that join the unit later.
pub(crate) fn render_stack_set(topology: &Topology, target: &str) -> Template {
    let unit = topology.units.iter().find(|u| u.name == target);
    let accounts: Vec<AccountId> = topology
        .targets
        .iter()
        .filter(|t| t.unit.as_deref() == Some(target))
        .map(|t| t.account.clone())
        .collect();
    render_served(
        topology,
        &Served {
            here: StackKey::StackSet {
                target: target.to_owned(),
            },
            accounts,
            arn_account: "${AWS::AccountId}".to_owned(),
            description: format!(
                "plinth deploy stack: {} deploy roles of the accounts of target {target}",
                topology.name
            ),
            boundary: unit.and_then(|u| u.permissions_boundary.as_deref()),
            policies: unit.map(|u| u.policies.clone()).unwrap_or_default(),
        },
    )
}

fn render_served(topology: &Topology, served: &Served<'_>) -> Template {
    let here = &served.here;
    let mut t = Template::new(served.description.clone());
    let regions = topology.regions();
    let keys: Vec<Value> = regions
        .iter()
        .map(|r| artifact_key(&mut t, topology, here, r))
        .collect();
    let buckets: Vec<String> = regions
        .iter()
        .map(|r| topology.artifact_bucket(r))
        .collect();
    let bucket_arns: Vec<Value> = buckets.iter().map(|b| bucket_arn(json!(b))).collect();
    let object_arns: Vec<Value> = buckets.iter().map(|b| objects_arn(json!(b))).collect();
    let build = topology.build.account.as_str();
    let cloudformation_role = role_arn(&served.arn_account, &topology.cloudformation_role_name());

    // The application stacks that pipelines deploy into these accounts.
    let app_stacks: BTreeSet<&str> = topology
        .pipelines
        .iter()
        .filter(|p| {
            p.targets
                .iter()
                .filter_map(|n| topology.target(n))
                .any(|t| served.accounts.contains(&t.account))
        })
        .map(|p| p.stack.as_str())
        .collect();

    let mut pipeline_statements = Vec::new();
    if !app_stacks.is_empty() {
        let stack_arns: Vec<Value> = app_stacks
            .iter()
            .map(|s| json!({ "Fn::Sub": format!("arn:${{AWS::Partition}}:cloudformation:*:${{AWS::AccountId}}:stack/{s}/*") }))
            .collect();
        pipeline_statements.push(Statement::allow(
            "ManageApplicationChangeSets",
            &[
                "cloudformation:CreateChangeSet",
                "cloudformation:DeleteChangeSet",
                "cloudformation:DescribeChangeSet",
                "cloudformation:DescribeStacks",
                "cloudformation:ExecuteChangeSet",
            ],
            stack_arns,
        ));
    }
    pipeline_statements.extend([
        Statement::allow(
            "PassOnlyTheCloudFormationRole",
            &["iam:PassRole"],
            vec![cloudformation_role.clone()],
        )
        .condition(
            json!({ "StringEquals": { "iam:PassedToService": "cloudformation.amazonaws.com" } }),
        ),
        Statement::allow(
            "ArtifactObjects",
            ARTIFACT_READ_ACTIONS,
            object_arns.clone(),
        ),
        Statement::allow("ArtifactBuckets", ARTIFACT_BUCKET_ACTIONS, bucket_arns),
        Statement::allow("ArtifactKeys", KEY_READ_ACTIONS, keys.clone()).condition(via_s3()),
    ]);
    t.resource(
        "PipelineRole",
        json!({
            "Type": "AWS::IAM::Role",
            "Properties": {
                "RoleName": topology.pipeline_role_name(),
                "Description": format!("Assumed by the {} pipelines of account {build} to deploy into this account", topology.name),
                "AssumeRolePolicyDocument": trust(topology, &served.accounts).to_value(),
                "Policies": [{ "PolicyName": "deploy", "PolicyDocument": PolicyDocument::new(pipeline_statements).to_value() }]
            }
        }),
    );

    let mut inline = vec![
        json!({ "PolicyName": "read-artifacts", "PolicyDocument": PolicyDocument::new(vec![
        Statement::allow("ReadArtifacts", ARTIFACT_READ_ACTIONS, object_arns),
        Statement::allow("DecryptArtifacts", KEY_READ_ACTIONS, keys).condition(via_s3()),
    ]).to_value() }),
    ];
    let boundary = served.boundary;
    if let Some(boundary) = boundary {
        inline.push(json!({ "PolicyName": "keep-the-boundary", "PolicyDocument": keep_the_boundary(boundary).to_value() }));
    }
    let mut cloudformation = json!({
        "RoleName": topology.cloudformation_role_name(),
        "Description": format!("Role CloudFormation runs as for the applications the {} pipelines deploy", topology.name),
        "AssumeRolePolicyDocument": PolicyDocument::new(vec![
            Statement::trust("CloudFormationAssumes", json!({ "Service": "cloudformation.amazonaws.com" }))
        ]).to_value(),
        "Policies": inline
    });
    if let Some(boundary) = boundary {
        cloudformation["PermissionsBoundary"] = json!(boundary);
    }
    let policies = &served.policies;
    if !policies.is_empty() {
        cloudformation["ManagedPolicyArns"] = json!(policies);
    }
    t.resource(
        "CloudFormationRole",
        json!({ "Type": "AWS::IAM::Role", "Properties": cloudformation }),
    );
    t.output(
        outputs::PIPELINE_ROLE_ARN,
        "ARN of the role the pipeline assumes",
        json!({ "Fn::GetAtt": ["PipelineRole", "Arn"] }),
    );
    t.output(
        outputs::CLOUDFORMATION_ROLE_ARN,
        "ARN of the role CloudFormation runs as",
        json!({ "Fn::GetAtt": ["CloudFormationRole", "Arn"] }),
    );
    t
}

/// Who may assume the deploy pipeline role of `account`: exactly the service roles of the
/// pipelines that deploy into it, named by full ARN (the roles may not exist yet, so the principal
/// is the build account and the condition names them). An account that no pipeline targets
/// trusts no one.
#[cfg(test)]
pub(super) fn pipeline_trust(topology: &Topology, account: &AccountId) -> PolicyDocument {
    trust(topology, std::slice::from_ref(account))
}

/// Who may assume the deploy pipeline role of any of `accounts`: the pipelines that deploy into
/// one of them.
fn trust(topology: &Topology, accounts: &[AccountId]) -> PolicyDocument {
    let build = topology.build.account.as_str();
    let roles: Vec<Value> = topology
        .pipelines
        .iter()
        .filter(|p| {
            pipeline_reach(topology, p)
                .accounts
                .iter()
                .any(|a| accounts.contains(a))
        })
        .map(|p| role_arn(build, &topology.pipeline_service_role_name(&p.name)))
        .collect();
    let statement = if roles.is_empty() {
        Statement::deny("NoPipelineDeploysHere", &["sts:AssumeRole"], Vec::new())
            .principal(json!({ "AWS": root_arn(build) }))
    } else {
        Statement::trust("PipelinesDeployingHere", json!({ "AWS": root_arn(build) }))
            .condition(json!({ "ArnEquals": { "aws:PrincipalArn": roles } }))
    };
    PolicyDocument::new(vec![statement])
}

/// With a permissions boundary, the CloudFormation role may create roles and users only with the
/// same boundary, and may not remove it from them or change the boundary policy itself: without
/// these denies, a role it creates could hold more than the boundary allows.
pub(super) fn keep_the_boundary(boundary: &str) -> PolicyDocument {
    let any_principal = vec![
        json!({ "Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/*" }),
        json!({ "Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:user/*" }),
    ];
    PolicyDocument::new(vec![
        Statement::deny(
            "CreateOnlyWithTheBoundary",
            &[
                "iam:CreateRole",
                "iam:CreateUser",
                "iam:PutRolePermissionsBoundary",
                "iam:PutUserPermissionsBoundary",
            ],
            any_principal.clone(),
        )
        .condition(json!({ "StringNotEquals": { "iam:PermissionsBoundary": boundary } })),
        Statement::deny(
            "KeepTheBoundary",
            &[
                "iam:DeleteRolePermissionsBoundary",
                "iam:DeleteUserPermissionsBoundary",
            ],
            any_principal,
        ),
        Statement::deny(
            "LeaveTheBoundaryPolicyAlone",
            &[
                "iam:CreatePolicyVersion",
                "iam:DeletePolicy",
                "iam:DeletePolicyVersion",
                "iam:SetDefaultPolicyVersion",
            ],
            vec![json!(boundary)],
        ),
    ])
}
