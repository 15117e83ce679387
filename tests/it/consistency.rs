//! plinth against a world that moves by itself: IAM that takes seconds to propagate a new role,
//! resources that fail inside a stack and roll it back, and resources deleted by hand.

use crate::apply::{TARGETS, assert_converged};
use crate::common::{Emulator, path_str, standard};

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
