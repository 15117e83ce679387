//! `plinth plan` against the emulator: three target accounts, three regions.

use crate::common::{Emulator, path_str, standard, topology};
use serde_json::Value;

fn actions(plan: &Value) -> Vec<(String, String, u64, u64)> {
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["stack"]["name"].as_str().unwrap().to_owned(),
                c["action"].as_str().unwrap().to_owned(),
                c["pass"].as_u64().unwrap(),
                c["wave"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn a_fresh_topology_plans_every_stack_as_create_in_waves() {
    let emulator = Emulator::start();
    let file = emulator.write("topology.toml", &standard());
    let run = emulator.plinth(&[
        "plan",
        "-t",
        path_str(&file),
        "--json",
        "--detailed-exitcode",
    ]);
    run.expect(2);
    let plan = run.json();
    let changes = actions(&plan);
    // primary, two regional, three deploy stacks; primary and regional get a second pass
    assert_eq!(
        changes.iter().filter(|c| c.1 == "create").count(),
        6,
        "{changes:?}"
    );
    assert_eq!(
        changes
            .iter()
            .filter(|c| c.1 == "update" && c.2 == 2)
            .count(),
        3,
        "{changes:?}"
    );
    assert_eq!(changes.iter().map(|c| c.3).max(), Some(3));
    assert!(
        changes
            .iter()
            .filter(|c| c.0 == "acme-deploy")
            .all(|c| c.3 == 2)
    );
    assert_eq!(plan["summary"]["create"], 6);
    // placeholders are unknown until the upstream stacks exist
    let deploy = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["stack"]["name"] == "acme-deploy")
        .unwrap();
    assert!(
        deploy["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["value"].is_null())
    );

    let human = emulator.plinth(&["plan", "-t", path_str(&file)]);
    human.expect(0);
    human.assert_stderr("Plan: 6 to create, 0 to update, 0 to delete, 0 unchanged.");
    assert!(human.stderr.contains("wave 3"));
    assert!(human.stderr.contains("(known after apply)"));
}

#[test]
fn a_converged_foundation_plans_no_change() {
    let (emulator, file) = Emulator::applied(&standard());
    let run = emulator.plinth(&["plan", "-t", path_str(&file), "--detailed-exitcode"]);
    run.expect(0);
    run.assert_stderr("Plan: 0 to create, 0 to update, 0 to delete, 6 unchanged.");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stack_changed_behind_plinths_back_shows_its_diff() {
    let (emulator, file) = Emulator::applied(&standard());

    // Someone turns off key rotation in the us-west-2 regional stack by hand.
    let config = emulator.sdk(crate::common::BUILD, "us-west-2").await;
    let cfn = aws_sdk_cloudformation::Client::new(&config);
    let body = cfn
        .get_template()
        .stack_name("acme-regional")
        .send()
        .await
        .unwrap()
        .template_body()
        .unwrap()
        .to_owned();
    let mut template: Value = serde_json::from_str(&body).unwrap();
    template["Resources"]["ArtifactKey"]["Properties"]["EnableKeyRotation"] = Value::Bool(false);
    let stack = cfn
        .describe_stacks()
        .stack_name("acme-regional")
        .send()
        .await
        .unwrap();
    let tags = stack.stacks()[0].tags().to_vec();
    cfn.update_stack()
        .stack_name("acme-regional")
        .template_body(template.to_string())
        .set_tags(Some(tags))
        .capabilities(aws_sdk_cloudformation::types::Capability::CapabilityNamedIam)
        .send()
        .await
        .unwrap();

    let run = emulator.plinth(&["plan", "-t", path_str(&file), "--detailed-exitcode"]);
    run.expect(2);
    run.assert_stderr("~ update  acme-regional (111111111111 us-west-2) pass 1");
    // by resource, and not as drift too: the update itself writes the property back
    run.assert_stderr("~ ArtifactKey (AWS::KMS::Key)");
    run.assert_stderr("EnableKeyRotation: false -> true");
    run.assert_stderr("Plan: 0 to create, 1 to update, 0 to delete, 5 unchanged.");
    assert!(!run.stderr.contains("\"EnableKeyRotation\": false,"));
    let full = emulator.plinth(&["plan", "-t", path_str(&file), "--diff"]);
    full.assert_stderr("-        \"EnableKeyRotation\": false,");
    full.assert_stderr("+        \"EnableKeyRotation\": true,");
}

#[test]
fn a_stack_of_a_removed_region_plans_as_delete() {
    let (emulator, _) = Emulator::applied(&standard());
    // production moves out of eu-west-1: nothing else deploys there any more
    let moved = topology(
        &[
            ("development", &["us-east-1", "us-west-2"]),
            ("testing", &["us-west-2"]),
            ("production", &["us-west-2"]),
        ],
        "",
    );
    let file = emulator.write("topology.toml", &moved);
    let run = emulator.plinth(&["plan", "-t", path_str(&file), "--json"]);
    run.expect(0);
    let changes = actions(&run.json());
    let last_wave = changes
        .iter()
        .filter(|c| c.1 != "delete")
        .map(|c| c.3)
        .max()
        .unwrap();
    assert_eq!(
        changes.iter().filter(|c| c.1 == "delete").count(),
        1,
        "{changes:?}"
    );
    assert!(
        changes.contains(&("acme-regional".into(), "delete".into(), 1, last_wave + 1)),
        "{changes:?}"
    );
    // the deploy stacks stop naming the eu-west-1 key
    assert!(
        changes
            .iter()
            .filter(|c| c.0 == "acme-deploy")
            .all(|c| c.1 == "update"),
        "{changes:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_identity_mismatch_stops_the_plan() {
    let emulator = Emulator::start();
    // the development target names the testing profile: its credentials act in 333333333333
    let text = standard().replacen("profile = \"development\"", "profile = \"testing\"", 1);
    let file = emulator.write("topology.toml", &text);
    let run = emulator.plinth(&["plan", "-t", path_str(&file)]);
    run.expect(1);
    run.assert_stderr("target `development` declares account 222222222222, but profile `testing` acts in account 333333333333");
    assert!(!run.stderr.contains("Plan:"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_role_name_held_by_another_stack_is_reported() {
    let emulator = Emulator::start();
    emulator
        .stack_holding_role("333333333333", "someone-else", "acme-codepipeline")
        .await;
    let file = emulator.write("topology.toml", &standard());
    let run = emulator.plinth(&["plan", "-t", path_str(&file)]);
    run.expect(1);
    run.assert_stderr("error: role acme-codepipeline already exists in account 333333333333 but is not part of this foundation (stack someone-else holds it), so acme-deploy cannot create it");
}

#[test]
fn a_saved_plan_is_refused_when_what_is_deployed_changed() {
    let emulator = Emulator::start();
    let file = emulator.write("topology.toml", &standard());
    let saved = emulator.dir.path().join("plan.json");
    emulator
        .plinth(&["plan", "-t", path_str(&file), "--out", path_str(&saved)])
        .expect(0);
    // something else changes the accounts: here, an apply of the same topology
    emulator
        .plinth(&["apply", "-t", path_str(&file), "--yes"])
        .expect(0);
    let run = emulator.plinth(&["apply", "-t", path_str(&file), path_str(&saved), "--yes"]);
    run.expect(1);
    run.assert_stderr("what is deployed changed since the plan was saved");
    run.assert_stderr("111111111111/us-east-1/acme-primary: was absent");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_saved_plan_is_refused_when_a_stack_was_updated_since() {
    let (emulator, file) = Emulator::applied(&standard());
    // a change that the saved plan will carry: production deploys to us-east-1 as well
    let grown = standard().replacen(
        "regions = [\"eu-west-1\"]",
        "regions = [\"eu-west-1\", \"us-east-1\"]",
        1,
    );
    assert_ne!(grown, standard());
    let file = emulator.write(path_str(&file), &grown);
    let saved = emulator.dir.path().join("plan.json");
    emulator
        .plinth(&["plan", "-t", path_str(&file), "--out", path_str(&saved)])
        .expect(0);
    // someone updates a stack of the foundation that existed when the plan was made; its
    // status stays UPDATE_COMPLETE, only its last update time tells
    let cfn = aws_sdk_cloudformation::Client::new(&emulator.sdk("111111111111", "us-west-2").await);
    let stack = cfn
        .describe_stacks()
        .stack_name("acme-regional")
        .send()
        .await
        .unwrap();
    let stack = &stack.stacks()[0];
    let template = cfn
        .get_template()
        .stack_name("acme-regional")
        .send()
        .await
        .unwrap();
    let mut tags = stack.tags().to_vec();
    tags.push(
        aws_sdk_cloudformation::types::Tag::builder()
            .key("owner")
            .value("someone")
            .build(),
    );
    cfn.update_stack()
        .stack_name("acme-regional")
        .template_body(template.template_body().unwrap())
        .set_parameters(Some(stack.parameters().to_vec()))
        .set_tags(Some(tags))
        .capabilities(aws_sdk_cloudformation::types::Capability::CapabilityNamedIam)
        .send()
        .await
        .unwrap();
    let run = emulator.plinth(&["apply", "-t", path_str(&file), path_str(&saved), "--yes"]);
    run.expect(1);
    run.assert_stderr("what is deployed changed since the plan was saved");
    run.assert_stderr("111111111111/us-west-2/acme-regional: was UPDATE_COMPLETE@");
}

#[test]
fn a_removed_target_plans_its_region_for_deletion_and_names_its_unreachable_account() {
    let (emulator, _) = Emulator::applied(&standard());
    let without_production = topology(
        &[
            ("development", &["us-east-1", "us-west-2"]),
            ("testing", &["us-west-2"]),
        ],
        "",
    );
    let file = emulator.write("topology.toml", &without_production);
    let run = emulator.plinth(&["plan", "-t", path_str(&file)]);
    run.expect(0);
    run.assert_stderr("- delete  acme-regional (111111111111 eu-west-1)");
    run.assert_stderr("warning: account 444444444444 is no longer in the topology, so plinth cannot reach its acme-deploy stack");
}

/// A foundation of `accounts` target accounts in six regions, reached with the default role.
fn many_accounts(accounts: usize, extra: &str) -> String {
    use std::fmt::Write as _;
    let mut text = format!(
        "name = \"acme\"\n{extra}\n[defaults]\nrole_arn = \"arn:aws:iam::{{account}}:role/plinth-operator\"\n\n[build]\naccount = \"111111111111\"\nregion = \"us-east-1\"\nprofile = \"build\"\n"
    );
    for i in 0..accounts {
        let _ = write!(
            text,
            "\n[[targets]]\nname = \"t{i}\"\naccount = \"{:012}\"\nregions = [\"us-east-1\", \"us-east-2\", \"us-west-2\", \"eu-west-1\", \"eu-central-1\", \"ap-southeast-2\"]\n",
            700_000_000_000u64 + i as u64
        );
    }
    text
}

#[test]
fn a_hundred_accounts_by_name_are_refused_at_validate_and_plan_naming_the_limit() {
    let emulator = Emulator::start();
    let file = emulator.write("topology.toml", &many_accounts(100, ""));
    let validate = emulator.plinth(&["validate", "-t", path_str(&file)]);
    validate.expect(2);
    validate.assert_stderr("error: the bucket policy acme-artifacts-111111111111-us-east-1 of acme-primary (111111111111 us-east-1) pass 2:");
    validate.assert_stderr(
        "of 20 KB, over AWS's limit, so apply would fail halfway; set `organization_id`",
    );
    validate.assert_stderr("nothing was sent to AWS");
    let plan = emulator.plinth(&["plan", "-t", path_str(&file)]);
    plan.expect(1);
    plan.assert_stderr("of 20 KB, over AWS's limit");
    let apply = emulator.plinth(&["apply", "-t", path_str(&file), "--yes"]);
    apply.expect(1);
    apply.assert_stderr("nothing was changed");
}

#[test]
fn three_hundred_accounts_granted_by_organization_plan_apply_plan_and_destroy() {
    let _heavy = crate::common::heavy();
    let emulator = Emulator::start();
    let file = emulator.write(
        "topology.toml",
        &many_accounts(300, "organization_id = \"o-a1b2c3d4e5\""),
    );
    emulator
        .plinth(&["validate", "-t", path_str(&file)])
        .expect(0);
    let plan = emulator.plinth(&["plan", "-t", path_str(&file), "--detailed-exitcode"]);
    plan.expect(2);
    plan.assert_stderr("Plan: 306 to create");
    emulator
        .plinth(&["apply", "-t", path_str(&file), "--yes"])
        .expect(0);
    let converged = emulator.plinth(&["plan", "-t", path_str(&file), "--detailed-exitcode"]);
    converged.expect(0);
    // reads grow with accounts plus regions: one DescribeStacks per target account and per
    // region of the build account, one GetCallerIdentity per account, one GetTemplate per stack
    converged.assert_stderr("read 306 stacks in 301 accounts and 6 regions with");
    emulator
        .plinth(&[
            "destroy",
            "-t",
            path_str(&file),
            "--yes",
            "--allow-destructive",
        ])
        .expect(0);
    let after = emulator.plinth(&["plan", "-t", path_str(&file), "--detailed-exitcode"]);
    after.expect(2);
    after.assert_stderr("Plan: 306 to create");
}

/// The plan's own view in a `plan` run's stderr: without the line on what was read before it,
/// and the line on where it was saved after it.
fn plan_view(stderr: &str) -> String {
    stderr
        .lines()
        .filter(|l| !l.starts_with("read ") && !l.starts_with("saved the plan to "))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn show_draws_a_saved_plan_as_plan_drew_it_and_refuses_one_it_cannot_trust() {
    let emulator = Emulator::start();
    let file = emulator.write("topology.toml", &standard());
    let file = path_str(&file).to_owned();
    let saved = emulator.dir.path().join("plan.json");
    let saved = path_str(&saved).to_owned();

    // Human: what plan printed when it saved the plan is what show prints.
    let planned = emulator.plinth(&["plan", "-t", &file, "--out", &saved]);
    planned.expect(0);
    let shown = emulator.plinth(&["show", &saved]);
    shown.expect(0);
    assert_eq!(
        shown.stderr.trim_end(),
        plan_view(&planned.stderr).trim_end()
    );
    assert!(shown.stdout.is_empty());

    // JSON and Markdown: the same document on stdout. The plan is made again for each, so the
    // saved plan is saved again too (what is deployed did not change).
    for format in ["json", "markdown"] {
        let planned = emulator.plinth(&["plan", "-t", &file, "--format", format, "--out", &saved]);
        planned.expect(0);
        let shown = emulator.plinth(&["show", &saved, "--format", format]);
        shown.expect(0);
        assert_eq!(shown.stdout, planned.stdout, "{format}");
    }
    let json = emulator.plinth(&["show", &saved, "--json"]);
    assert_eq!(json.json()["plinth_version"], env!("CARGO_PKG_VERSION"));
    let markdown = emulator
        .plinth(&["show", &saved, "--format", "markdown"])
        .stdout;
    assert!(markdown.starts_with("## plinth plan: `acme`"), "{markdown}");

    // No credentials needed: show reads nothing but the file.
    let offline = emulator
        .command(&["show", &saved])
        .env("AWS_CONFIG_FILE", emulator.dir.path().join("nothing"))
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .output()
        .unwrap();
    assert_eq!(offline.status.code(), Some(0));

    // Another version's plan, and a damaged one: exit 1, with what is wrong.
    let text = fs_err::read_to_string(&saved).unwrap();
    let mut other: Value = serde_json::from_str(&text).unwrap();
    other["plinth_version"] = "0.0.9".into();
    let other_file = emulator.write("other.json", &other.to_string());
    let refused = emulator.plinth(&["show", path_str(&other_file)]);
    refused.expect(1);
    refused.assert_stderr("was saved by plinth 0.0.9 (plan format 1)");
    refused.assert_stderr(format!("this is plinth {}", env!("CARGO_PKG_VERSION")));
    refused.assert_stderr("plinth plan --out FILE");
    let mut newer = other.clone();
    newer["format_version"] = 7.into();
    let newer_file = emulator.write("newer.json", &newer.to_string());
    emulator
        .plinth(&["show", path_str(&newer_file)])
        .expect(1)
        .assert_stderr("(plan format 7)");
    let damaged = emulator.write("damaged.json", &text[..text.len() / 2]);
    emulator
        .plinth(&["show", path_str(&damaged)])
        .expect(1)
        .assert_stderr("is not a plan plinth can read: it is damaged, or not a plan");
    let wrong_shape = emulator.write(
        "shape.json",
        &format!(
            "{{\"format_version\": 1, \"plinth_version\": \"{}\", \"changes\": 3}}",
            env!("CARGO_PKG_VERSION")
        ),
    );
    emulator
        .plinth(&["show", path_str(&wrong_shape)])
        .expect(1)
        .assert_stderr(format!(
            "it says plinth {} wrote it",
            env!("CARGO_PKG_VERSION")
        ));
    // apply refuses another version's plan too, before it reads AWS.
    emulator
        .plinth(&["apply", "-t", &file, path_str(&other_file), "--yes"])
        .assert_stderr("was saved by plinth 0.0.9");
}
