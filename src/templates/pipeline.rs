//! The pipeline stack (build account, build region): one CodePipeline per `[[pipelines]]` entry,
//! with its role, one artifact store per region, the source, sync and target stages.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::policy::{PolicyDocument, Statement, bucket_arn, object_arn, objects_arn, role_arn};
use super::storage::{ARTIFACT_OBJECT_ACTIONS, KEY_USE_ACTIONS};
use super::{Template, artifact_key, outputs};
use crate::layout::{self, StackKey};
use crate::topology::Topology;

/// The change set every target action creates and executes.
pub(crate) const CHANGE_SET_NAME: &str = "plinth";

fn action_type(category: &str, provider: &str) -> Value {
    json!({ "Category": category, "Owner": "AWS", "Provider": provider, "Version": "1" })
}

pub(crate) fn render(topology: &Topology, name: &str) -> Template {
    let here = StackKey::Pipeline {
        pipeline: name.to_owned(),
    };
    let mut t = Template::new(format!(
        "plinth pipeline stack: the {name} pipeline of {}",
        topology.name
    ));
    let Some(pipeline) = topology.pipelines.iter().find(|p| p.name == name) else {
        return t;
    };
    let build_region = &topology.build.region;
    let reach = layout::pipeline_reach(topology, pipeline);
    let (targets, regions) = (&reach.targets, &reach.regions);
    let keys: Vec<Value> = regions
        .iter()
        .map(|r| artifact_key(&mut t, topology, &here, r))
        .collect();
    let sync_function = reach.uses_sync.then(|| {
        t.placeholder(
            "SyncFunctionArn".into(),
            StackKey::Primary,
            outputs::SYNC_FUNCTION_ARN,
        )
    });

    let artifact_stores: Vec<Value> = regions
        .iter()
        .zip(&keys)
        .map(|(region, key)| {
            json!({ "Region": region, "ArtifactStore": {
                "Type": "S3",
                "Location": topology.artifact_bucket(region),
                "EncryptionKey": { "Id": key, "Type": "KMS" }
            }})
        })
        .collect();

    let mut stages = Vec::new();
    let build_bucket = topology.build_bucket();
    let source_actions: Vec<Value> = pipeline
        .sources
        .iter()
        .enumerate()
        .map(|(index, source)| {
            json!({
                "Name": source.name,
                "ActionTypeId": action_type("Source", "S3"),
                "Configuration": {
                    "S3Bucket": build_bucket,
                    "S3ObjectKey": source.key,
                    // One source starts runs; the others are read at the version current then.
                    "PollForSourceChanges": if index == 0 { "true" } else { "false" }
                },
                "OutputArtifacts": [{ "Name": source.name }],
                "RunOrder": 1
            })
        })
        .collect();
    stages.push(json!({ "Name": "Source", "Actions": source_actions }));
    let inputs: Vec<Value> = pipeline
        .sources
        .iter()
        .map(|s| json!({ "Name": s.name }))
        .collect();

    if sync_function.is_some() {
        let actions: Vec<Value> = regions
            .iter()
            .zip(&keys)
            .filter(|(r, _)| *r != build_region)
            .map(|(region, key)| {
                json!({
                    "Name": format!("Sync-{region}"),
                    "ActionTypeId": action_type("Invoke", "Lambda"),
                    "Configuration": {
                        "FunctionName": topology.sync_function_name(),
                        "UserParameters": { "Fn::Sub": [
                            "{\"DestinationBucket\": \"${Bucket}\", \"DestinationRegion\": \"${Region}\", \"DestinationKeyArn\": \"${Key}\"}",
                            { "Bucket": topology.artifact_bucket(region), "Region": region, "Key": key }
                        ]}
                    },
                    "InputArtifacts": inputs,
                    "Region": build_region,
                    "RunOrder": 1
                })
            })
            .collect();
        stages.push(json!({ "Name": "Sync", "Actions": actions }));
    }

    for target in targets {
        let account = target.account.as_str();
        let action_role = role_arn(account, &topology.pipeline_role_name());
        let cloudformation_role = role_arn(account, &topology.cloudformation_role_name());
        let execute_order = if target.approval { 3 } else { 2 };
        let mut actions = Vec::new();
        for region in &target.regions {
            actions.push(json!({
                "Name": format!("CreateChangeSet-{region}"),
                "ActionTypeId": action_type("Deploy", "CloudFormation"),
                "Configuration": {
                    "ActionMode": "CHANGE_SET_REPLACE",
                    "StackName": pipeline.stack,
                    "ChangeSetName": CHANGE_SET_NAME,
                    "TemplatePath": format!("{}::{}", pipeline.sources[0].name, pipeline.template),
                    "Capabilities": "CAPABILITY_IAM,CAPABILITY_NAMED_IAM,CAPABILITY_AUTO_EXPAND",
                    "RoleArn": cloudformation_role
                },
                "InputArtifacts": inputs,
                "RoleArn": action_role,
                "Region": region,
                "RunOrder": 1
            }));
            actions.push(json!({
                "Name": format!("ExecuteChangeSet-{region}"),
                "ActionTypeId": action_type("Deploy", "CloudFormation"),
                "Configuration": {
                    "ActionMode": "CHANGE_SET_EXECUTE",
                    "StackName": pipeline.stack,
                    "ChangeSetName": CHANGE_SET_NAME
                },
                "RoleArn": action_role,
                "Region": region,
                "RunOrder": execute_order
            }));
        }
        if target.approval {
            actions.push(json!({
                "Name": "Approve",
                "ActionTypeId": action_type("Approval", "Manual"),
                "Configuration": { "CustomData": format!("Review the change sets of {} in {} before they execute", pipeline.stack, target.name) },
                "RunOrder": 2
            }));
        }
        actions.sort_by_key(|a| {
            (
                a["RunOrder"].as_u64(),
                a["Name"].as_str().map(str::to_owned),
            )
        });
        stages.push(json!({ "Name": target.name, "Actions": actions }));
    }

    let accounts: BTreeSet<&str> = targets.iter().map(|t| t.account.as_str()).collect();
    let mut statements = vec![
        Statement::allow(
            "ReadSources",
            &["s3:GetObject", "s3:GetObjectVersion"],
            pipeline
                .sources
                .iter()
                .map(|s| object_arn(json!(build_bucket), &s.key))
                .collect(),
        ),
        Statement::allow(
            "BuildBucket",
            &["s3:GetBucketVersioning"],
            vec![bucket_arn(json!(build_bucket))],
        ),
        Statement::allow(
            "ArtifactObjects",
            ARTIFACT_OBJECT_ACTIONS,
            regions
                .iter()
                .map(|r| objects_arn(json!(topology.artifact_bucket(r))))
                .collect(),
        ),
        Statement::allow(
            "ArtifactBuckets",
            &[
                "s3:GetBucketLocation",
                "s3:GetBucketVersioning",
                "s3:ListBucket",
            ],
            regions
                .iter()
                .map(|r| bucket_arn(json!(topology.artifact_bucket(r))))
                .collect(),
        ),
        Statement::allow("ArtifactKeys", KEY_USE_ACTIONS, keys.clone()),
        Statement::allow(
            "AssumeDeployRoles",
            &["sts:AssumeRole"],
            accounts
                .iter()
                .map(|a| role_arn(a, &topology.pipeline_role_name()))
                .collect(),
        ),
    ];
    if let Some(function) = sync_function {
        statements.push(Statement::allow(
            "InvokeSyncFunction",
            &["lambda:GetFunction", "lambda:InvokeFunction"],
            vec![function],
        ));
    }
    let role_name = topology.pipeline_service_role_name(&pipeline.name);
    t.resource(
        "PipelineServiceRole",
        json!({
            "Type": "AWS::IAM::Role",
            "Properties": {
                "RoleName": role_name,
                "Description": format!("Role of the {} pipeline", pipeline.name),
                "AssumeRolePolicyDocument": PolicyDocument::new(vec![
                    Statement::trust("CodePipelineAssumes", json!({ "Service": "codepipeline.amazonaws.com" }))
                ]).to_value(),
                "Policies": [{ "PolicyName": "pipeline", "PolicyDocument": PolicyDocument::new(statements).to_value() }]
            }
        }),
    );
    t.resource(
        "Pipeline",
        json!({
            "Type": "AWS::CodePipeline::Pipeline",
            "Properties": {
                "Name": topology.codepipeline_name(&pipeline.name),
                "PipelineType": "V2",
                "RoleArn": { "Fn::GetAtt": ["PipelineServiceRole", "Arn"] },
                "ArtifactStores": artifact_stores,
                "Stages": stages,
                "RestartExecutionOnUpdate": false
            }
        }),
    );
    t.output(
        outputs::PIPELINE_NAME,
        "Name of the pipeline",
        json!({ "Ref": "Pipeline" }),
    );
    t
}
