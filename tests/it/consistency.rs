//! plinth against a world that moves by itself: IAM that takes seconds to propagate a new role,
//! resources that fail inside a stack and roll it back, and resources deleted by hand.

use crate::apply::{TARGETS, assert_converged};
use crate::common::{BUILD, Emulator, get_pipeline, path_str, standard};
use crate::drift::{drifts, with_pipeline};

const REGIONS: &[&str] = &["us-east-1", "us-west-2", "eu-west-1"];

/// The standard foundation's target accounts.
fn targets() -> &'static [&'static str] {
    &TARGETS[..3]
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fresh_apply_whose_roles_take_ten_seconds_to_propagate_converges_in_one_run() {
    let emulator = Emulator::start_with(&["--iam-propagation-seconds", "10"]);
    let file = emulator.write("topology.toml", &standard());
    let run = emulator.plinth(&["apply", "-t", path_str(&file), "--yes"]);
    run.expect(0);
    // the grants of the second pass were refused at first, and tried again until IAM caught up
    run.assert_stderr("waiting for IAM to propagate a new principal");
    assert_converged(&emulator, targets(), REGIONS).await;
    emulator
        .plinth(&["plan", "-t", path_str(&file), "--detailed-exitcode"])
        .expect(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn roles_that_propagate_slower_than_the_propagation_timeout_fail_naming_iam_propagation() {
    let emulator = Emulator::start_with(&["--iam-propagation-seconds", "600"]);
    let file = emulator.write("topology.toml", &standard());
    let run = emulator.plinth(&[
        "apply",
        "-t",
        path_str(&file),
        "--yes",
        "--propagation-timeout",
        "8",
    ]);
    run.expect(1);
    run.assert_stderr(
        "IAM propagation: a principal that a policy names was still not valid after 8 s",
    );
    run.assert_stderr("Invalid principal in policy");
    // what was refused is planned again, with the reason of its last try
    let plan = emulator.plinth(&["plan", "-t", path_str(&file), "--detailed-exitcode"]);
    plan.expect(2);
    assert!(
        plan.stderr.contains("Invalid principal in policy"),
        "{}",
        plan.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_update_refused_inside_its_stack_rolls_back_and_is_planned_as_the_update_again() {
    let (emulator, file) = Emulator::applied(&standard());
    let missing = "arn:aws:iam::aws:policy/NoSuchPolicyAnywhere";
    let edited = standard().replace("arn:aws:iam::aws:policy/PowerUserAccess", missing);
    let file_edited = emulator.write("topology.toml", &edited);
    assert_eq!(file, file_edited);
    let run = emulator.plinth(&["apply", "-t", path_str(&file), "--yes"]);
    run.expect(1);
    run.assert_stderr("UPDATE_ROLLBACK_COMPLETE");
    run.assert_stderr(missing);
    // CloudFormation rolled the deploy stacks back: template and roles as they were
    let iam = aws_sdk_iam::Client::new(&emulator.sdk(TARGETS[0], "us-east-1").await);
    let attached = iam
        .list_attached_role_policies()
        .role_name("acme-cloudformation")
        .send()
        .await
        .unwrap();
    let arns: Vec<&str> = attached
        .attached_policies()
        .iter()
        .filter_map(|p| p.policy_arn())
        .collect();
    assert_eq!(arns, ["arn:aws:iam::aws:policy/PowerUserAccess"]);
    let cfn = aws_sdk_cloudformation::Client::new(&emulator.sdk(TARGETS[0], "us-east-1").await);
    let status = cfn
        .describe_stacks()
        .stack_name("acme-deploy")
        .send()
        .await
        .unwrap()
        .stacks()[0]
        .stack_status()
        .unwrap()
        .as_str()
        .to_owned();
    assert_eq!(status, "UPDATE_ROLLBACK_COMPLETE");
    // planned as the update again, with the reason, and never as drift
    let plan = emulator.plinth(&["plan", "-t", path_str(&file), "--detailed-exitcode"]);
    plan.expect(2);
    assert!(
        plan.stderr
            .contains("its last update failed and was rolled back ("),
        "{}",
        plan.stderr
    );
    assert!(plan.stderr.contains(missing), "{}", plan.stderr);
    let json = emulator
        .plinth(&["plan", "-t", path_str(&file), "--json"])
        .json();
    for change in json["changes"].as_array().unwrap() {
        assert!(
            change["drift"].as_array().is_none_or(Vec::is_empty),
            "{change}"
        );
    }
    // put back as it was, the next apply converges
    emulator.write("topology.toml", &standard());
    emulator
        .plinth(&["apply", "-t", path_str(&file), "--yes"])
        .expect(0);
    emulator
        .plinth(&["plan", "-t", path_str(&file), "--detailed-exitcode"])
        .expect(0);
}

/// Deletes a role as a person would: its policies first, as IAM demands.
async fn delete_role(emulator: &Emulator, account: &str, role: &str) {
    let iam = aws_sdk_iam::Client::new(&emulator.sdk(account, "us-east-1").await);
    let attached = iam
        .list_attached_role_policies()
        .role_name(role)
        .send()
        .await
        .unwrap();
    for policy in attached.attached_policies() {
        iam.detach_role_policy()
            .role_name(role)
            .policy_arn(policy.policy_arn().unwrap())
            .send()
            .await
            .unwrap();
    }
    let inline = iam
        .list_role_policies()
        .role_name(role)
        .send()
        .await
        .unwrap();
    for name in inline.policy_names() {
        iam.delete_role_policy()
            .role_name(role)
            .policy_name(name)
            .send()
            .await
            .unwrap();
    }
    iam.delete_role().role_name(role).send().await.unwrap();
}

async fn artifact_bucket_policy(emulator: &Emulator, region: &str) -> String {
    let bucket = format!("acme-artifacts-{BUILD}-{region}");
    emulator
        .s3(BUILD, region)
        .await
        .get_bucket_policy()
        .bucket(&bucket)
        .send()
        .await
        .unwrap()
        .policy()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deploy_role_deleted_by_hand_is_shown_created_again_and_granted_again() {
    // roles take three seconds to propagate, so the grants put back wait for the new role
    let emulator = Emulator::start_with(&["--iam-propagation-seconds", "3"]);
    let file = emulator.write("topology.toml", &standard());
    emulator
        .plinth(&["apply", "-t", path_str(&file), "--yes"])
        .expect(0);
    let role = format!("arn:aws:iam::{}:role/acme-cloudformation", TARGETS[0]);
    delete_role(&emulator, TARGETS[0], "acme-cloudformation").await;
    // AWS keeps the deleted role's unique id where its ARN was
    let policy = artifact_bucket_policy(&emulator, "us-west-2").await;
    assert!(
        !policy.contains(&role) && policy.contains("AROA"),
        "{policy}"
    );

    let plan = emulator.plinth(&["plan", "-t", path_str(&file), "--detailed-exitcode"]);
    plan.expect(2);
    plan.assert_stderr("! CloudFormationRole (AWS::IAM::Role): deleted");
    plan.assert_stderr(format!("not granted until the policy is put again: {role}"));
    let found = drifts(
        &emulator
            .plinth(&["plan", "-t", path_str(&file), "--json"])
            .json(),
    );
    assert!(found.contains(&(
        format!("acme-deploy {} us-east-1", TARGETS[0]),
        "CloudFormationRole".to_owned(),
        "deleted".to_owned()
    )));
    for (stack, region) in [
        ("acme-primary", "us-east-1"),
        ("acme-regional", "us-west-2"),
        ("acme-regional", "eu-west-1"),
    ] {
        assert!(
            found.contains(&(
                format!("{stack} {BUILD} {region}"),
                "ArtifactBucketPolicy".to_owned(),
                "PolicyDocument".to_owned()
            )),
            "{found:?}"
        );
    }

    // the role is created again first; its grants wait for it, then for IAM to propagate it
    emulator
        .plinth(&["apply", "-t", path_str(&file), "--yes"])
        .expect(0)
        .assert_stderr("CloudFormationRole (deleted outside CloudFormation) is created again")
        .assert_stderr("waiting for IAM to propagate a new principal");
    assert_converged(&emulator, targets(), REGIONS).await;
    for region in REGIONS {
        let policy = artifact_bucket_policy(&emulator, region).await;
        assert!(
            policy.contains(&role) && !policy.contains("AROA"),
            "{policy}"
        );
    }
    emulator
        .plinth(&["plan", "-t", path_str(&file), "--detailed-exitcode"])
        .expect(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sync_function_its_log_group_a_pipeline_and_a_bucket_policy_deleted_by_hand_are_shown_and_put_back()
 {
    let (emulator, file) = Emulator::applied(&with_pipeline());
    let build = emulator.sdk(BUILD, "us-east-1").await;
    aws_sdk_lambda::Client::new(&build)
        .delete_function()
        .function_name("acme-artifact-sync")
        .send()
        .await
        .unwrap();
    aws_sdk_cloudwatchlogs::Client::new(&build)
        .delete_log_group()
        .log_group_name("/aws/lambda/acme-artifact-sync")
        .send()
        .await
        .unwrap();
    aws_sdk_codepipeline::Client::new(&build)
        .delete_pipeline()
        .name("acme-service")
        .send()
        .await
        .unwrap();
    emulator
        .s3(BUILD, "us-west-2")
        .await
        .delete_bucket_policy()
        .bucket(format!("acme-artifacts-{BUILD}-us-west-2"))
        .send()
        .await
        .unwrap();

    let plan = emulator.plinth(&["plan", "-t", path_str(&file), "--detailed-exitcode"]);
    plan.expect(2);
    plan.assert_stderr("! SyncFunction (AWS::Lambda::Function): deleted");
    plan.assert_stderr("! Pipeline (AWS::CodePipeline::Pipeline): deleted");
    plan.assert_stderr("! SyncFunctionLogGroup (AWS::Logs::LogGroup): deleted");
    let found = drifts(
        &emulator
            .plinth(&["plan", "-t", path_str(&file), "--json"])
            .json(),
    );
    assert!(
        found.contains(&(
            format!("acme-regional {BUILD} us-west-2"),
            "ArtifactBucketPolicy".to_owned(),
            "PolicyDocument".to_owned()
        )),
        "{found:?}"
    );

    emulator
        .plinth(&["apply", "-t", path_str(&file), "--yes"])
        .expect(0);
    let function = aws_sdk_lambda::Client::new(&build)
        .get_function_configuration()
        .function_name("acme-artifact-sync")
        .send()
        .await
        .unwrap();
    assert_eq!(function.timeout(), Some(300));
    let groups = aws_sdk_cloudwatchlogs::Client::new(&build)
        .describe_log_groups()
        .log_group_name_prefix("/aws/lambda/acme-artifact-sync")
        .send()
        .await
        .unwrap();
    assert_eq!(groups.log_groups()[0].retention_in_days(), Some(365));
    let pipeline = get_pipeline(&emulator).await;
    assert!(pipeline.stages().len() > 2, "{pipeline:?}");
    assert!(
        artifact_bucket_policy(&emulator, "us-west-2")
            .await
            .contains("DeployRolesObjects")
    );
    emulator
        .plinth(&["plan", "-t", path_str(&file), "--detailed-exitcode"])
        .expect(0);
}
