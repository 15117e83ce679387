//! The executor on a fake cloud with tokio's paused clock: waiting, backoff, in-progress
//! stacks, event streaming, failure isolation and Ctrl-C, which the emulator cannot show (its
//! operations complete before the call returns).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::aws::fake::{FakeCloud, Operation};
use crate::plan::{Deployed, plan};
use crate::topology::{Topology, parse};

fn topology() -> Topology {
    parse(
        r#"
name = "acme"
[build]
account = "111111111111"
region = "us-east-1"
[[targets]]
name = "dev"
account = "222222222222"
regions = ["us-east-1", "us-west-2"]
[[targets]]
name = "prod"
account = "333333333333"
regions = ["eu-west-1"]
"#,
    )
    .unwrap()
    .topology
}

fn executor(cloud: Arc<FakeCloud>, parallelism: usize) -> (Executor, Arc<Recorder>) {
    // The polling jitter draws from this thread's generator; the paused-clock runtime runs every
    // task on this thread, so each test sees the same delays on every run.
    fastrand::seed(0x5eed);
    let recorder = Arc::new(Recorder::default());
    let executor = Executor {
        cloud,
        reporter: recorder.clone(),
        per_region: parallelism,
        parallelism,
        backoff: Backoff::default(),
        wait_timeout: defaults::WAIT_TIMEOUT,
        propagation_timeout: defaults::PROPAGATION_TIMEOUT,
        cancel: Arc::new(Cancel::default()),
    };
    (executor, recorder)
}

fn statuses(events: &[Event], stack: &str) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Status {
                stack: s, status, ..
            } if s.starts_with(stack) => Some(status.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn waiting_sees_each_wave_end_within_seconds_without_polling_every_second() {
    let cloud = Arc::new(FakeCloud::new(Duration::from_secs(300)));
    let plan = plan(&topology(), &Deployed::default());
    let (executor, recorder) = executor(cloud.clone(), 8);
    let started = tokio::time::Instant::now();
    let outcome = executor.execute(&plan).await;
    assert!(outcome.succeeded(), "{outcome:?}");
    // three waves of five-minute operations, each end seen within one poll (at most 2 s)
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_secs(900) && elapsed <= Duration::from_secs(900 + 3 * 2),
        "{elapsed:?}"
    );
    // 8 changes of five minutes: one-second polls would be about 2,400 describes; the cadence
    // grows to one poll in 1.6 to 2 s, one DescribeStacks per stack
    let describes = cloud.describes();
    let changes = u64::try_from(plan.changes.len()).unwrap();
    assert!(
        describes <= changes * (300 * 10 / 16 + 10),
        "{describes} describes"
    );
    let events = recorder.take();
    assert_eq!(
        statuses(&events, "acme-primary (111111111111 us-east-1) pass 1"),
        ["CREATE_IN_PROGRESS", "CREATE_COMPLETE"]
    );
    // elapsed times are on the same clock as the operations: five minutes and the poll that saw it
    let elapsed: Vec<f64> = events
        .iter()
        .filter_map(|e| match e {
            Event::Succeeded {
                elapsed_seconds, ..
            } => Some(*elapsed_seconds),
            _ => None,
        })
        .collect();
    assert_eq!(elapsed.len(), the_plan_len(&topology()));
    assert!(
        elapsed.iter().all(|&s| (300.0..330.0).contains(&s)),
        "{elapsed:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_stack_in_progress_is_waited_for_before_it_is_changed() {
    let cloud = Arc::new(FakeCloud::new(Duration::from_secs(60)));
    let t = topology();
    let (executor, recorder) = executor(cloud.clone(), 8);
    executor.execute(&plan(&t, &Deployed::default())).await;
    recorder.take();
    // someone else is updating the primary stack; it settles in ten minutes
    let mut summary = cloud
        .stack("111111111111", "us-east-1", "acme-primary")
        .unwrap();
    summary.status = "UPDATE_IN_PROGRESS".into();
    let template = "{\"Outputs\": {}}";
    cloud.put_stack(
        "111111111111",
        "us-east-1",
        summary.clone(),
        template,
        Some(("UPDATE_COMPLETE", Duration::from_secs(600))),
    );
    let mut the_plan = plan(&t, &Deployed::default());
    the_plan
        .changes
        .retain(|c| c.stack.name == "acme-primary" && c.pass == 1);
    the_plan.changes[0].action = crate::plan::Action::Update;
    the_plan.changes[0].after.clear();
    let started = tokio::time::Instant::now();
    let outcome = executor.execute(&the_plan).await;
    assert!(outcome.succeeded(), "{outcome:?}");
    assert!(
        started.elapsed() >= Duration::from_secs(660),
        "waited for the other update, then made its own"
    );
    let events = recorder.take();
    assert_eq!(
        statuses(&events, "acme-primary"),
        [
            "UPDATE_IN_PROGRESS",
            "UPDATE_COMPLETE",
            "UPDATE_IN_PROGRESS",
            "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
            "UPDATE_COMPLETE"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_failure_stops_only_what_depends_on_it_and_its_events_are_streamed() {
    let cloud = Arc::new(FakeCloud::new(Duration::from_secs(30)));
    cloud.fail_create(
        "333333333333",
        "acme-deploy",
        "Role with name acme-codepipeline already exists.",
    );
    let the_plan = plan(&topology(), &Deployed::default());
    let (executor, recorder) = executor(cloud.clone(), 8);
    let outcome = executor.execute(&the_plan).await;
    assert!(!outcome.succeeded());
    let by_label: BTreeMap<String, &ChangeResult> = the_plan
        .changes
        .iter()
        .map(super::super::plan::Change::label)
        .zip(outcome.results.iter())
        .collect();
    assert!(
        matches!(by_label["acme-deploy (333333333333 us-east-1) pass 1"], ChangeResult::Failed(e) if e.to_string().contains("already exists"))
    );
    assert_eq!(
        *by_label["acme-deploy (222222222222 us-east-1) pass 1"],
        ChangeResult::Succeeded
    );
    assert_eq!(
        *by_label["acme-regional (111111111111 us-west-2) pass 1"],
        ChangeResult::Succeeded
    );
    // every second pass grants the failed account's roles, so all of them wait for it
    for label in [
        "acme-primary (111111111111 us-east-1) pass 2",
        "acme-regional (111111111111 eu-west-1) pass 2",
    ] {
        assert!(
            matches!(by_label[label], ChangeResult::Skipped(_)),
            "{label}"
        );
    }
    let events = recorder.take();
    let failed = events.iter().find_map(|e| match e {
        Event::Failed {
            stack,
            error,
            events,
            ..
        } => Some((stack.clone(), error.clone(), events.clone())),
        _ => None,
    });
    let (stack, error, stack_events) = failed.expect("a failure event");
    assert_eq!(stack, "acme-deploy (333333333333 us-east-1) pass 1");
    assert!(error.contains("ROLLBACK_COMPLETE"), "{error}");
    assert_eq!(stack_events[0].status, "CREATE_FAILED");
    assert_eq!(
        stack_events[0].reason.as_deref(),
        Some("Role with name acme-codepipeline already exists.")
    );
}

#[tokio::test(start_paused = true)]
async fn outputs_flow_into_downstream_parameters() {
    let cloud = Arc::new(FakeCloud::new(Duration::from_secs(5)));
    let (executor, _) = executor(cloud.clone(), 8);
    assert!(
        executor
            .execute(&plan(&topology(), &Deployed::default()))
            .await
            .succeeded()
    );
    let deploy = cloud
        .stack("222222222222", "us-east-1", "acme-deploy")
        .unwrap();
    // each region's key comes from that region's stack
    assert_eq!(
        deploy.parameters["ArtifactKeyArnUsWest2"],
        "arn:fake:111111111111:us-west-2:acme-regional:ArtifactKeyArn"
    );
    assert_eq!(
        deploy.parameters["ArtifactKeyArnEuWest1"],
        "arn:fake:111111111111:eu-west-1:acme-regional:ArtifactKeyArn"
    );
    assert_eq!(
        deploy.parameters["ArtifactKeyArnUsEast1"],
        "arn:fake:111111111111:us-east-1:acme-primary:ArtifactKeyArn"
    );
}

#[tokio::test(start_paused = true)]
async fn ctrl_c_stops_new_work_and_lets_what_runs_settle() {
    let cloud = Arc::new(FakeCloud::new(Duration::from_secs(120)));
    let the_plan = plan(&topology(), &Deployed::default());
    let (executor, recorder) = executor(cloud.clone(), 1);
    let cancel = executor.cancel.clone();
    let run = tokio::spawn(async move { executor.execute(&the_plan).await });
    tokio::time::sleep(Duration::from_secs(30)).await;
    cancel.cancel();
    let outcome = run.await.unwrap();
    assert!(outcome.interrupted);
    assert_eq!(
        outcome.results[0],
        ChangeResult::Succeeded,
        "the stack in flight settled"
    );
    assert!(
        outcome.results[1..]
            .iter()
            .all(|r| *r == ChangeResult::NotStarted),
        "{outcome:?}"
    );
    let events = recorder.take();
    assert!(
        matches!(&events.iter().find(|e| matches!(e, Event::Interrupted { .. })), Some(Event::Interrupted { running }) if running.len() == 1)
    );
    let summary = cloud
        .stack("111111111111", "us-east-1", "acme-primary")
        .unwrap();
    assert_eq!(summary.status, "CREATE_COMPLETE");
}

#[tokio::test(start_paused = true)]
async fn destroy_continues_a_failed_update_rollback_before_deleting() {
    let cloud = Arc::new(FakeCloud::new(Duration::from_secs(10)));
    let t = topology();
    let (executor, recorder) = executor(cloud.clone(), 8);
    executor.execute(&plan(&t, &Deployed::default())).await;
    let mut summary = cloud
        .stack("222222222222", "us-east-1", "acme-deploy")
        .unwrap();
    summary.status = "UPDATE_ROLLBACK_FAILED".into();
    cloud.put_stack("222222222222", "us-east-1", summary.clone(), "{}", None);
    recorder.take();
    let spec = crate::layout::stacks(&t)
        .into_iter()
        .find(|s| s.name == "acme-deploy")
        .unwrap();
    let deployed = Deployed {
        stacks: vec![crate::plan::DeployedStack {
            spec,
            summary,
            template: None,
            live: None,
            last_failure: None,
            instances: None,
        }],
        ..Deployed::default()
    };
    let outcome = executor.execute(&crate::plan::destroy(&t, &deployed)).await;
    assert!(outcome.succeeded(), "{outcome:?}");
    assert_eq!(
        statuses(&recorder.take(), "acme-deploy"),
        [
            "UPDATE_ROLLBACK_IN_PROGRESS",
            "UPDATE_ROLLBACK_COMPLETE",
            "DELETE_IN_PROGRESS"
        ]
    );
    assert!(
        cloud
            .stack("222222222222", "us-east-1", "acme-deploy")
            .unwrap()
            .status
            == "DELETE_COMPLETE"
    );
}

#[tokio::test(start_paused = true)]
async fn throttling_while_waiting_is_waited_out_not_read_as_failure() {
    let cloud = Arc::new(FakeCloud::new(Duration::from_secs(60)));
    let mut the_plan = plan(&topology(), &Deployed::default());
    the_plan.changes.truncate(1);
    let (executor, _) = executor(cloud.clone(), 8);
    cloud.throttle(4);
    let outcome = executor.execute(&the_plan).await;
    assert!(outcome.succeeded(), "{outcome:?}");
    cloud.throttle(50);
    let mut again = plan(&topology(), &Deployed::default());
    again
        .changes
        .retain(|c| c.stack.name == "acme-regional" && c.pass == 1);
    for change in &mut again.changes {
        change.after.clear();
    }
    let outcome = executor.execute(&again).await;
    assert!(
        outcome
            .results
            .iter()
            .all(|r| matches!(r, ChangeResult::Failed(e) if e.to_string().contains("Throttling"))),
        "persistent throttling is reported with its cause: {outcome:?}"
    );
}

/// A plan of one change on one existing stack of the test topology: `action` on `name` in the
/// build account (or the deploy stack of 222222222222), waiting for nothing.
fn single(name: &str, action: Action) -> Plan {
    let mut the_plan = plan(&topology(), &Deployed::default());
    the_plan
        .changes
        .retain(|c| c.stack.name == name && c.pass == 1);
    the_plan.changes.truncate(1);
    let change = &mut the_plan.changes[0];
    change.action = action;
    change.after.clear();
    if action == Action::Delete {
        change.template = None;
    }
    the_plan
}

/// The stack as the fake holds it, with a new status, put back in place.
fn set_status(cloud: &FakeCloud, account: &str, name: &str, status: &str) -> String {
    let mut summary = cloud.stack(account, "us-east-1", name).unwrap();
    let id = summary.id.clone();
    summary.status = status.into();
    summary.status_reason = Some(format!("made {status} by the test"));
    let template = r#"{"Resources": {"ArtifactBucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "acme-artifacts-111111111111-us-east-1"}}, "ArtifactKey": {"Type": "AWS::KMS::Key"}}, "Outputs": {"ArtifactKeyArn": {}}}"#;
    cloud.put_stack(account, "us-east-1", summary, template, None);
    id
}

async fn applied() -> (Arc<FakeCloud>, Executor, Arc<Recorder>) {
    let cloud = Arc::new(FakeCloud::new(Duration::from_secs(10)));
    let (executor, recorder) = executor(cloud.clone(), 8);
    let outcome = executor
        .execute(&plan(&topology(), &Deployed::default()))
        .await;
    assert!(outcome.succeeded(), "{outcome:?}");
    recorder.take();
    (cloud, executor, recorder)
}

fn failure(outcome: &Outcome) -> &ChangeError {
    match &outcome.results[0] {
        ChangeResult::Failed(error) => error,
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn a_failed_create_is_deleted_and_created_again() {
    let (cloud, executor, recorder) = applied().await;
    let old = set_status(&cloud, "111111111111", "acme-primary", "ROLLBACK_COMPLETE");
    let outcome = executor
        .execute(&single("acme-primary", Action::Replace))
        .await;
    assert!(outcome.succeeded(), "{outcome:?}");
    assert_eq!(
        statuses(&recorder.take(), "acme-primary"),
        [
            "DELETE_IN_PROGRESS",
            "CREATE_IN_PROGRESS",
            "CREATE_COMPLETE"
        ]
    );
    let now = cloud
        .stack("111111111111", "us-east-1", "acme-primary")
        .unwrap();
    assert_ne!(now.id, old, "a new stack");
    assert_eq!(now.status, "CREATE_COMPLETE");
}

#[tokio::test(start_paused = true)]
async fn a_stack_whose_delete_failed_is_replaced() {
    let (cloud, executor, recorder) = applied().await;
    set_status(&cloud, "111111111111", "acme-primary", "DELETE_FAILED");
    let outcome = executor
        .execute(&single("acme-primary", Action::Replace))
        .await;
    assert!(outcome.succeeded(), "{outcome:?}");
    assert_eq!(
        statuses(&recorder.take(), "acme-primary"),
        [
            "DELETE_IN_PROGRESS",
            "CREATE_IN_PROGRESS",
            "CREATE_COMPLETE"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_stack_left_in_review_is_replaced_not_waited_for() {
    let (cloud, executor, recorder) = applied().await;
    set_status(&cloud, "111111111111", "acme-primary", "REVIEW_IN_PROGRESS");
    let started = tokio::time::Instant::now();
    let outcome = tokio::time::timeout(
        Duration::from_secs(3600),
        executor.execute(&single("acme-primary", Action::Replace)),
    )
    .await
    .expect("a stack in review never settles by itself: it must not be waited for");
    assert!(outcome.succeeded(), "{outcome:?}");
    assert!(
        started.elapsed() < Duration::from_secs(120),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        statuses(&recorder.take(), "acme-primary"),
        [
            "DELETE_IN_PROGRESS",
            "CREATE_IN_PROGRESS",
            "CREATE_COMPLETE"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_failed_update_is_reported_with_its_reason_and_rolled_back() {
    let (cloud, executor, recorder) = applied().await;
    let before = cloud
        .stack("111111111111", "us-east-1", "acme-primary")
        .unwrap();
    cloud.fail(
        Operation::Update,
        "111111111111",
        "acme-primary",
        1,
        "Resource handler returned message: \"Access Denied\"",
    );
    let the_plan = tagged_update_of_the_primary();
    let outcome = executor.execute(&the_plan).await;
    let error = failure(&outcome);
    assert_eq!(error.stack, "acme-primary (111111111111 us-east-1) pass 1");
    assert!(
        matches!(&error.cause, Cause::Ended { status, reason } if *status == "UPDATE_ROLLBACK_COMPLETE" && reason.contains("Access Denied")),
        "{error}"
    );
    assert_eq!(error.events[0].status, "UPDATE_FAILED");
    assert_eq!(
        statuses(&recorder.take(), "acme-primary"),
        [
            "UPDATE_IN_PROGRESS",
            "UPDATE_ROLLBACK_IN_PROGRESS",
            "UPDATE_ROLLBACK_COMPLETE"
        ]
    );
    let after = cloud
        .stack("111111111111", "us-east-1", "acme-primary")
        .unwrap();
    assert_eq!(after.tags, before.tags, "the rollback restored the tags");
    assert_eq!(after.outputs, before.outputs);
}

/// An update of the primary stack that changes one tag.
fn tagged_update_of_the_primary() -> Plan {
    let mut the_plan = single("acme-primary", Action::Update);
    the_plan.changes[0]
        .tags
        .insert("owner".into(), "platform".into());
    the_plan
}

/// The text S3 gives a stack's failed bucket policy that names a role IAM has not propagated.
const INVISIBLE_PRINCIPAL: &str = "Resource handler returned message: \"Invalid principal in policy (Service: S3, Status Code: 400)\"";

fn waits_for_iam(events: &[Event]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, Event::Status { status, .. } if status.starts_with("waiting for IAM to propagate")))
        .count()
}

#[tokio::test(start_paused = true)]
async fn an_update_refused_for_a_principal_not_yet_propagated_is_tried_again_until_it_passes() {
    let (cloud, executor, recorder) = applied().await;
    cloud.fail(
        Operation::Update,
        "111111111111",
        "acme-primary",
        3,
        INVISIBLE_PRINCIPAL,
    );
    let the_plan = tagged_update_of_the_primary();
    let started = tokio::time::Instant::now();
    let outcome = executor.execute(&the_plan).await;
    assert!(outcome.succeeded(), "{outcome:?}");
    let events = recorder.take();
    assert_eq!(waits_for_iam(&events), 3);
    // three rolled-back tries and the one that passed, each rollback waited out
    assert_eq!(
        statuses(&events, "acme-primary")
            .iter()
            .filter(|s| *s == "UPDATE_ROLLBACK_COMPLETE")
            .count(),
        3
    );
    assert!(
        started.elapsed() < executor.propagation_timeout,
        "{:?}",
        started.elapsed()
    );
    let after = cloud
        .stack("111111111111", "us-east-1", "acme-primary")
        .unwrap();
    assert_eq!(
        after.tags.get("owner").map(String::as_str),
        Some("platform")
    );
}

#[tokio::test(start_paused = true)]
async fn a_principal_still_invisible_when_the_propagation_window_ends_fails_naming_iam_propagation()
{
    let (cloud, mut executor, recorder) = applied().await;
    executor.propagation_timeout = Duration::from_secs(30);
    cloud.fail(
        Operation::Update,
        "111111111111",
        "acme-primary",
        1000,
        INVISIBLE_PRINCIPAL,
    );
    let the_plan = tagged_update_of_the_primary();
    let started = tokio::time::Instant::now();
    let outcome = executor.execute(&the_plan).await;
    let error = failure(&outcome);
    assert!(
        matches!(&error.cause, Cause::PropagationTimedOut { seconds: 30, reason } if reason.contains("Invalid principal")),
        "{error}"
    );
    assert!(error.to_string().contains("IAM propagation"), "{error}");
    assert_eq!(error.events[0].status, "UPDATE_FAILED");
    // tried for the window after the first refusal, not longer: the last try starts when it
    // ends; each try (update and rollback) takes about 10 s on this fake
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_secs(30 + 10) && elapsed < Duration::from_secs(30 + 2 * 15),
        "{elapsed:?}"
    );
    assert!(waits_for_iam(&recorder.take()) >= 3);
}

#[tokio::test(start_paused = true)]
async fn any_other_refusal_fails_at_once_without_waiting_for_iam() {
    let (cloud, executor, recorder) = applied().await;
    cloud.fail(
        Operation::Update,
        "111111111111",
        "acme-primary",
        1,
        "Resource handler returned message: \"Policy has invalid action (Service: S3)\"",
    );
    let the_plan = tagged_update_of_the_primary();
    let outcome = executor.execute(&the_plan).await;
    let error = failure(&outcome);
    assert!(matches!(&error.cause, Cause::Ended { .. }), "{error}");
    assert_eq!(waits_for_iam(&recorder.take()), 0);
}

#[test]
fn which_refusals_iam_propagation_explains() {
    use crate::aws::AwsError;
    let refused = |code: &str, message: &str| {
        Cause::Aws(AwsError::new("PutBucketPolicy", Some(code), message)).is_iam_propagation()
    };
    assert!(refused("MalformedPolicy", "Invalid principal in policy"));
    assert!(refused(
        "MalformedPolicyDocumentException",
        "Policy contains a statement with one or more invalid principals."
    ));
    assert!(refused(
        "MalformedPolicyDocument",
        "Invalid principal in policy: \"AWS\":\"arn:aws:iam::1:role/x\""
    ));
    assert!(!refused("MalformedPolicy", "Policy has invalid action"));
    assert!(!refused("AccessDenied", "Invalid principal in policy"));
    let ended = |reason: &str| Cause::Ended {
        status: "UPDATE_ROLLBACK_COMPLETE".into(),
        reason: reason.into(),
    };
    assert!(ended(INVISIBLE_PRINCIPAL).is_iam_propagation());
    assert!(!ended("Resource handler returned message: \"Access Denied\"").is_iam_propagation());
}

fn the_plan_len(t: &Topology) -> usize {
    plan(t, &Deployed::default()).changes.len()
}

mod recovery;
