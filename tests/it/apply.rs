//! `plinth apply` and `plinth destroy` against the emulator, checking the resources themselves.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::Stdio;

use crate::common::{BUILD, Emulator, artifact_key_arn, default_key, path_str, standard, topology};
use serde_json::Value;

const REGIONS: &[&str] = &["us-east-1", "us-west-2", "eu-west-1", "ap-southeast-2"];
pub(crate) const TARGETS: &[&str] = &[
    "222222222222",
    "333333333333",
    "444444444444",
    "555555555555",
];

async fn bucket_policy(emulator: &Emulator, region: &str, bucket: &str) -> Value {
    let s3 = emulator.s3(BUILD, region).await;
    let policy = s3.get_bucket_policy().bucket(bucket).send().await.unwrap();
    serde_json::from_str(policy.policy().unwrap()).unwrap()
}

/// Every role ARN a policy grants to, as written.
fn principals(policy: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for statement in policy["Statement"].as_array().unwrap() {
        if statement["Effect"] != "Allow" {
            continue;
        }
        for p in statement["Principal"]["AWS"]
            .as_array()
            .into_iter()
            .flatten()
        {
            out.insert(p.as_str().unwrap().to_owned());
        }
    }
    out
}

async fn role_exists(emulator: &Emulator, account: &str, role: &str) -> bool {
    let iam = aws_sdk_iam::Client::new(&emulator.sdk(account, "us-east-1").await);
    iam.get_role().role_name(role).send().await.is_ok()
}

/// Checks the whole foundation for the given accounts and regions.
pub(crate) async fn assert_converged(emulator: &Emulator, accounts: &[&str], regions: &[&str]) {
    // the sync function and its log group, which destroy must remove too
    let build = emulator.sdk(BUILD, "us-east-1").await;
    let function = aws_sdk_lambda::Client::new(&build)
        .get_function()
        .function_name("acme-artifact-sync")
        .send()
        .await;
    assert!(function.is_ok(), "{function:?}");
    let groups = aws_sdk_cloudwatchlogs::Client::new(&build)
        .describe_log_groups()
        .log_group_name_prefix("/aws/lambda/acme-artifact-sync")
        .send()
        .await
        .unwrap();
    assert_eq!(groups.log_groups().len(), 1, "{groups:?}");
    for region in regions {
        let s3 = emulator.s3(BUILD, region).await;
        let kms = aws_sdk_kms::Client::new(&emulator.sdk(BUILD, region).await);
        let bucket = format!("acme-artifacts-{BUILD}-{region}");
        let encryption = s3
            .get_bucket_encryption()
            .bucket(&bucket)
            .send()
            .await
            .unwrap();
        let rule = &encryption
            .server_side_encryption_configuration()
            .unwrap()
            .rules()[0];
        let default = rule.apply_server_side_encryption_by_default().unwrap();
        assert_eq!(default.sse_algorithm().as_str(), "aws:kms");
        let key_id = default.kms_master_key_id().unwrap().to_owned();
        let key = kms.describe_key().key_id(&key_id).send().await.unwrap();
        let key_region = key
            .key_metadata()
            .unwrap()
            .arn()
            .unwrap()
            .split(':')
            .nth(3)
            .unwrap()
            .to_owned();
        assert_eq!(
            key_region, *region,
            "bucket {bucket} is encrypted with a key of its own region"
        );
        let versioning = s3
            .get_bucket_versioning()
            .bucket(&bucket)
            .send()
            .await
            .unwrap();
        assert_eq!(
            versioning
                .status()
                .map(aws_sdk_s3::types::BucketVersioningStatus::as_str),
            Some("Enabled"),
            "{bucket}"
        );
        let policy = bucket_policy(emulator, region, &bucket).await;
        let tls = &policy["Statement"][0];
        assert_eq!(tls["Effect"], "Deny");
        assert_eq!(tls["Condition"]["Bool"]["aws:SecureTransport"], "false");
        let granted = principals(&policy);
        for account in accounts {
            for role in ["acme-codepipeline", "acme-cloudformation"] {
                assert!(
                    granted.contains(&format!("arn:aws:iam::{account}:role/{role}")),
                    "{bucket} grants {account} {role}: {granted:?}"
                );
            }
        }
        assert_eq!(granted.len(), accounts.len() * 2, "{bucket}: {granted:?}");
        let key_policy: Value = serde_json::from_str(
            kms.get_key_policy()
                .key_id(&key_id)
                .policy_name("default")
                .send()
                .await
                .unwrap()
                .policy()
                .unwrap(),
        )
        .unwrap();
        let text = key_policy.to_string();
        for account in accounts {
            assert!(
                text.contains(&format!("arn:aws:iam::{account}:root")),
                "key of {region} names {account}"
            );
        }
    }
    for account in accounts {
        assert!(
            role_exists(emulator, account, "acme-codepipeline").await,
            "{account}"
        );
        assert!(
            role_exists(emulator, account, "acme-cloudformation").await,
            "{account}"
        );
    }
}

/// Every stack in every account and region the tests use, as `account region name`.
pub(crate) async fn all_stacks(emulator: &Emulator) -> Vec<String> {
    let mut out = Vec::new();
    for account in std::iter::once(&BUILD).chain(TARGETS) {
        for region in REGIONS {
            let cfn = aws_sdk_cloudformation::Client::new(&emulator.sdk(account, region).await);
            let stacks = cfn.describe_stacks().send().await.unwrap();
            out.extend(
                stacks
                    .stacks()
                    .iter()
                    .filter_map(|s| s.stack_name())
                    .map(|name| format!("{account} {region} {name}")),
            );
        }
    }
    out
}

/// The UTC date `days` from now, as `YYYY-MM-DD`, without a date library: the KMS deletion
/// date plinth reports starts with it.
fn chrono_free_date_in_days(days: u64) -> String {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + days * 86_400;
    // civil-from-days (Howard Hinnant's algorithm)
    let z = i64::try_from(seconds / 86_400).unwrap() + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// Nothing of the foundation remains: no stack, bucket, deploy role, key alias, sync function,
/// log group or pipeline in any account or region, and every key it made is pending deletion.
pub(crate) async fn assert_nothing_left(emulator: &Emulator) {
    let stacks = all_stacks(emulator).await;
    assert!(stacks.is_empty(), "stacks left: {stacks:?}");
    for region in REGIONS {
        let kms = aws_sdk_kms::Client::new(&emulator.sdk(BUILD, region).await);
        let aliases = kms.list_aliases().send().await.unwrap();
        let ours: Vec<&str> = aliases
            .aliases()
            .iter()
            .filter_map(|a| a.alias_name())
            .filter(|n| n.starts_with("alias/acme-"))
            .collect();
        assert!(ours.is_empty(), "aliases left in {region}: {ours:?}");
        for key in kms.list_keys().send().await.unwrap().keys() {
            let metadata = kms
                .describe_key()
                .key_id(key.key_id().unwrap())
                .send()
                .await
                .unwrap();
            let metadata = metadata.key_metadata().unwrap();
            assert_eq!(
                metadata.key_state(),
                Some(&aws_sdk_kms::types::KeyState::PendingDeletion),
                "key {} in {region}",
                metadata.key_id()
            );
            assert!(metadata.deletion_date().is_some());
        }
    }
    let build = emulator.sdk(BUILD, "us-east-1").await;
    let functions = aws_sdk_lambda::Client::new(&build)
        .list_functions()
        .send()
        .await
        .unwrap();
    let names: Vec<&str> = functions
        .functions()
        .iter()
        .filter_map(|f| f.function_name())
        .collect();
    assert!(names.is_empty(), "functions left: {names:?}");
    let groups = aws_sdk_cloudwatchlogs::Client::new(&build)
        .describe_log_groups()
        .send()
        .await
        .unwrap();
    let names: Vec<&str> = groups
        .log_groups()
        .iter()
        .filter_map(|g| g.log_group_name())
        .collect();
    assert!(names.is_empty(), "log groups left: {names:?}");
    let pipelines = aws_sdk_codepipeline::Client::new(&build)
        .list_pipelines()
        .send()
        .await
        .unwrap();
    assert!(
        pipelines.pipelines().is_empty(),
        "pipelines left: {:?}",
        pipelines.pipelines()
    );
    let mut accounts = vec![BUILD];
    accounts.extend(TARGETS);
    for account in &accounts {
        let s3 = emulator.s3(account, "us-east-1").await;
        let buckets = s3.list_buckets().send().await.unwrap();
        let names: Vec<&str> = buckets.buckets().iter().filter_map(|b| b.name()).collect();
        assert!(names.is_empty(), "buckets left in {account}: {names:?}");
        let iam = aws_sdk_iam::Client::new(&emulator.sdk(account, "us-east-1").await);
        let roles = iam.list_roles().send().await.unwrap();
        let left: Vec<&str> = roles
            .roles()
            .iter()
            .map(aws_sdk_iam::types::Role::role_name)
            .filter(|n| n.starts_with("acme-"))
            .collect();
        assert!(left.is_empty(), "roles left in {account}: {left:?}");
        let policies = iam
            .list_policies()
            .scope(aws_sdk_iam::types::PolicyScopeType::Local)
            .send()
            .await
            .unwrap();
        assert!(policies.policies().is_empty(), "policies left in {account}");
    }
}

/// Puts an object with several versions and a delete marker into a bucket, encrypted with the
/// bucket's own key as its policy demands.
async fn fill(emulator: &Emulator, region: &str, bucket: &str) {
    let s3 = emulator.s3(BUILD, region).await;
    let key = default_key(&s3, bucket).await;
    for body in ["one", "two"] {
        s3.put_object()
            .bucket(bucket)
            .key("pipeline/App/a b+c.zip")
            .body(body.as_bytes().to_vec().into())
            .server_side_encryption(aws_sdk_s3::types::ServerSideEncryption::AwsKms)
            .ssekms_key_id(&key)
            .send()
            .await
            .unwrap();
    }
    s3.delete_object()
        .bucket(bucket)
        .key("pipeline/App/a b+c.zip")
        .send()
        .await
        .unwrap();
    s3.put_object()
        .bucket(bucket)
        .key("other")
        .body(b"x".to_vec().into())
        .server_side_encryption(aws_sdk_s3::types::ServerSideEncryption::AwsKms)
        .ssekms_key_id(&key)
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fresh_apply_converges_and_destroy_removes_everything() {
    let emulator = Emulator::start();
    let file = emulator.write("topology.toml", &standard());
    let run = emulator.plinth(&["apply", "-t", path_str(&file), "--yes"]);
    run.expect(0);
    run.assert_stderr("Apply complete: 9 changes succeeded.");
    assert_converged(
        &emulator,
        &TARGETS[..3],
        &["us-east-1", "us-west-2", "eu-west-1"],
    )
    .await;
    emulator
        .plinth(&["plan", "-t", path_str(&file), "--detailed-exitcode"])
        .expect(0);

    fill(
        &emulator,
        "us-west-2",
        &format!("acme-artifacts-{BUILD}-us-west-2"),
    )
    .await;
    fill(
        &emulator,
        "us-east-1",
        &format!("acme-build-{BUILD}-us-east-1"),
    )
    .await;
    let run = emulator.plinth(&[
        "destroy",
        "-t",
        path_str(&file),
        "--yes",
        "--allow-destructive",
    ]);
    run.expect(0);
    run.assert_stderr("emptied bucket acme-artifacts-111111111111-us-west-2 (4 object versions and delete markers)");
    for region in ["us-east-1", "us-west-2", "eu-west-1"] {
        run.assert_stderr(format!(
            "({BUILD} {region}) is pending deletion until {}",
            // the template's seven-day window, from today
            (chrono_free_date_in_days(7))
        ));
    }
    assert_nothing_left(&emulator).await;
    let again = emulator.plinth(&[
        "destroy",
        "-t",
        path_str(&file),
        "--yes",
        "--allow-destructive",
    ]);
    again.expect(0);
    again.assert_stderr("Nothing to destroy.");
}

#[tokio::test(flavor = "multi_thread")]
async fn adding_an_account_then_adding_and_removing_a_region() {
    let (emulator, _) = Emulator::applied(&standard());

    // a fourth account: its deploy stack, then the grants in every bucket policy
    let four = topology(
        &[
            ("development", &["us-east-1", "us-west-2"]),
            ("testing", &["us-west-2"]),
            ("production", &["eu-west-1"]),
            ("staging", &["us-east-1"]),
        ],
        "",
    );
    let file = emulator.write("topology.toml", &four);
    let plan = emulator.plinth(&["plan", "-t", path_str(&file)]);
    plan.expect(0);
    plan.assert_stderr("+ create  acme-deploy (555555555555 us-east-1) pass 1");
    plan.assert_stderr("~ update  acme-primary (111111111111 us-east-1) pass 2");
    emulator
        .plinth(&["apply", "-t", path_str(&file), "--yes"])
        .expect(0);
    assert_converged(&emulator, TARGETS, &["us-east-1", "us-west-2", "eu-west-1"]).await;
    emulator
        .plinth(&["plan", "-t", path_str(&file), "--detailed-exitcode"])
        .expect(0);

    // a new region: its regional stack, then the deploy stacks name its key
    let five = four.replacen(
        "regions = [\"us-east-1\"]\nprofile = \"staging\"",
        "regions = [\"us-east-1\", \"ap-southeast-2\"]\nprofile = \"staging\"",
        1,
    );
    let file = emulator.write("topology.toml", &five);
    let plan = emulator.plinth(&["plan", "-t", path_str(&file)]);
    plan.assert_stderr("+ create  acme-regional (111111111111 ap-southeast-2) pass 1");
    emulator
        .plinth(&["apply", "-t", path_str(&file), "--yes"])
        .expect(0);
    assert_converged(&emulator, TARGETS, REGIONS).await;
    let deploy_roles = aws_sdk_iam::Client::new(&emulator.sdk("555555555555", "us-east-1").await);
    let policy = deploy_roles
        .get_role_policy()
        .role_name("acme-codepipeline")
        .policy_name("deploy")
        .send()
        .await
        .unwrap();
    let document = urlencoding_decode(policy.policy_document());
    serde_json::from_str::<Value>(&document).expect("the policy document is JSON");
    let regional_key = artifact_key_arn(&emulator, "ap-southeast-2").await;
    assert!(
        document.contains(&regional_key),
        "the deploy role may use the new region's key {regional_key}: {document}"
    );
    emulator
        .plinth(&["plan", "-t", path_str(&file), "--detailed-exitcode"])
        .expect(0);

    // and gone again
    let file = emulator.write("topology.toml", &four);
    let run = emulator.plinth(&[
        "apply",
        "-t",
        path_str(&file),
        "--yes",
        "--allow-destructive",
    ]);
    run.expect(0);
    run.assert_stderr("acme-regional (111111111111 ap-southeast-2): delete started");
    let cfn = aws_sdk_cloudformation::Client::new(&emulator.sdk(BUILD, "ap-southeast-2").await);
    assert!(
        cfn.describe_stacks()
            .send()
            .await
            .unwrap()
            .stacks()
            .is_empty()
    );
    emulator
        .plinth(&["plan", "-t", path_str(&file), "--detailed-exitcode"])
        .expect(0);
    emulator
        .plinth(&[
            "destroy",
            "-t",
            path_str(&file),
            "--yes",
            "--allow-destructive",
        ])
        .expect(0);
    assert_nothing_left(&emulator).await;
}

fn urlencoding_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&text[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_role_conflict_fails_only_its_branch_and_a_rerun_converges() {
    let emulator = Emulator::start();
    let iam = aws_sdk_iam::Client::new(&emulator.sdk("333333333333", "us-east-1").await);
    let file = emulator.write("topology.toml", &standard());
    // A conflict that exists when plinth reads (a role another stack holds) is refused up
    // front, before anything changes.
    emulator
        .stack_holding_role("333333333333", "someone-else", "acme-cloudformation")
        .await;
    let refused = emulator.plinth(&["apply", "-t", path_str(&file), "--yes"]);
    refused.expect(1);
    refused.assert_stderr("role acme-cloudformation already exists in account 333333333333");
    refused.assert_stderr("nothing was changed");
    let stacks = all_stacks(&emulator).await;
    assert_eq!(
        stacks,
        ["333333333333 us-east-1 someone-else"],
        "the refused apply created nothing"
    );
    let other =
        aws_sdk_cloudformation::Client::new(&emulator.sdk("333333333333", "us-east-1").await);
    other
        .delete_stack()
        .stack_name("someone-else")
        .send()
        .await
        .unwrap();

    // Save a clean plan, then plant the conflict: the saved plan's fingerprints do not cover IAM,
    // so apply goes ahead and meets the conflict at create time, as it would in a race.
    let saved = emulator.dir.path().join("plan.json");
    emulator
        .plinth(&["plan", "-t", path_str(&file), "--out", path_str(&saved)])
        .expect(0);
    iam.create_role()
        .role_name("acme-cloudformation")
        .assume_role_policy_document("{}")
        .send()
        .await
        .unwrap();
    let run = emulator.plinth(&["apply", "-t", path_str(&file), path_str(&saved), "--yes"]);
    run.expect(1);
    let stderr = &run.stderr;
    assert!(
        stderr.contains("failed acme-deploy (333333333333 us-east-1) pass 1: failed after"),
        "{stderr}"
    );
    assert!(stderr.contains("ended in ROLLBACK_COMPLETE"), "{stderr}");
    assert!(
        stderr.contains("acme-cloudformation"),
        "the reason names the role: {stderr}"
    );
    assert!(
        stderr.contains("ok acme-deploy (222222222222 us-east-1) pass 1"),
        "{stderr}"
    );
    assert!(
        stderr.contains("ok acme-deploy (444444444444 us-east-1) pass 1"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "skipped, because acme-deploy (333333333333 us-east-1) pass 1 did not succeed"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("apply failed: 5 succeeded, 1 failed, 3 skipped, 0 not started"),
        "{stderr}"
    );

    // the failed stack plans as replace once the conflict is gone
    iam.delete_role()
        .role_name("acme-cloudformation")
        .send()
        .await
        .unwrap();
    let plan = emulator.plinth(&["plan", "-t", path_str(&file)]);
    plan.assert_stderr("-/+ replace acme-deploy (333333333333 us-east-1) pass 1");
    plan.assert_stderr("ROLLBACK_COMPLETE");
    emulator
        .plinth(&["apply", "-t", path_str(&file), "--yes"])
        .expect(0);
    assert_converged(
        &emulator,
        &TARGETS[..3],
        &["us-east-1", "us-west-2", "eu-west-1"],
    )
    .await;
    emulator
        .plinth(&["plan", "-t", path_str(&file), "--detailed-exitcode"])
        .expect(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn destroy_after_a_failed_apply_leaves_nothing() {
    let emulator = Emulator::start();
    let iam = aws_sdk_iam::Client::new(&emulator.sdk("444444444444", "us-east-1").await);
    let file = emulator.write("topology.toml", &standard());
    let saved = emulator.dir.path().join("plan.json");
    emulator
        .plinth(&["plan", "-t", path_str(&file), "--out", path_str(&saved)])
        .expect(0);
    iam.create_role()
        .role_name("acme-codepipeline")
        .assume_role_policy_document("{}")
        .send()
        .await
        .unwrap();
    emulator
        .plinth(&["apply", "-t", path_str(&file), path_str(&saved), "--yes"])
        .expect(1);
    iam.delete_role()
        .role_name("acme-codepipeline")
        .send()
        .await
        .unwrap();
    fill(
        &emulator,
        "eu-west-1",
        &format!("acme-artifacts-{BUILD}-eu-west-1"),
    )
    .await;
    let run = emulator.plinth(&[
        "destroy",
        "-t",
        path_str(&file),
        "--yes",
        "--allow-destructive",
    ]);
    run.expect(0);
    assert!(
        run.stderr
            .contains("acme-deploy (444444444444 us-east-1): delete started"),
        "the ROLLBACK_COMPLETE stack goes too: {}",
        run.stderr
    );
    assert_nothing_left(&emulator).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_apply_killed_between_waves_is_converged_by_the_next_and_destroyed() {
    let emulator = Emulator::start();
    let file = emulator.write("topology.toml", &standard());
    let mut child = emulator
        .command(&[
            "apply",
            "-t",
            path_str(&file),
            "--yes",
            "--parallelism",
            "1",
        ])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut seen = Vec::new();
    for line in BufReader::new(stderr).lines() {
        let line = line.unwrap();
        seen.push(line.clone());
        // wave 1 is done and wave 2 has begun
        if line.starts_with("ok acme-deploy") {
            child.kill().unwrap(); // SIGKILL
            break;
        }
    }
    let status = child.wait().unwrap();
    assert!(!status.success(), "killed: {seen:?}");
    let plan = emulator.plinth(&[
        "plan",
        "-t",
        path_str(&file),
        "--json",
        "--detailed-exitcode",
    ]);
    plan.expect(2);
    let run = emulator.plinth(&["apply", "-t", path_str(&file), "--yes"]);
    run.expect(0);
    assert_converged(
        &emulator,
        &TARGETS[..3],
        &["us-east-1", "us-west-2", "eu-west-1"],
    )
    .await;
    emulator
        .plinth(&["plan", "-t", path_str(&file), "--detailed-exitcode"])
        .expect(0);

    // killed again, this time destroy cleans up the half-applied foundation
    let file2 = emulator.write(
        "grown.toml",
        &topology(
            &[
                ("development", &["us-east-1", "us-west-2"]),
                ("testing", &["us-west-2"]),
                ("production", &["eu-west-1", "ap-southeast-2"]),
            ],
            "",
        ),
    );
    let mut child = emulator
        .command(&[
            "apply",
            "-t",
            path_str(&file2),
            "--yes",
            "--parallelism",
            "1",
        ])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut killed = false;
    for line in BufReader::new(child.stderr.take().unwrap()).lines() {
        if line
            .unwrap()
            .starts_with("ok acme-regional (111111111111 ap-southeast-2)")
        {
            child.kill().unwrap();
            killed = true;
            break;
        }
    }
    let status = child.wait().unwrap();
    assert!(killed, "the apply never created the new regional stack");
    assert_eq!(
        status.code(),
        None,
        "the apply ended by itself ({status}) before it was killed"
    );
    // the kill left the grown foundation half applied: its new regional stack exists, and the
    // deploy stacks that must name its key are not yet updated
    let stacks = all_stacks(&emulator).await;
    assert!(
        stacks.contains(&format!("{BUILD} ap-southeast-2 acme-regional")),
        "{stacks:?}"
    );
    emulator
        .plinth(&["plan", "-t", path_str(&file2), "--detailed-exitcode"])
        .expect(2);
    emulator
        .plinth(&[
            "destroy",
            "-t",
            path_str(&file),
            "--yes",
            "--allow-destructive",
        ])
        .expect(0);
    assert_nothing_left(&emulator).await;
}

#[test]
fn bad_input_never_touches_aws() {
    let emulator = Emulator::start();
    let file = emulator.write(
        "topology.toml",
        &standard().replacen("account = \"222222222222\"", "account = 222222222222", 1),
    );
    for command in ["plan", "apply", "destroy", "validate"] {
        let run = emulator.plinth(
            &[command, "-t", path_str(&file), "--yes"]
                .iter()
                .copied()
                .filter(|a| command != "validate" && command != "plan" || *a != "--yes")
                .collect::<Vec<_>>(),
        );
        run.expect(2);
        run.assert_stderr("nothing was sent to AWS");
    }
    let log = fs_err::read_to_string(emulator.dir.path().join("emulator.log")).unwrap();
    assert!(
        !log.contains("POST / "),
        "no request reached the emulator:\n{log}"
    );
    let missing = emulator.plinth(&["plan", "-t", "nowhere.toml"]);
    missing.expect(2);
    missing.assert_stderr("cannot read the topology file nowhere.toml");
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_without_a_terminal_or_yes_refuses() {
    let emulator = Emulator::start();
    let file = emulator.write("topology.toml", &standard());
    let run = emulator.plinth(&["apply", "-t", path_str(&file)]);
    run.expect(2);
    run.assert_stderr("refusing to apply without confirmation");
    run.assert_stderr("plinth apply --yes");
    let stacks = all_stacks(&emulator).await;
    assert!(stacks.is_empty(), "the refused apply created {stacks:?}");
}

/// Starts `plinth apply` on the standard topology, one stack at a time, and sends it `signals`
/// SIGINTs once a stack create has started (so that one is in flight, and plinth is waiting
/// for it); returns its exit code and everything it printed.
fn interrupted_apply(
    emulator: &Emulator,
    file: &std::path::Path,
    signals: usize,
) -> (Option<i32>, String) {
    let mut child = emulator
        .command(&["apply", "-t", path_str(file), "--yes", "--parallelism", "1"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id().to_string();
    let mut seen = Vec::new();
    let mut sent = false;
    for line in BufReader::new(child.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        if !sent && line.ends_with(": create started") {
            for _ in 0..signals {
                let status = std::process::Command::new("kill")
                    .args(["-INT", &pid])
                    .status()
                    .unwrap();
                assert!(status.success());
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            sent = true;
        }
        seen.push(line);
    }
    let status = child.wait().unwrap();
    assert!(sent, "the apply started no create: {seen:#?}");
    (status.code(), seen.join("\n"))
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_stops_new_work_and_the_next_apply_converges() {
    let emulator = Emulator::start();
    let file = emulator.write("topology.toml", &standard());
    let (code, stderr) = interrupted_apply(&emulator, &file, 1);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("interrupted: no new stacks start"),
        "{stderr}"
    );
    assert!(stderr.contains("apply interrupted:"), "{stderr}");
    assert!(stderr.contains("not started (interrupted)"), "{stderr}");
    let stacks = all_stacks(&emulator).await;
    assert!(
        !stacks.is_empty() && stacks.len() < 6,
        "some stacks, not all: {stacks:?}"
    );

    // what the interruption left is picked up by the next apply
    emulator
        .plinth(&["apply", "-t", path_str(&file), "--yes"])
        .expect(0);
    assert_converged(
        &emulator,
        &TARGETS[..3],
        &["us-east-1", "us-west-2", "eu-west-1"],
    )
    .await;
}

/// Whether a line starts with a UTC time to the second: `2026-12-02T10:00:00Z `.
fn stamped(line: &str) -> bool {
    let bytes = line.as_bytes();
    bytes.len() > 21
        && line[..20].chars().enumerate().all(|(i, c)| match i {
            4 | 7 => c == '-',
            10 => c == 'T',
            13 | 16 => c == ':',
            19 => c == 'Z',
            _ => c.is_ascii_digit(),
        })
        && bytes[20] == b' '
}

#[test]
fn in_ci_every_event_line_carries_its_time_and_the_run_ends_with_its_summary() {
    let emulator = Emulator::start();
    let file = emulator.write(
        "topology.toml",
        &topology(&[("development", &["us-east-1"])], ""),
    );
    let file = path_str(&file).to_owned();
    let output = emulator
        .command(&["apply", "-t", &file, "--yes"])
        .env("CI", "true")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let events: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains(" started") || l.contains(": done in "))
        .collect();
    assert!(!events.is_empty(), "{stderr}");
    assert!(events.iter().all(|l| stamped(l)), "{stderr}");
    assert!(
        stderr.contains("Apply complete:"),
        "the same summary ends the run: {stderr}"
    );

    // `--timestamps=false` turns them off in CI; `--timestamps` turns them on outside it.
    let output = emulator
        .command(&[
            "destroy",
            "-t",
            &file,
            "--yes",
            "--allow-destructive",
            "--timestamps=false",
        ])
        .env("CI", "true")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let events: Vec<&str> = stderr.lines().filter(|l| l.contains(" started")).collect();
    assert!(!events.is_empty(), "{stderr}");
    assert!(!events.iter().any(|l| stamped(l)), "{stderr}");
    let run = emulator.plinth(&["apply", "-t", &file, "--yes", "--timestamps"]);
    run.expect(0);
    assert!(
        run.stderr
            .lines()
            .filter(|l| l.contains(" started"))
            .all(stamped),
        "{}",
        run.stderr
    );
}
