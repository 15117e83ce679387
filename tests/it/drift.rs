//! Drift against the emulator: what people change behind CloudFormation's back is shown by
//! `plan`, put back by `apply`, and gone from the plan after it; a foundation nobody touched
//! shows none.

use std::collections::BTreeSet;

use crate::common::{BUILD, Emulator, get_pipeline, path_str, topology};
use aws_sdk_lambda::client::Waiters;
use plinth::templates::ARTIFACT_SYNC_SOURCE;
use plinth::templates::code::{code_sha256, inline_code_zip};
use serde_json::Value;

pub(crate) const PIPELINE: &str = r#"
[[pipelines]]
name = "service"
targets = ["development", "testing", "production"]
sources = [{ name = "App", key = "service/app.zip" }]
stack = "service"
"#;

/// (stack, resource, property) of every drift in a JSON plan.
pub(crate) fn drifts(plan: &Value) -> BTreeSet<(String, String, String)> {
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| {
            let stack = format!(
                "{} {} {}",
                c["stack"]["name"].as_str().unwrap(),
                c["stack"]["account"].as_str().unwrap(),
                c["stack"]["region"].as_str().unwrap()
            );
            c["drift"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(move |d| {
                    (
                        stack.clone(),
                        d["resource"].as_str().unwrap().to_owned(),
                        d["property"].as_str().unwrap().to_owned(),
                    )
                })
        })
        .collect()
}

/// The standard topology with a pipeline to every target, which brings the sync function.
pub(crate) fn with_pipeline() -> String {
    topology(
        &[
            ("development", &["us-east-1", "us-west-2"]),
            ("testing", &["us-west-2"]),
            ("production", &["eu-west-1"]),
        ],
        PIPELINE,
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_foundation_nobody_touched_shows_no_drift_with_pipelines_after_the_second_pass() {
    let emulator = Emulator::start();
    let file = emulator.write("topology.toml", &with_pipeline());
    emulator
        .plinth(&["apply", "-t", path_str(&file), "--yes"])
        .expect(0);
    let plan = emulator.plinth(&["plan", "-t", path_str(&file), "--json"]);
    plan.expect(0);
    assert_eq!(drifts(&plan.json()), BTreeSet::new());
    assert_eq!(plan.json()["summary"]["drifted"], 0);
    emulator
        .plinth(&["plan", "-t", path_str(&file), "--detailed-exitcode"])
        .expect(0)
        .assert_stderr("Plan: 0 to create, 0 to update, 0 to delete, 7 unchanged.");
}

#[tokio::test(flavor = "multi_thread")]
async fn changes_made_behind_cloudformations_back_are_shown_repaired_and_gone() {
    let emulator = Emulator::start();
    let file = emulator.write("topology.toml", &with_pipeline());
    emulator
        .plinth(&["apply", "-t", path_str(&file), "--yes"])
        .expect(0);

    // S3, in the build account
    let west = emulator.s3(BUILD, "us-west-2").await;
    west.delete_bucket_policy()
        .bucket("acme-artifacts-111111111111-us-west-2")
        .send()
        .await
        .unwrap();
    let eu = emulator.s3(BUILD, "eu-west-1").await;
    let eu_bucket = "acme-artifacts-111111111111-eu-west-1";
    let mut policy: Value = serde_json::from_str(
        eu.get_bucket_policy()
            .bucket(eu_bucket)
            .send()
            .await
            .unwrap()
            .policy()
            .unwrap(),
    )
    .unwrap();
    policy["Statement"].as_array_mut().unwrap().push(serde_json::json!({
        "Sid": "Intruder", "Effect": "Allow", "Principal": { "AWS": "arn:aws:iam::999999999999:root" },
        "Action": "s3:PutObject", "Resource": format!("arn:aws:s3:::{eu_bucket}/*")
    }));
    eu.put_bucket_policy()
        .bucket(eu_bucket)
        .policy(policy.to_string())
        .send()
        .await
        .unwrap();
    let east = emulator.s3(BUILD, "us-east-1").await;
    east.put_bucket_encryption()
        .bucket("acme-build-111111111111-us-east-1")
        .server_side_encryption_configuration(
            aws_sdk_s3::types::ServerSideEncryptionConfiguration::builder()
                .rules(
                    aws_sdk_s3::types::ServerSideEncryptionRule::builder()
                        .apply_server_side_encryption_by_default(
                            aws_sdk_s3::types::ServerSideEncryptionByDefault::builder()
                                .sse_algorithm(aws_sdk_s3::types::ServerSideEncryption::Aes256)
                                .build()
                                .unwrap(),
                        )
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    east.put_bucket_versioning()
        .bucket("acme-artifacts-111111111111-us-east-1")
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Suspended)
                .build(),
        )
        .send()
        .await
        .unwrap();

    // IAM, in the target accounts
    let development = aws_sdk_iam::Client::new(&emulator.sdk("222222222222", "us-east-1").await);
    development
        .put_role_policy()
        .role_name("acme-codepipeline")
        .policy_name("everything")
        .policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
        )
        .send()
        .await
        .unwrap();
    let testing = aws_sdk_iam::Client::new(&emulator.sdk("333333333333", "us-east-1").await);
    testing
        .attach_role_policy()
        .role_name("acme-cloudformation")
        .policy_arn("arn:aws:iam::aws:policy/IAMFullAccess")
        .send()
        .await
        .unwrap();
    let production = aws_sdk_iam::Client::new(&emulator.sdk("444444444444", "us-east-1").await);
    production
        .update_assume_role_policy()
        .role_name("acme-codepipeline")
        .policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999999999999:root"},"Action":"sts:AssumeRole"}]}"#,
        )
        .send()
        .await
        .unwrap();

    // KMS, in the build account
    let key_of = |region: &'static str| {
        let emulator = &emulator;
        async move {
            let kms = aws_sdk_kms::Client::new(&emulator.sdk(BUILD, region).await);
            let key = kms
                .describe_key()
                .key_id("alias/acme-artifacts")
                .send()
                .await
                .unwrap()
                .key_metadata()
                .unwrap()
                .key_id()
                .to_owned();
            (kms, key)
        }
    };
    let (kms, key) = key_of("us-west-2").await;
    kms.disable_key_rotation()
        .key_id(&key)
        .send()
        .await
        .unwrap();
    let (kms, key) = key_of("eu-west-1").await;
    let mut policy: Value = serde_json::from_str(
        kms.get_key_policy()
            .key_id(&key)
            .policy_name("default")
            .send()
            .await
            .unwrap()
            .policy()
            .unwrap(),
    )
    .unwrap();
    policy["Statement"][0]["Principal"]["AWS"] = serde_json::json!([
        "arn:aws:iam::111111111111:root",
        "arn:aws:iam::999999999999:root"
    ]);
    kms.put_key_policy()
        .key_id(&key)
        .policy_name("default")
        .policy(policy.to_string())
        .send()
        .await
        .unwrap();

    // Lambda, in the build account: a shorter timeout, and other code
    let lambda = aws_sdk_lambda::Client::new(&emulator.sdk(BUILD, "us-east-1").await);
    lambda
        .update_function_configuration()
        .function_name("acme-artifact-sync")
        .timeout(3)
        .send()
        .await
        .unwrap();
    lambda
        .wait_until_function_updated()
        .function_name("acme-artifact-sync")
        .wait(std::time::Duration::from_secs(60))
        .await
        .unwrap();
    lambda
        .update_function_code()
        .function_name("acme-artifact-sync")
        .zip_file(aws_smithy_types::Blob::new(inline_code_zip(
            "def handler(event, context):\n    return 'copied nothing'\n",
        )))
        .send()
        .await
        .unwrap();

    // CodePipeline, in the build account: a deployment pointed at another role, a stage added,
    // runs in parallel
    let pipelines = aws_sdk_codepipeline::Client::new(&emulator.sdk(BUILD, "us-east-1").await);
    let declared = get_pipeline(&emulator).await;
    pipelines
        .update_pipeline()
        .pipeline(tampered(&declared))
        .send()
        .await
        .unwrap();

    let plan = emulator.plinth(&["plan", "-t", path_str(&file), "--json"]);
    plan.expect(0);
    let primary = "acme-primary 111111111111 us-east-1";
    let west = "acme-regional 111111111111 us-west-2";
    let eu = "acme-regional 111111111111 eu-west-1";
    let pipeline = "acme-pipeline-service 111111111111 us-east-1";
    let expected: BTreeSet<(String, String, String)> = [
        (west, "ArtifactBucketPolicy", "PolicyDocument"),
        (eu, "ArtifactBucketPolicy", "PolicyDocument"),
        (primary, "BuildBucket", "BucketEncryption"),
        (primary, "ArtifactBucket", "VersioningConfiguration"),
        (
            "acme-deploy 222222222222 us-east-1",
            "PipelineRole",
            "Policies/everything",
        ),
        (
            "acme-deploy 333333333333 us-east-1",
            "CloudFormationRole",
            "ManagedPolicyArns",
        ),
        (
            "acme-deploy 444444444444 us-east-1",
            "PipelineRole",
            "AssumeRolePolicyDocument",
        ),
        (west, "ArtifactKey", "EnableKeyRotation"),
        (eu, "ArtifactKey", "KeyPolicy"),
        (primary, "SyncFunction", "Timeout"),
        (primary, "SyncFunction", "Code"),
        (pipeline, "Pipeline", "Stages"),
        (pipeline, "Pipeline", "ExecutionMode"),
    ]
    .into_iter()
    .map(|(s, r, p)| (s.to_owned(), r.to_owned(), p.to_owned()))
    .collect();
    assert_eq!(drifts(&plan.json()), expected);
    assert_eq!(plan.json()["summary"]["drifted"], 13);

    let human = emulator.plinth(&["plan", "-t", path_str(&file), "--detailed-exitcode"]);
    human
        .expect(2)
        .assert_stderr("13 drifted")
        .assert_stderr("- Stages/Backdoor")
        .assert_stderr(
            "~ Stages/production/Actions/CreateChangeSet-eu-west-1/Configuration/RoleArn: \
             live arn:aws:iam::444444444444:role/intruder, \
             declared arn:aws:iam::444444444444:role/acme-cloudformation",
        )
        .assert_stderr("! ArtifactBucketPolicy (AWS::S3::BucketPolicy): PolicyDocument")
        .assert_stderr("live:     absent")
        .assert_stderr("- Intruder: Allow s3:PutObject")
        .assert_stderr("- Allow * on *")
        .assert_stderr("live:     AES256");

    emulator
        .plinth(&["apply", "-t", path_str(&file), "--yes"])
        .expect(0)
        .assert_stderr("repaired drift: ArtifactBucketPolicy PolicyDocument is as declared again");
    let after = emulator.plinth(&["plan", "-t", path_str(&file), "--json"]);
    after.expect(0);
    assert_eq!(drifts(&after.json()), BTreeSet::new());
    emulator
        .plinth(&["plan", "-t", path_str(&file), "--detailed-exitcode"])
        .expect(0);
    // and what was repaired is what AWS holds: no extra policy, the right encryption
    let inline = development
        .list_role_policies()
        .role_name("acme-codepipeline")
        .send()
        .await
        .unwrap();
    assert_eq!(inline.policy_names(), ["deploy"]);
    let attached = testing
        .list_attached_role_policies()
        .role_name("acme-cloudformation")
        .send()
        .await
        .unwrap();
    assert!(
        attached
            .attached_policies()
            .iter()
            .all(|p| p.policy_arn() != Some("arn:aws:iam::aws:policy/IAMFullAccess"))
    );

    // the function runs the template's code again, in plinth's package of it
    let code = lambda
        .get_function_configuration()
        .function_name("acme-artifact-sync")
        .send()
        .await
        .unwrap();
    assert_eq!(
        code.code_sha256(),
        Some(code_sha256(&inline_code_zip(ARTIFACT_SYNC_SOURCE)).as_str())
    );
    // the pipeline is as CloudFormation made it: same stages, same actions, same settings
    let repaired = get_pipeline(&emulator).await;
    assert_eq!(repaired.stages(), declared.stages());
    assert_eq!(
        repaired.execution_mode(),
        Some(&aws_sdk_codepipeline::types::ExecutionMode::Superseded)
    );

    // --no-drift does not read it
    west_policy_deleted_again(&emulator).await;
    emulator
        .plinth(&[
            "plan",
            "-t",
            path_str(&file),
            "--detailed-exitcode",
            "--no-drift",
        ])
        .expect(0);
}

async fn west_policy_deleted_again(emulator: &Emulator) {
    emulator
        .s3(BUILD, "us-west-2")
        .await
        .delete_bucket_policy()
        .bucket("acme-artifacts-111111111111-us-west-2")
        .send()
        .await
        .unwrap();
}

/// The pipeline with production's change set made by another role, a stage at the end, and
/// runs in parallel.
fn tampered(
    pipeline: &aws_sdk_codepipeline::types::PipelineDeclaration,
) -> aws_sdk_codepipeline::types::PipelineDeclaration {
    use aws_sdk_codepipeline::types::{
        ActionCategory, ActionDeclaration, ActionOwner, ActionTypeId, StageDeclaration,
    };
    let mut stages = pipeline.stages().to_vec();
    for stage in &mut stages {
        if stage.name() == "production" {
            for action in &mut stage.actions {
                if action.name() == "CreateChangeSet-eu-west-1" {
                    action.configuration.get_or_insert_default().insert(
                        "RoleArn".into(),
                        "arn:aws:iam::444444444444:role/intruder".into(),
                    );
                }
            }
        }
    }
    let approve = ActionDeclaration::builder()
        .name("Wave")
        .action_type_id(
            ActionTypeId::builder()
                .category(ActionCategory::Approval)
                .owner(ActionOwner::Aws)
                .provider("Manual")
                .version("1")
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    stages.push(
        StageDeclaration::builder()
            .name("Backdoor")
            .actions(approve)
            .build()
            .unwrap(),
    );
    let mut tampered = pipeline.clone();
    tampered.stages = stages;
    tampered.execution_mode = Some(aws_sdk_codepipeline::types::ExecutionMode::Parallel);
    tampered
}
