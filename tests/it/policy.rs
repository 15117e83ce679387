//! plinth's own least privilege, on the emulator in enforcing mode: each account's
//! `plinth-operator` role holds only what `plinth policy --json` printed. The whole cycle passes
//! with it, every statement is the only one that allowed some call of the cycle, and a statement
//! taken away fails the step that needs it with AWS's AccessDenied, which plinth explains.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::common::{BUILD, Emulator, Run, artifact_key_arn, path_str, topology};

const PIPELINE: &str = r#"
[[pipelines]]
name = "service"
targets = ["development", "testing"]
artifact_sync = "lambda"
sources = [{ name = "App", key = "service/app.zip" }]
stack = "service"
"#;

fn foundation() -> String {
    topology(
        &[
            ("development", &["us-east-1", "us-west-2"]),
            ("testing", &["us-west-2"]),
        ],
        PIPELINE,
    )
}

/// Statements the other cycles need not exercise, since the first proves them: change sets
/// (imports of what was made by hand) and deleting objects (destroying buckets that hold some).
const PROVEN_BY_THE_FIRST_CYCLE: &[&str] = &[
    "plinth-apply/ChangeChangeSets",
    "plinth-apply/ChangeObjects",
];

/// Every printed statement, as the emulator labels it (account, `plinth-plan/Sid`).
fn printed_statements(printed: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for identity in printed["identities"].as_array().unwrap() {
        let account = identity["account"].as_str().unwrap().to_owned();
        for (document, policy) in [("plan", "plinth-plan"), ("apply", "plinth-apply")] {
            for statement in identity[document]["Statement"].as_array().unwrap() {
                let sid = statement["Sid"].as_str().unwrap();
                out.insert((account.clone(), format!("{policy}/{sid}")));
            }
        }
    }
    out
}

/// The account of an authorization's principal (`arn:aws:sts::ACCOUNT:assumed-role/…`).
fn account_of(decision: &Value) -> String {
    decision["principal"]
        .as_str()
        .unwrap()
        .split(':')
        .nth(4)
        .unwrap()
        .to_owned()
}

fn operator(decision: &Value) -> bool {
    decision["principal"]
        .as_str()
        .unwrap()
        .contains(":assumed-role/plinth-operator/")
}

/// Statements that were the only one to allow some call (account, label) -> an example call.
fn sole_allowers(decisions: &[Value]) -> BTreeMap<(String, String), String> {
    let mut out = BTreeMap::new();
    for decision in decisions.iter().filter(|d| operator(d)) {
        let statements = decision["statements"].as_array().unwrap();
        if decision["allowed"] == true && statements.len() == 1 {
            out.entry((
                account_of(decision),
                statements[0].as_str().unwrap().to_owned(),
            ))
            .or_insert_with(|| format!("{} on {}", decision["action"], decision["resources"][0]));
        }
    }
    out
}

fn refused(decisions: &[Value]) -> Vec<&Value> {
    decisions
        .iter()
        .filter(|d| operator(d) && d["allowed"] == false)
        .collect()
}

/// Every call `plan` made was allowed by a statement of the plan documents.
fn assert_plan_reads_only(during_plan: &[Value]) {
    for decision in during_plan.iter().filter(|d| operator(d)) {
        for statement in decision["statements"].as_array().unwrap() {
            assert!(
                statement.as_str().unwrap().starts_with("plinth-plan/"),
                "plan needed {decision}"
            );
        }
    }
}

/// Nothing was refused, and each printed statement (but `exempt`) was the only one to allow
/// some call; a unit's role (account `*`) counts its calls in any of `unit_accounts`.
fn assert_each_needed(
    decisions: &[Value],
    printed: &Value,
    exempt: &[&str],
    unit_accounts: &[String],
) {
    assert!(refused(decisions).is_empty(), "{:?}", refused(decisions));
    let sole = sole_allowers(decisions);
    let unneeded: Vec<_> = printed_statements(printed)
        .into_iter()
        .filter(|(account, label)| {
            let needed = if account == "*" {
                unit_accounts
                    .iter()
                    .any(|a| sole.contains_key(&(a.clone(), label.clone())))
            } else {
                sole.contains_key(&(account.clone(), label.clone()))
            };
            !needed && !exempt.contains(&label.as_str())
        })
        .collect();
    assert!(
        unneeded.is_empty(),
        "statements no call of the cycle needed alone: {unneeded:?}"
    );
}

/// One step of the cycle that did not end as it should: its command line and its run.
struct Failed {
    step: String,
    run: Run,
}

/// Runs a step; `Err` when it exits otherwise than `code`.
fn step(emulator: &Emulator, args: &[&str], code: i32) -> Result<Run, Failed> {
    let run = emulator.plinth(args);
    if run.code == code {
        Ok(run)
    } else {
        Err(Failed {
            step: args.join(" "),
            run,
        })
    }
}

/// The whole cycle on the foundation: validate; plan with an artifact bucket and two deploy
/// roles made by hand (imported); apply; plan clean; drift made by hand, shown, repaired; plan
/// clean; artifacts in the buckets; destroy (which empties them). The first step that does not
/// end as it should stops it. `mark` is called with each step's name before it runs.
async fn cycle(emulator: &Emulator, t: &str, mut mark: impl FnMut(&str)) -> Result<(), Failed> {
    mark("validate");
    step(emulator, &["validate", "-t", t], 0)?;

    // An artifact bucket made by hand before plinth: imported (change sets) with its object.
    let west = emulator.s3(BUILD, "us-west-2").await;
    let by_hand = "acme-artifacts-111111111111-us-west-2";
    west.create_bucket()
        .bucket(by_hand)
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::UsWest2)
                .build(),
        )
        .send()
        .await
        .unwrap();
    // A deploy role made by hand in each target account: imported too.
    for account in ["222222222222", "333333333333"] {
        aws_sdk_iam::Client::new(&emulator.sdk(account, "us-east-1").await)
            .create_role()
            .role_name("acme-cloudformation")
            .assume_role_policy_document(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"Service":"cloudformation.amazonaws.com"}}]}"#,
            )
            .send()
            .await
            .unwrap();
    }

    mark("plan");
    step(emulator, &["plan", "-t", t], 0)?;
    mark("apply");
    step(emulator, &["apply", "-t", t, "--yes"], 0)?;
    step(emulator, &["plan", "-t", t, "--detailed-exitcode"], 0)?;

    // Drift, made with the tests' administrator role, shown and repaired with the printed ones.
    west.delete_bucket_policy()
        .bucket(by_hand)
        .send()
        .await
        .unwrap();
    let kms = aws_sdk_kms::Client::new(&emulator.sdk(BUILD, "us-west-2").await);
    let key = artifact_key_arn(emulator, "us-west-2").await;
    kms.disable_key_rotation()
        .key_id(&key)
        .send()
        .await
        .unwrap();
    aws_sdk_iam::Client::new(&emulator.sdk("222222222222", "us-east-1").await)
        .put_role_policy()
        .role_name("acme-codepipeline")
        .policy_name("added-by-hand")
        .policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListAllMyBuckets","Resource":"*"}]}"#,
        )
        .send()
        .await
        .unwrap();
    mark("drift");
    step(emulator, &["plan", "-t", t, "--detailed-exitcode"], 2)?;
    step(emulator, &["apply", "-t", t, "--yes"], 0)?;
    step(emulator, &["plan", "-t", t, "--detailed-exitcode"], 0)?;

    // Artifacts in the buckets: destroy empties them.
    for (region, bucket) in [
        ("us-east-1", "acme-artifacts-111111111111-us-east-1"),
        ("us-west-2", by_hand),
    ] {
        let key = artifact_key_arn(emulator, region).await;
        emulator
            .s3(BUILD, region)
            .await
            .put_object()
            .bucket(bucket)
            .key("service/artifact.zip")
            .body(b"artifact".to_vec().into())
            .server_side_encryption(aws_sdk_s3::types::ServerSideEncryption::AwsKms)
            .ssekms_key_id(&key)
            .send()
            .await
            .unwrap();
    }
    mark("destroy");
    step(
        emulator,
        &["destroy", "-t", t, "--yes", "--allow-destructive"],
        0,
    )?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_whole_cycle_runs_with_only_the_printed_policies_and_each_statement_is_needed() {
    let (emulator, file, printed) = Emulator::enforcing(&foundation(), |_| {});
    let mut marks = Vec::new();
    let result = cycle(&emulator, path_str(&file), |name| {
        marks.push((name.to_owned(), emulator.authorizations().len()));
    })
    .await;
    if let Err(failed) = result {
        panic!("{} failed:\n{}", failed.step, failed.run.stderr);
    }

    // plan: reads only, each allowed by a plan statement
    let decisions = emulator.authorizations();
    let at = |name: &str| marks.iter().find(|(n, _)| n == name).unwrap().1;
    assert_plan_reads_only(&decisions[at("plan")..at("apply")]);
    assert_each_needed(&decisions, &printed, &[], &[]);
}

/// The printed policies without one statement (account, `policy/Sid`).
fn without_statement(printed: &mut Value, account: &str, label: &str) {
    let (policy, sid) = label.split_once('/').unwrap();
    let document = if policy == "plinth-plan" {
        "plan"
    } else {
        "apply"
    };
    for identity in printed["identities"].as_array_mut().unwrap() {
        if identity["account"] == account {
            identity[document]["Statement"]
                .as_array_mut()
                .unwrap()
                .retain(|s| s["Sid"] != sid);
        }
    }
}

/// Each (account, statement, the step that failed without it): a step failed, and plinth named
/// the account and the action refused, and said the printed policy allows it.
fn assert_refusals_named(results: Vec<(String, String, Option<Failed>)>) {
    let mut problems = Vec::new();
    for (account, label, failed) in results {
        let Some(failed) = failed else {
            problems.push(format!("{account} {label}: the cycle passed without it"));
            continue;
        };
        let said = &failed.run.stderr;
        let (policy, sid) = label.split_once('/').unwrap();
        let document = if policy == "plinth-plan" {
            "plan"
        } else {
            "apply"
        };
        let named = said.contains(&format!("account {account}'s credentials are not allowed"))
            && said.contains(&format!("statement {sid} of the {document} document"));
        if !named {
            problems.push(format!(
                "{account} {label}: `{}` failed without naming the refusal:\n{said}",
                failed.step
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

/// Runs `attempt` for each (account, statement) taken away, `parallel` at a time, and checks
/// that each failed, naming the refusal.
async fn each_taken_away<F, Fut>(statements: Vec<(String, String)>, parallel: usize, attempt: F)
where
    F: Fn(String, String) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Option<Failed>> + Send,
{
    let gate = std::sync::Arc::new(tokio::sync::Semaphore::new(parallel));
    let mut tasks = Vec::new();
    for (account, label) in statements {
        let gate = gate.clone();
        let attempt = attempt.clone();
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire().await.unwrap();
            let failed = attempt(account.clone(), label.clone()).await;
            (account, label, failed)
        }));
    }
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap());
    }
    assert_refusals_named(results);
}

/// The cycle with each printed statement taken away in turn, each on a fresh emulator: some
/// step fails, and plinth names the refusal. Several at a time.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[expect(
    clippy::await_holding_lock,
    reason = "the guard only keeps the heaviest tests apart; nothing this test awaits takes it"
)]
async fn every_printed_statement_taken_away_fails_the_cycle_with_a_refusal_it_names() {
    let _heavy = crate::common::heavy();
    let printed = Emulator::printed(&foundation());
    let statements: Vec<(String, String)> = printed_statements(&printed).into_iter().collect();
    assert!(statements.len() > 30, "{} statements", statements.len());
    each_taken_away(
        statements,
        crate::common::parallel(),
        |account, label| async move {
            let (emulator, file, _) = Emulator::enforcing(&foundation(), |granted| {
                without_statement(granted, &account, &label);
            });
            cycle(&emulator, path_str(&file), |_| {}).await.err()
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_statement_taken_away_fails_the_step_that_needs_it_and_plinth_says_what_is_missing() {
    let (emulator, file, printed) = Emulator::enforcing(&foundation(), |_| {});
    let t = path_str(&file);
    let without = |account: &str, policy: &str, sid: &str| {
        let identity = printed["identities"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["account"] == account)
            .unwrap();
        let mut document = identity[if policy == "plinth-plan" {
            "plan"
        } else {
            "apply"
        }]
        .clone();
        document["Statement"]
            .as_array_mut()
            .unwrap()
            .retain(|s| s["Sid"] != sid);
        document.to_string()
    };
    let put = |account: &'static str, policy: &'static str, document: String| {
        let emulator = &emulator;
        async move {
            aws_sdk_iam::Client::new(&emulator.sdk(account, "us-east-1").await)
                .put_role_policy()
                .role_name("plinth-operator")
                .policy_name(policy)
                .policy_document(document)
                .send()
                .await
                .unwrap();
        }
    };
    let restore = |account: &str, policy: &str| without(account, policy, "");
    // The roles exist once plinth has assumed them.
    emulator.plinth(&["plan", "-t", t]).expect(0);

    // A read plan needs: plan stops, exit 1, naming the account and the action.
    put(
        "333333333333",
        "plinth-plan",
        without("333333333333", "plinth-plan", "ReadRoles"),
    )
    .await;
    let run = emulator.plinth(&["plan", "-t", t]);
    run.expect(1)
        .assert_stderr("account 333333333333's credentials are not allowed iam:GetRole: the policy `plinth policy` prints for it allows it (target testing, statement ReadRoles of the plan document)");
    assert!(!run.stderr.contains("Plan:"), "{}", run.stderr);
    put(
        "333333333333",
        "plinth-plan",
        restore("333333333333", "plinth-plan"),
    )
    .await;

    // What CloudFormation does with the caller's credentials: the stack fails and rolls back.
    put(
        BUILD,
        "plinth-apply",
        without(BUILD, "plinth-apply", "ChangeBuckets"),
    )
    .await;
    emulator
        .plinth(&["apply", "-t", t, "--yes"])
        .expect(1)
        .assert_stderr("ROLLBACK_COMPLETE")
        .assert_stderr(
            "account 111111111111's credentials are not allowed s3:CreateBucket: the policy `plinth policy` prints for it allows it",
        );
    put(BUILD, "plinth-apply", restore(BUILD, "plinth-apply")).await;

    // iam:PassRole, limited to the services that take the roles.
    put(
        BUILD,
        "plinth-apply",
        without(BUILD, "plinth-apply", "PassRoles"),
    )
    .await;
    emulator
        .plinth(&["apply", "-t", t, "--yes"])
        .expect(1)
        .assert_stderr(
            "account 111111111111's credentials are not allowed iam:PassRole: the policy `plinth policy` prints for it allows it",
        );
    put(BUILD, "plinth-apply", restore(BUILD, "plinth-apply")).await;

    // Everything back: the apply converges and the plan is clean.
    let mark = emulator.authorizations().len();
    let run = emulator.plinth(&["apply", "-t", t, "--yes"]);
    let after = emulator.authorizations().split_off(mark);
    assert!(refused(&after).is_empty(), "{:?}", refused(&after));
    run.expect(0);
    emulator
        .plinth(&["plan", "-t", t, "--detailed-exitcode"])
        .expect(0);
}

/// An enforcing emulator with an organization of two units (two accounts each), the foundation
/// with deploy roles by StackSet and a pipeline, and the printed policies after `edit`.
async fn stack_set_foundation(
    edit: impl FnOnce(&mut Value),
) -> (Emulator, std::path::PathBuf, Value) {
    let emulator = Emulator::start_with(&["--enforce-iam"]);
    let org = crate::stack_sets::organization(&emulator, 2).await;
    let excluded = org.units[0].1[0].clone();
    let pipeline_account = org.units[1].1[0].clone();
    let file = emulator.write(
        "topology.toml",
        &crate::stack_sets::topology(&org, &excluded, Some(&pipeline_account)),
    );
    let printed = emulator.grant_printed(&file, edit).await;
    (emulator, file, printed)
}

/// The short cycle: validate, plan, apply, plan clean, destroy.
fn short_cycle(emulator: &Emulator, t: &str, mut mark: impl FnMut(&str)) -> Result<(), Failed> {
    step(emulator, &["validate", "-t", t], 0)?;
    mark("plan");
    step(emulator, &["plan", "-t", t], 0)?;
    mark("apply");
    step(emulator, &["apply", "-t", t, "--yes"], 0)?;
    step(emulator, &["plan", "-t", t, "--detailed-exitcode"], 0)?;
    step(
        emulator,
        &["destroy", "-t", t, "--yes", "--allow-destructive"],
        0,
    )?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn stack_set_mode_runs_with_only_the_printed_policies_and_each_statement_is_needed() {
    let (emulator, file, printed) = stack_set_foundation(|_| {}).await;
    let mut marks = Vec::new();
    if let Err(failed) = short_cycle(&emulator, path_str(&file), |name| {
        marks.push(emulator.authorizations().len());
        let _ = name;
    }) {
        panic!("{} failed:\n{}", failed.step, failed.run.stderr);
    }
    let decisions = emulator.authorizations();
    assert_plan_reads_only(&decisions[marks[0]..marks[1]]);
    assert_each_needed(&decisions, &printed, PROVEN_BY_THE_FIRST_CYCLE, &[]);
}

/// The organization's statements, and the build bucket's own objects that StackSet mode adds,
/// each taken away in turn: the StackSet cycle fails, naming the refusal.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[expect(
    clippy::await_holding_lock,
    reason = "the guard only keeps the heaviest tests apart; nothing this test awaits takes it"
)]
async fn every_statement_stack_set_mode_adds_taken_away_fails_its_cycle_with_a_refusal_it_names() {
    let _heavy = crate::common::heavy();
    let (_, _, printed) = stack_set_foundation(|_| {}).await;
    let organization = crate::orgs::MANAGEMENT;
    let statements: Vec<(String, String)> = printed_statements(&printed)
        .into_iter()
        .filter(|(account, label)| account == organization || label.contains("OwnObjects"))
        .collect();
    assert!(statements.len() >= 6, "{statements:?}");
    each_taken_away(
        statements,
        crate::common::parallel(),
        |account, label| async move {
            let (emulator, file, _) =
                stack_set_foundation(|granted| without_statement(granted, &account, &label)).await;
            short_cycle(&emulator, path_str(&file), |_| {}).err()
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_original_foundation_is_adopted_with_only_the_printed_policies() {
    let (emulator, file, _) = Emulator::enforcing(&crate::adopt::adopting(), |_| {});
    let made = emulator.original_foundation(crate::adopt::ORIGINAL);
    let t = path_str(&file);
    emulator.plinth(&["plan", "-t", t]).expect(0);
    emulator.plinth(&["apply", "-t", t, "--yes"]).expect(0);
    emulator
        .plinth(&["plan", "-t", t, "--detailed-exitcode"])
        .expect(0);
    crate::adopt::artifacts_and_keys_kept(&emulator, &made).await;
    let decisions = emulator.authorizations();
    assert!(refused(&decisions).is_empty(), "{:?}", refused(&decisions));
    // The old stacks, their alias and their roles are the adoption's own resources.
    let adopted: BTreeSet<&str> = decisions
        .iter()
        .filter(|d| operator(d) && d["allowed"] == true)
        .flat_map(|d| d["resources"].as_array().unwrap())
        .filter_map(Value::as_str)
        .filter(|r| {
            r.contains(":stack/CrossAccount")
                || r.ends_with("alias/codepipeline-crossaccounts")
                || r.contains(":role/CrossAccount")
        })
        .collect();
    for expected in [
        ":stack/CrossAccountPrimary/",
        ":stack/CrossAccountDeploy/",
        "alias/codepipeline-crossaccounts",
        ":role/CrossAccountCodePipeline",
    ] {
        assert!(
            adopted.iter().any(|r| r.contains(expected)),
            "{expected}: {adopted:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_unit_reached_by_role_arn_runs_with_only_the_printed_policies_and_each_statement_is_needed()
 {
    let emulator = Emulator::start_with(&["--enforce-iam"]);
    let org = crate::organization::organization(&emulator).await;
    let excluded = org.members[3].clone();
    let file = emulator.write(
        "topology.toml",
        &crate::organization::topology(&org, &excluded),
    );
    let members: Vec<String> = org
        .members
        .iter()
        .filter(|m| **m != excluded)
        .cloned()
        .collect();
    let printed = emulator.grant_printed_to(&file, |_| {}, &members).await;
    if let Err(failed) = short_cycle(&emulator, path_str(&file), |_| {}) {
        panic!("{} failed:\n{}", failed.step, failed.run.stderr);
    }
    let decisions = emulator.authorizations();
    assert_each_needed(&decisions, &printed, PROVEN_BY_THE_FIRST_CYCLE, &members);
}
