//! The executor on the fake cloud, continued: rollbacks, deletes, bounds, drift repairs and
//! reads, each against what AWS would do.

use super::*;

#[tokio::test(start_paused = true)]
async fn a_failed_update_rollback_is_continued_before_the_update() {
    let (cloud, executor, recorder) = applied().await;
    set_status(
        &cloud,
        "111111111111",
        "acme-primary",
        "UPDATE_ROLLBACK_FAILED",
    );
    let outcome = executor
        .execute(&single("acme-primary", Action::Update))
        .await;
    assert!(outcome.succeeded(), "{outcome:?}");
    assert_eq!(
        statuses(&recorder.take(), "acme-primary"),
        [
            "UPDATE_ROLLBACK_IN_PROGRESS",
            "UPDATE_ROLLBACK_COMPLETE",
            "UPDATE_IN_PROGRESS",
            "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
            "UPDATE_COMPLETE"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn an_update_with_nothing_to_do_succeeds_unchanged() {
    let (cloud, executor, recorder) = applied().await;
    let before = cloud
        .stack("111111111111", "us-east-1", "acme-primary")
        .unwrap();
    // the plan of what is deployed, with the primary stack's last pass forced to an update
    let deployed = crate::aws::snapshot::read(cloud.as_ref(), &topology(), 4)
        .await
        .unwrap();
    let mut the_plan = plan(&topology(), &deployed);
    the_plan.changes.retain(|c| c.stack.name == "acme-primary");
    let fresh = plan(&topology(), &Deployed::default());
    let last_pass = fresh
        .changes
        .iter()
        .rfind(|c| c.stack.name == "acme-primary")
        .unwrap();
    the_plan.changes[0].template.clone_from(&last_pass.template);
    the_plan.changes[0].action = Action::Update;
    the_plan.changes[0].after.clear();
    let outcome = executor.execute(&the_plan).await;
    assert!(outcome.succeeded(), "{outcome:?}");
    let events = recorder.take();
    assert!(
        events.iter().any(|e| matches!(
            e,
            Event::Succeeded {
                unchanged: true,
                ..
            }
        )),
        "{events:?}"
    );
    assert!(statuses(&events, "acme-primary").is_empty(), "{events:?}");
    let after = cloud
        .stack("111111111111", "us-east-1", "acme-primary")
        .unwrap();
    assert_eq!(after.changed_at, before.changed_at, "nothing was changed");
}

#[tokio::test(start_paused = true)]
async fn a_delete_empties_buckets_and_says_when_keys_go() {
    let (cloud, executor, recorder) = applied().await;
    let bucket = "acme-artifacts-111111111111-us-east-1";
    cloud.fill_bucket(bucket, 7);
    let outcome = executor
        .execute(&single("acme-primary", Action::Delete))
        .await;
    assert!(outcome.succeeded(), "{outcome:?}");
    let events = recorder.take();
    assert!(
        events.contains(&Event::BucketEmptied {
            bucket: bucket.into(),
            objects: 7
        }),
        "{events:?}"
    );
    assert!(
        events.iter().any(|e| matches!(e, Event::KeyDeletion { pending_until: Some(date), gone: false, .. } if date == crate::aws::fake::KEY_DELETION_DATE)),
        "{events:?}"
    );
    assert!(!cloud.bucket_names().contains(&bucket.to_owned()));
    assert_eq!(
        cloud
            .stack("111111111111", "us-east-1", "acme-primary")
            .unwrap()
            .status,
        "DELETE_COMPLETE"
    );
}

#[tokio::test(start_paused = true)]
async fn a_delete_that_fails_once_is_retried_and_twice_is_reported() {
    let (cloud, executor, recorder) = applied().await;
    cloud.fail(
        Operation::Delete,
        "111111111111",
        "acme-primary",
        1,
        "the bucket refilled",
    );
    let outcome = executor
        .execute(&single("acme-primary", Action::Delete))
        .await;
    assert!(outcome.succeeded(), "{outcome:?}");
    assert_eq!(
        statuses(&recorder.take(), "acme-primary"),
        ["DELETE_IN_PROGRESS", "DELETE_FAILED", "DELETE_IN_PROGRESS"]
    );

    let (cloud, executor, _) = applied().await;
    cloud.fail(
        Operation::Delete,
        "111111111111",
        "acme-primary",
        2,
        "access denied",
    );
    let outcome = executor
        .execute(&single("acme-primary", Action::Delete))
        .await;
    let error = failure(&outcome);
    assert!(
        matches!(&error.cause, Cause::NotDeleted { status, reason: Some(r) } if *status == "DELETE_FAILED" && r == "access denied"),
        "{error}"
    );
    assert_eq!(error.events[0].reason.as_deref(), Some("access denied"));
}

#[tokio::test(start_paused = true)]
async fn a_bucket_already_gone_does_not_stop_the_delete() {
    let (cloud, executor, recorder) = applied().await;
    let mut summary = cloud
        .stack("111111111111", "us-east-1", "acme-primary")
        .unwrap();
    summary.status = "UPDATE_COMPLETE".into();
    let template = r#"{"Resources": {"Gone": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "acme-deleted-by-hand"}}}}"#;
    cloud.put_stack("111111111111", "us-east-1", summary, template, None);
    let outcome = executor
        .execute(&single("acme-primary", Action::Delete))
        .await;
    assert!(outcome.succeeded(), "{outcome:?}");
    assert!(
        !recorder
            .take()
            .iter()
            .any(|e| matches!(e, Event::BucketEmptied { .. })),
        "nothing was emptied"
    );
}

#[tokio::test(start_paused = true)]
async fn a_stack_deleted_while_waited_for_is_created() {
    let (cloud, executor, recorder) = applied().await;
    let mut summary = cloud
        .stack("111111111111", "us-east-1", "acme-primary")
        .unwrap();
    summary.status = "DELETE_IN_PROGRESS".into();
    cloud.put_stack(
        "111111111111",
        "us-east-1",
        summary,
        "{}",
        Some(("DELETE_COMPLETE", Duration::from_secs(60))),
    );
    let outcome = executor
        .execute(&single("acme-primary", Action::Update))
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
async fn a_parameter_with_no_upstream_output_fails_before_any_call() {
    let cloud = Arc::new(FakeCloud::new(Duration::from_secs(10)));
    let (executor, _) = executor(cloud.clone(), 8);
    let mut the_plan = plan(&topology(), &Deployed::default());
    the_plan.changes.retain(|c| c.stack.name == "acme-deploy");
    the_plan.changes.truncate(1);
    the_plan.changes[0].after.clear();
    let outcome = executor.execute(&the_plan).await;
    let error = failure(&outcome);
    assert!(
        matches!(&error.cause, Cause::MissingOutput { output, .. } if output == "ArtifactKeyArn"),
        "{error}"
    );
    assert!(
        cloud
            .stack("222222222222", "us-east-1", "acme-deploy")
            .is_none()
    );

    let mut broken = single("acme-primary", Action::Create);
    broken.changes[0].template = Some("not json".into());
    let error = executor.execute(&broken).await.results[0].clone();
    assert!(
        matches!(&error, ChangeResult::Failed(e) if matches!(e.cause, Cause::TemplateNotJson(_))),
        "{error:?}"
    );
    let mut empty = single("acme-primary", Action::Create);
    empty.changes[0].template = None;
    let error = executor.execute(&empty).await.results[0].clone();
    assert!(
        matches!(&error, ChangeResult::Failed(e) if e.cause == Cause::NoTemplate),
        "{error:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn aws_refusing_a_call_is_a_typed_failure_with_its_code() {
    let (cloud, executor, _) = applied().await;
    // CreateStack of a stack that exists: CloudFormation's own refusal
    let outcome = executor
        .execute(&single("acme-primary", Action::Create))
        .await;
    assert!(
        outcome.succeeded(),
        "a create of an existing stack updates it: {outcome:?}"
    );
    cloud.throttle(20);
    let outcome = executor
        .execute(&single("acme-primary", Action::Update))
        .await;
    let error = failure(&outcome);
    assert_eq!(
        error.aws().and_then(|e| e.code.as_deref()),
        Some("Throttling"),
        "{error}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_panicking_task_is_reported_against_its_own_change() {
    let cloud = Arc::new(FakeCloud::new(Duration::from_secs(30)));
    cloud.panic_on_create("111111111111", "acme-regional");
    let the_plan = plan(&topology(), &Deployed::default());
    let (executor, _) = executor(cloud.clone(), 8);
    let outcome = executor.execute(&the_plan).await;
    for (change, result) in the_plan.changes.iter().zip(&outcome.results) {
        let panicked =
            matches!(result, ChangeResult::Failed(e) if matches!(e.cause, Cause::Panicked(_)));
        assert_eq!(
            panicked,
            change.stack.name == "acme-regional" && change.pass == 1,
            "{}: {result:?}",
            change.label()
        );
        if panicked {
            let ChangeResult::Failed(e) = result else {
                unreachable!()
            };
            assert_eq!(e.stack, change.label());
        }
    }
    // the primary stack, in flight beside them, finished
    assert_eq!(
        cloud
            .stack("111111111111", "us-east-1", "acme-primary")
            .unwrap()
            .status,
        "CREATE_COMPLETE"
    );
}

#[tokio::test(start_paused = true)]
async fn never_more_than_the_parallelism_bound_in_flight() {
    for bound in [1, 2, 3] {
        let cloud = Arc::new(FakeCloud::new(Duration::from_secs(30)));
        let (executor, _) = executor(cloud.clone(), bound);
        let outcome = executor
            .execute(&plan(&topology(), &Deployed::default()))
            .await;
        assert!(outcome.succeeded(), "{outcome:?}");
        // the first wave has three stacks: each bound is reached, never passed
        assert_eq!(cloud.max_in_progress(), bound, "bound {bound}");
    }
}

#[tokio::test(start_paused = true)]
async fn destroy_removes_buckets_left_outside_any_stack() {
    let cloud = Arc::new(FakeCloud::new(Duration::from_secs(5)));
    let t = topology();
    let orphan = "acme-artifacts-111111111111-us-west-2";
    cloud.put_bucket("111111111111", "us-west-2", orphan, 3);
    let deployed = crate::aws::snapshot::read(cloud.as_ref(), &t, 4)
        .await
        .unwrap();
    assert_eq!(
        deployed
            .orphan_buckets
            .iter()
            .map(|b| b.bucket.as_str())
            .collect::<Vec<_>>(),
        [orphan]
    );
    // apply would import it into the regional stack; destroy empties and deletes it
    assert!(deployed.findings.is_empty(), "{:?}", deployed.findings);
    assert_eq!(deployed.outside.len(), 1);
    let the_plan = crate::plan::destroy(&t, &deployed);
    let (executor, recorder) = executor(cloud.clone(), 8);
    assert!(executor.execute(&the_plan).await.succeeded());
    executor
        .remove_orphan_buckets(&the_plan.orphan_buckets)
        .await
        .unwrap();
    assert!(
        cloud.bucket_names().is_empty(),
        "{:?}",
        cloud.bucket_names()
    );
    let events = recorder.take();
    assert!(events.contains(&Event::BucketEmptied {
        bucket: orphan.into(),
        objects: 3
    }));
    assert!(events.contains(&Event::BucketDeleted {
        bucket: orphan.into()
    }));
}

#[tokio::test(start_paused = true)]
async fn a_bucket_name_held_by_another_account_is_a_finding() {
    let cloud = Arc::new(FakeCloud::new(Duration::from_secs(5)));
    let t = topology();
    cloud.put_bucket(
        "999999999999",
        "us-east-1",
        "acme-build-111111111111-us-east-1",
        0,
    );
    cloud.put_role("333333333333", "acme-codepipeline");
    let deployed = crate::aws::snapshot::read(cloud.as_ref(), &t, 4)
        .await
        .unwrap();
    assert!(deployed.orphan_buckets.is_empty());
    let findings: Vec<String> = deployed.findings.iter().map(ToString::to_string).collect();
    assert!(
        findings.iter().any(|f| f
            .starts_with("bucket acme-build-111111111111-us-east-1 is owned by another account")),
        "{findings:?}"
    );
    // a role outside any stack is imported into the deploy stack, not a finding
    assert!(
        !findings.iter().any(|f| f.starts_with("role ")),
        "{findings:?}"
    );
    assert!(deployed.outside.iter().any(|o| o.stack == "acme-deploy"
        && o.found
            == crate::plan::imports::Found::Role {
                name: "acme-codepipeline".into(),
                trust: None,
            }));
}

#[tokio::test(start_paused = true)]
async fn what_apply_leaves_plans_as_nothing_to_do_and_a_change_behind_its_back_is_stale() {
    let cloud = Arc::new(FakeCloud::new(Duration::from_secs(5)));
    let t = topology();
    let (executor, _) = executor(cloud.clone(), 8);
    assert!(
        executor
            .execute(&plan(&t, &Deployed::default()))
            .await
            .succeeded()
    );
    // read back through the same calls plinth makes against AWS, and plan again
    let deployed = crate::aws::snapshot::read(cloud.as_ref(), &t, 4)
        .await
        .unwrap();
    let again = plan(&t, &deployed);
    assert!(
        again.changes.iter().all(|c| c.action == Action::NoChange),
        "{:?}",
        again
            .changes
            .iter()
            .map(|c| (c.label(), c.action))
            .collect::<Vec<_>>()
    );
    assert!(crate::plan::stale(&again, &deployed).is_empty());
    // someone updates a stack: the saved plan no longer matches what is deployed
    let mut other = single("acme-regional", Action::Update);
    other.changes[0]
        .tags
        .insert("owner".into(), "someone".into());
    assert!(executor.execute(&other).await.succeeded());
    let now = crate::aws::snapshot::read(cloud.as_ref(), &t, 4)
        .await
        .unwrap();
    let stale = crate::plan::stale(&again, &now);
    assert_eq!(stale.len(), 1, "{stale:?}");
    assert!(stale[0].contains("acme-regional"), "{stale:?}");
}

#[tokio::test(start_paused = true)]
async fn a_deleted_stack_is_no_stack_even_where_a_listing_keeps_it() {
    let cloud = Arc::new(FakeCloud::new(Duration::from_secs(5)));
    cloud.list_deleted_stacks();
    let t = topology();
    let (executor, _) = executor(cloud.clone(), 8);
    assert!(
        executor
            .execute(&plan(&t, &Deployed::default()))
            .await
            .succeeded()
    );
    let deployed = crate::aws::snapshot::read(cloud.as_ref(), &t, 4)
        .await
        .unwrap();
    let destroy = crate::plan::destroy(&t, &deployed);
    let outcome = executor.execute(&destroy).await;
    assert!(outcome.succeeded(), "{outcome:?}");
    // the listing now holds only deleted stacks: a fresh foundation, planned as created anew
    let after = crate::aws::snapshot::read(cloud.as_ref(), &t, 4)
        .await
        .unwrap();
    assert!(after.stacks.is_empty(), "{:?}", after.stacks);
    let again = plan(&t, &after);
    assert!(
        again
            .changes
            .iter()
            .filter(|c| c.pass == 1)
            .all(|c| c.action == Action::Create),
        "{:?}",
        again
            .changes
            .iter()
            .map(|c| (c.label(), c.action))
            .collect::<Vec<_>>()
    );
    // and apply creates them, although a name still finds the deleted stack
    let outcome = executor.execute(&again).await;
    assert!(outcome.succeeded(), "{outcome:?}");
    let primary = cloud
        .stack("111111111111", "us-east-1", "acme-primary")
        .unwrap();
    assert!(primary.status.state().exists(), "{}", primary.status);
}

#[tokio::test(start_paused = true)]
async fn a_stack_in_progress_longer_than_the_wait_timeout_fails_its_change_with_the_status() {
    let (cloud, mut executor, _) = applied().await;
    executor.wait_timeout = Duration::from_secs(10 * 60);
    let mut summary = cloud
        .stack("111111111111", "us-east-1", "acme-primary")
        .unwrap();
    summary.status = "UPDATE_IN_PROGRESS".into();
    cloud.put_stack(
        "111111111111",
        "us-east-1",
        summary,
        "{}",
        Some(("UPDATE_COMPLETE", Duration::from_secs(2 * 60 * 60))),
    );
    let started = tokio::time::Instant::now();
    let outcome = executor
        .execute(&single("acme-primary", Action::Update))
        .await;
    let error = failure(&outcome);
    assert!(
        matches!(&error.cause, Cause::WaitTimedOut { status, minutes: 10 } if *status == "UPDATE_IN_PROGRESS"),
        "{error}"
    );
    assert_eq!(
        error.to_string(),
        "acme-primary (111111111111 us-east-1) pass 1: still UPDATE_IN_PROGRESS after 10 minutes; plinth stopped waiting (--wait-timeout)"
    );
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(600) && waited < Duration::from_secs(610),
        "{waited:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn another_runs_operation_is_waited_for_and_then_acted_on() {
    let (cloud, executor, recorder) = applied().await;
    // the other run's update starts between this run's read and its own update
    cloud.interleave_update("111111111111", "acme-primary");
    let mut the_plan = single("acme-primary", Action::Update);
    the_plan.changes[0]
        .tags
        .insert("owner".into(), "this run".into());
    let outcome = executor.execute(&the_plan).await;
    assert!(outcome.succeeded(), "{outcome:?}");
    let statuses = statuses(&recorder.take(), "acme-primary");
    assert!(
        statuses[0].starts_with("busy (Stack:")
            && statuses[0].contains("is in UPDATE_IN_PROGRESS state"),
        "{statuses:?}"
    );
    assert_eq!(statuses.last().map(String::as_str), Some("UPDATE_COMPLETE"));
    let now = cloud
        .stack("111111111111", "us-east-1", "acme-primary")
        .unwrap();
    assert_eq!(now.tags["owner"], "this run");
}

#[tokio::test(start_paused = true)]
async fn reading_grows_with_accounts_plus_regions() {
    let regions = ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1"];
    for accounts in [3, 30] {
        let t = crate::fixtures::grid(accounts, &regions);
        let cloud = FakeCloud::new(Duration::from_secs(1));
        crate::aws::snapshot::read(&cloud, &t, 8).await.unwrap();
        // one DescribeStacks per region of the build account and one per target account; the
        // rest are the name checks of stacks not there yet (the build bucket, the sync function
        // and its log group, an artifact bucket and the key alias per region, two roles per
        // account)
        let lists = regions.len() + accounts;
        let checks = 3 + 2 * regions.len() + 2 * accounts;
        assert_eq!(
            usize::try_from(cloud.calls()).unwrap(),
            lists + checks,
            "{accounts} accounts"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_template_over_the_body_limit_is_uploaded_and_passed_by_url() {
    let t = crate::fixtures::wide_pipeline();
    let cloud = Arc::new(FakeCloud::new(Duration::from_secs(5)));
    let (executor, _) = executor(cloud.clone(), 8);
    let the_plan = plan(&t, &Deployed::default());
    assert!(the_plan.findings.is_empty(), "{:?}", the_plan.findings);
    let outcome = executor.execute(&the_plan).await;
    assert!(outcome.succeeded(), "{outcome:?}");
    assert_eq!(cloud.objects("acme-build-111111111111-us-east-1"), Some(1));
    assert_eq!(
        cloud
            .stack("111111111111", "us-east-1", "acme-pipeline-p0")
            .unwrap()
            .status,
        "CREATE_COMPLETE"
    );
}

fn drift(repair: crate::plan::drift::Repair) -> crate::plan::drift::Drift {
    crate::plan::drift::Drift {
        resource: "ArtifactBucketPolicy".into(),
        resource_type: "AWS::S3::BucketPolicy".into(),
        physical_id: "b".into(),
        property: "PolicyDocument".into(),
        live: "absent".into(),
        declared: "1 statement".into(),
        details: Vec::new(),
        repair,
    }
}

#[tokio::test(start_paused = true)]
async fn drift_on_an_unchanged_stack_is_repaired_without_touching_the_stack() {
    use crate::plan::drift::Repair;
    let (cloud, executor, recorder) = applied().await;
    let before = cloud
        .stack("111111111111", "us-east-1", "acme-primary")
        .unwrap();
    let mut plan = single("acme-primary", Action::NoChange);
    let repairs = vec![
        Repair::PutBucketPolicy {
            bucket: "acme-artifacts-111111111111-us-east-1".into(),
            document: "{}".into(),
        },
        Repair::EnableKeyRotation { key_id: "k".into() },
        Repair::DeleteRolePolicy {
            role: "r".into(),
            name: "extra".into(),
        },
    ];
    plan.changes[0].drift = repairs.iter().cloned().map(drift).collect();
    assert!(has_work(&plan));
    let outcome = executor.execute(&plan).await;
    assert!(outcome.succeeded(), "{outcome:?}");
    let made: Vec<Repair> = cloud.repairs().into_iter().map(|(_, r)| r).collect();
    assert_eq!(made, repairs);
    assert!(cloud.repairs().iter().all(|(a, _)| a == "111111111111"));
    // CloudFormation was not asked to do anything
    let after = cloud
        .stack("111111111111", "us-east-1", "acme-primary")
        .unwrap();
    assert_eq!(before.changed_at, after.changed_at);
    assert_eq!(
        statuses(&recorder.take(), "acme-primary")
            .iter()
            .filter(|s| s.starts_with("repaired drift"))
            .count(),
        3
    );
}

#[tokio::test(start_paused = true)]
async fn drift_is_repaired_after_the_stacks_update_and_not_when_it_fails() {
    use crate::plan::drift::Repair;
    let (cloud, executor, _) = applied().await;
    let repair = Repair::EnableBucketVersioning {
        bucket: "acme-artifacts-111111111111-us-east-1".into(),
    };
    let mut plan = single("acme-primary", Action::Update);
    plan.changes[0].drift = vec![drift(repair.clone())];
    cloud.fail(
        Operation::Update,
        "111111111111",
        "acme-primary",
        1,
        "Resource handler returned message: boom",
    );
    let outcome = executor.execute(&plan).await;
    assert!(!outcome.succeeded());
    assert!(cloud.repairs().is_empty());
    let outcome = executor.execute(&plan).await;
    assert!(outcome.succeeded(), "{outcome:?}");
    assert_eq!(
        cloud
            .repairs()
            .into_iter()
            .map(|(_, r)| r)
            .collect::<Vec<_>>(),
        vec![repair]
    );
}

#[tokio::test(start_paused = true)]
async fn properties_one_call_puts_back_are_repaired_with_one_call() {
    use crate::plan::drift::{PipelineDefinition, Repair};
    let (cloud, executor, recorder) = applied().await;
    let mut plan = single("acme-primary", Action::NoChange);
    let repair = Repair::UpdatePipeline {
        definition: PipelineDefinition {
            name: "acme-p0".into(),
            ..PipelineDefinition::default()
        },
    };
    plan.changes[0].drift = ["ArtifactStores", "Stages"]
        .into_iter()
        .map(|property| crate::plan::drift::Drift {
            resource: "Pipeline".into(),
            property: property.into(),
            ..drift(repair.clone())
        })
        .collect();
    let outcome = executor.execute(&plan).await;
    assert!(outcome.succeeded(), "{outcome:?}");
    let made: Vec<Repair> = cloud.repairs().into_iter().map(|(_, r)| r).collect();
    assert_eq!(made, vec![repair]);
    let repaired: Vec<String> = statuses(&recorder.take(), "acme-primary")
        .into_iter()
        .filter(|s| s.starts_with("repaired drift"))
        .collect();
    assert_eq!(
        repaired,
        ["repaired drift: Pipeline ArtifactStores, Stages are as declared again"]
    );
}

/// The most changes that ran at once in one account and region, from the executor's events.
fn most_at_once_per_place(events: &[Event]) -> usize {
    let place = |label: &str| {
        label
            .split_once(" (")
            .and_then(|(_, rest)| rest.split_once(')'))
            .map(|(place, _)| place.to_owned())
            .unwrap_or_default()
    };
    let mut running: BTreeMap<String, usize> = BTreeMap::new();
    let mut most = 0;
    for event in events {
        match event {
            Event::Started { stack, .. } => {
                let n = running.entry(place(stack)).or_default();
                *n += 1;
                most = most.max(*n);
            }
            Event::Succeeded { stack, .. } | Event::Failed { stack, .. } => {
                *running.entry(place(stack)).or_default() -= 1;
            }
            _ => {}
        }
    }
    most
}

#[tokio::test(start_paused = true)]
async fn never_more_than_the_per_region_bound_in_one_account_and_region() {
    // Four pipelines in the build account and region, in one wave; the deploy stacks of three
    // accounts in another.
    let entries: Vec<(u64, &[&str])> = (0..3)
        .map(|i| (222_222_222_222 + i, &["us-east-1"][..]))
        .collect();
    let topology = crate::fixtures::generated(&entries, 4);
    let cloud = Arc::new(FakeCloud::new(Duration::from_secs(30)));
    let (mut executor, recorder) = executor(cloud.clone(), 8);
    executor.per_region = 2;
    let outcome = executor
        .execute(&plan(&topology, &Deployed::default()))
        .await;
    assert!(outcome.succeeded(), "{outcome:?}");
    // The per-region bound is reached in the build account and never passed there...
    assert_eq!(most_at_once_per_place(&recorder.take()), 2);
    // ...while stacks of different accounts ran beyond it, under the global bound.
    assert!(cloud.max_in_progress() >= 3, "{}", cloud.max_in_progress());
}

#[tokio::test(start_paused = true)]
async fn an_update_whose_rollback_fails_is_reported_and_the_next_apply_continues_it() {
    let (cloud, executor, recorder) = applied().await;
    let reason = "Resource handler returned message: \"Access Denied\"";
    cloud.fail(Operation::Update, "111111111111", "acme-primary", 1, reason);
    cloud.fail(
        Operation::UpdateRollback,
        "111111111111",
        "acme-primary",
        1,
        "The role could not be restored",
    );
    let outcome = executor.execute(&tagged_update_of_the_primary()).await;
    let error = failure(&outcome);
    assert!(
        matches!(&error.cause, Cause::Ended { status, .. } if *status == "UPDATE_ROLLBACK_FAILED"),
        "{error}"
    );
    assert_eq!(
        statuses(&recorder.take(), "acme-primary")
            .last()
            .map(String::as_str),
        Some("UPDATE_ROLLBACK_FAILED")
    );
    // The next apply continues the rollback, then makes the update.
    let outcome = executor.execute(&tagged_update_of_the_primary()).await;
    assert!(outcome.succeeded(), "{outcome:?}");
    assert_eq!(
        statuses(&recorder.take(), "acme-primary"),
        [
            "UPDATE_ROLLBACK_IN_PROGRESS",
            "UPDATE_ROLLBACK_COMPLETE",
            "UPDATE_IN_PROGRESS",
            "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
            "UPDATE_COMPLETE"
        ]
    );
    let stack = cloud
        .stack("111111111111", "us-east-1", "acme-primary")
        .unwrap();
    assert_eq!(
        stack.tags.get("owner").map(String::as_str),
        Some("platform")
    );
}
