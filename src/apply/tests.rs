//! The executor on a fake cloud with tokio's paused clock: waiting, backoff, in-progress
//! stacks, event streaming, failure isolation and Ctrl-C, which the emulator cannot show (its
//! operations complete before the call returns).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::aws::fake::FakeCloud;
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
    let recorder = Arc::new(Recorder::default());
    let executor = Executor {
        cloud,
        reporter: recorder.clone(),
        parallelism,
        backoff: Backoff::default(),
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
async fn waiting_backs_off_instead_of_polling_every_second() {
    let cloud = Arc::new(FakeCloud::new(Duration::from_secs(300)));
    let plan = plan(&topology(), &Deployed::default());
    let (executor, recorder) = executor(cloud.clone(), 8);
    let started = tokio::time::Instant::now();
    let outcome = executor.execute(&plan).await;
    assert!(outcome.succeeded(), "{outcome:?}");
    // three waves of five-minute operations
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_secs(900) && elapsed < Duration::from_secs(900 + 3 * 30),
        "{elapsed:?}"
    );
    // 9 changes over 15 minutes: fixed one-second polls would be about 2,700 describes
    let describes = cloud.describes();
    assert!(describes < 9 * 25, "{describes} describes");
    let events = recorder.take();
    assert_eq!(
        statuses(&events, "acme-primary (111111111111 us-east-1) pass 1"),
        ["CREATE_IN_PROGRESS", "CREATE_COMPLETE"]
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
