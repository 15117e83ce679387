//! The primary stack (build account, build region) and the regional stacks (build account, every
//! other region): the artifact key and bucket of their region and its policy; the primary also
//! holds the build bucket and the artifact sync function.

use serde_json::{Value, json};

use super::policy::{PolicyDocument, Statement, objects_arn, organization_grantee, role_arn};
use super::storage::{self, ARTIFACT_BUCKET_ACTIONS, ARTIFACT_READ_ACTIONS, via_s3};
use super::{ARTIFACT_SYNC_SOURCE, Template, artifact_key, code, outputs};
use crate::graph::Fragment;
use crate::layout::{StackKey, StackSpec};
use crate::templates::policy::bucket_arn;
use crate::topology::Topology;

pub(crate) fn render(topology: &Topology, stack: &StackSpec, fragments: &[Fragment]) -> Template {
    let primary = stack.key == StackKey::Primary;
    let region = &stack.region;
    let mut t = Template::new(format!(
        "plinth {}: {} artifact key and bucket for {region}",
        if primary {
            "primary stack"
        } else {
            "regional stack"
        },
        topology.name,
    ));
    t.resource("ArtifactKey", storage::key(topology, region.as_str()));
    t.resource("ArtifactKeyAlias", storage::alias(topology));
    t.resource(
        "ArtifactBucket",
        storage::bucket(
            &topology.artifact_bucket(region),
            topology.build.artifact_noncurrent_version_expiration_days,
        ),
    );

    // One statement pair for every granted account: a bucket policy may hold 20 KB, and a
    // statement per account would not fit a foundation of fifty accounts. With an organization,
    // one pair grants the foundation's role names in any of its accounts, whatever their number.
    let grantee = if let Some(organization) = &topology.organization_id {
        Some(organization_grantee(topology, organization))
    } else {
        let principals: Vec<serde_json::Value> = fragments
            .iter()
            .filter_map(|f| match f {
                Fragment::Grants { account } => Some(account),
                _ => None,
            })
            .flat_map(|account| {
                [
                    topology.pipeline_role_name(),
                    topology.cloudformation_role_name(),
                ]
                .map(|role| role_arn(account.as_str(), &role))
            })
            .collect();
        (!principals.is_empty()).then(|| (json!({ "AWS": principals }), None))
    };
    let mut grants = Vec::new();
    if let Some((principal, condition)) = grantee {
        let bucket = json!({ "Ref": "ArtifactBucket" });
        let with_condition = |statement: Statement| match &condition {
            Some(condition) => statement.condition(condition.clone()),
            None => statement,
        };
        grants.push(with_condition(
            Statement::allow(
                "DeployRolesObjects",
                ARTIFACT_READ_ACTIONS,
                vec![objects_arn(bucket.clone())],
            )
            .principal(principal.clone()),
        ));
        grants.push(with_condition(
            Statement::allow(
                "DeployRolesBucket",
                ARTIFACT_BUCKET_ACTIONS,
                vec![bucket_arn(bucket)],
            )
            .principal(principal),
        ));
    }
    t.resource(
        "ArtifactBucketPolicy",
        storage::bucket_policy("ArtifactBucket", grants),
    );
    t.output(
        outputs::ARTIFACT_KEY_ARN,
        "ARN of the artifact key",
        json!({ "Fn::GetAtt": ["ArtifactKey", "Arn"] }),
    );
    t.output(
        outputs::ARTIFACT_BUCKET,
        "Name of the artifact bucket",
        json!({ "Ref": "ArtifactBucket" }),
    );

    if primary {
        t.resource(
            "BuildBucket",
            storage::bucket(
                &topology.build_bucket(),
                topology.build.noncurrent_version_expiration_days,
            ),
        );
        t.resource(
            "BuildBucketPolicy",
            storage::bucket_policy("BuildBucket", Vec::new()),
        );
        t.output(
            outputs::BUILD_BUCKET,
            "Name of the build bucket",
            json!({ "Ref": "BuildBucket" }),
        );
        let regions: Vec<String> = topology.regions().iter().map(ToString::to_string).collect();
        t.output(
            outputs::FOUNDATION_REGIONS,
            "Regions of this foundation, so that plinth finds regional stacks of regions removed later",
            json!(regions.join(",")),
        );
        let accounts: Vec<String> = topology
            .target_accounts()
            .iter()
            .map(ToString::to_string)
            .collect();
        t.output(
            outputs::FOUNDATION_ACCOUNTS,
            "Target accounts of this foundation, so that plinth can say when one is dropped with its deploy stack",
            json!(accounts.join(",")),
        );
        if fragments.contains(&Fragment::Sync) {
            sync_function(&mut t, topology, &stack.key, fragments);
        }
    }
    t
}

/// The artifact sync function and its role: reads the primary artifact bucket, writes the
/// regional ones with their keys, writes its log group, reports job results.
fn sync_function(t: &mut Template, topology: &Topology, here: &StackKey, fragments: &[Fragment]) {
    let function_name = topology.sync_function_name();
    let regional: Vec<_> = fragments
        .iter()
        .filter_map(|f| match f {
            Fragment::SyncTo { region } => Some(region.clone()),
            _ => None,
        })
        .collect();
    let mut statements = vec![
        Statement::allow(
            "ReadPrimaryArtifacts",
            &["s3:GetObject", "s3:GetObjectVersion"],
            vec![objects_arn(json!({ "Ref": "ArtifactBucket" }))],
        ),
        Statement::allow(
            "DecryptPrimaryArtifacts",
            &["kms:Decrypt"],
            vec![json!({ "Fn::GetAtt": ["ArtifactKey", "Arn"] })],
        )
        .condition(via_s3()),
    ];
    if !regional.is_empty() {
        let buckets: Vec<Value> = regional
            .iter()
            .map(|r| objects_arn(json!(topology.artifact_bucket(r))))
            .collect();
        let keys: Vec<Value> = regional
            .iter()
            .map(|r| artifact_key(t, topology, here, r))
            .collect();
        let through_s3: Vec<Value> = regional
            .iter()
            .map(|r| json!({ "Fn::Sub": format!("s3.{r}.${{AWS::URLSuffix}}") }))
            .collect();
        // Uploads above 8 MB are multipart: S3 then decrypts the data key for each part and for
        // completing the upload, so the role needs Decrypt as well as GenerateDataKey.
        statements.push(Statement::allow(
            "WriteRegionalArtifacts",
            &["s3:AbortMultipartUpload", "s3:PutObject"],
            buckets,
        ));
        statements.push(
            Statement::allow(
                "EncryptRegionalArtifacts",
                &["kms:Decrypt", "kms:GenerateDataKey"],
                keys,
            )
            .condition(json!({ "StringEquals": { "kms:ViaService": through_s3 } })),
        );
    }
    statements.push(Statement::allow(
        "WriteLogs",
        &["logs:CreateLogStream", "logs:PutLogEvents"],
        vec![json!({ "Fn::GetAtt": ["SyncFunctionLogGroup", "Arn"] })],
    ));
    // These two actions support no resource-level permissions: "*" is the only valid resource.
    statements.push(Statement::allow(
        "ReportJobResults",
        &[
            "codepipeline:PutJobFailureResult",
            "codepipeline:PutJobSuccessResult",
        ],
        vec![json!("*")],
    ));
    t.resource(
        "SyncFunctionRole",
        json!({
            "Type": "AWS::IAM::Role",
            "Properties": {
                "Description": "Role of the plinth artifact sync function",
                "AssumeRolePolicyDocument": PolicyDocument::new(vec![
                    Statement::trust("LambdaAssumes", json!({ "Service": "lambda.amazonaws.com" }))
                ]).to_value(),
                "Policies": [{ "PolicyName": "artifact-sync", "PolicyDocument": PolicyDocument::new(statements).to_value() }]
            }
        }),
    );
    t.resource(
        "SyncFunctionLogGroup",
        json!({
            "Type": "AWS::Logs::LogGroup",
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "Properties": { "LogGroupName": format!("/aws/lambda/{function_name}"), "RetentionInDays": 365 },
            "Metadata": { "checkov": { "skip": [
                { "id": "CKV_AWS_158", "comment": "The log holds object keys and job ids only; CloudWatch Logs encrypts it at rest with its own key." }
            ]}}
        }),
    );
    t.resource(
        "SyncFunction",
        json!({
            "Type": "AWS::Lambda::Function",
            "DependsOn": ["SyncFunctionLogGroup"],
            "Properties": {
                "FunctionName": function_name,
                "Description": "Copies CodePipeline artifacts to another region's artifact bucket",
                "Runtime": "python3.12",
                "Handler": "index.handler",
                "Timeout": 300,
                "MemorySize": 256,
                "Role": { "Fn::GetAtt": ["SyncFunctionRole", "Arn"] },
                "Code": { "ZipFile": ARTIFACT_SYNC_SOURCE }
            },
            "Metadata": { "checkov": { "skip": [
                { "id": "CKV_AWS_115", "comment": "Reserved concurrency would take from accounts whose unreserved pool is small; CodePipeline invokes it a few times per run." },
                { "id": "CKV_AWS_116", "comment": "CodePipeline invokes it synchronously and records failures on the action; a dead-letter queue would never receive anything." },
                { "id": "CKV_AWS_117", "comment": "It talks only to S3 and CodePipeline's public endpoints; a VPC would add NAT cost and nothing else." },
                { "id": "CKV_AWS_173", "comment": "It has no environment variables." }
            ]}}
        }),
    );
    // CloudFormation's record of the code it deployed: Lambda reports the hash of the zip
    // CloudFormation made of the inline code, which drift compares the function's code against.
    // A new source is a new Description, which publishes a new version.
    t.resource(
        "SyncFunctionVersion",
        json!({
            "Type": "AWS::Lambda::Version",
            "Properties": {
                "FunctionName": { "Ref": "SyncFunction" },
                "Description": format!("artifact_sync.py sha256 {}", code::source_sha256_hex(ARTIFACT_SYNC_SOURCE))
            }
        }),
    );
    t.output(
        outputs::SYNC_FUNCTION_ARN,
        "ARN of the artifact sync function",
        json!({ "Fn::GetAtt": ["SyncFunction", "Arn"] }),
    );
}
