//! The planner on hand-made snapshots: no AWS, no I/O.

use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::graph::StackGraph;
use crate::layout::StackKind::{Deploy, Pipeline, Primary, Regional};
use crate::plan::StackSummary;
use crate::templates::limits::LimitKind;
use crate::templates::render_graph;
use crate::topology::parse;

fn example() -> Topology {
    parse(include_str!("../../topology.example.toml"))
        .unwrap()
        .topology
}

/// What AWS would hold after a successful apply of `topology`.
fn converged(topology: &Topology) -> Deployed {
    let specs = crate::layout::stacks(topology);
    let all: BTreeSet<StackKey> = specs.iter().map(|s| s.key.clone()).collect();
    let graph = StackGraph::build(topology, &all);
    let mut outputs: BTreeMap<StackKey, BTreeMap<String, String>> = BTreeMap::new();
    for spec in &specs {
        let rendered = templates::render(topology, spec, &graph.fragments_through(&spec.key, 1));
        let names = rendered
            .outputs
            .keys()
            .map(|k| {
                (
                    k.clone(),
                    format!("{}/{}/{}/{k}", spec.account, spec.region, spec.name),
                )
            })
            .collect();
        outputs.insert(spec.key.clone(), names);
    }
    let stacks = render_graph(topology, &graph)
        .into_iter()
        .map(|node| {
            let parameters = node
                .template
                .placeholders
                .iter()
                .map(|p| (p.parameter.clone(), outputs[&p.stack][&p.output].clone()))
                .collect();
            DeployedStack {
                summary: StackSummary {
                    id: format!(
                        "id/{}/{}/{}",
                        node.stack.account, node.stack.region, node.stack.name
                    ),
                    name: node.stack.name.clone(),
                    status: "UPDATE_COMPLETE".into(),
                    status_reason: None,
                    parameters,
                    tags: node.tags.clone(),
                    outputs: outputs[&node.stack.key].clone(),
                    changed_at: "2026-11-26T10:00:00Z".into(),
                },
                template: Some(node.template.body()),
                spec: node.stack,
                live: None,
                last_failure: None,
                instances: None,
            }
        })
        .collect();
    Deployed {
        stacks,
        ..Deployed::default()
    }
}

fn actions(plan: &Plan) -> Vec<(String, String, u32, Action)> {
    plan.changes
        .iter()
        .map(|c| {
            (
                c.stack.name.clone(),
                c.stack.region.to_string(),
                c.pass,
                c.action,
            )
        })
        .collect()
}

#[test]
fn a_fresh_plan_creates_everything_in_four_waves() {
    let plan = plan(&example(), &Deployed::default());
    assert_eq!(
        plan.summary,
        Summary {
            create: 7,
            update: 0,
            replace: 0,
            delete: 0,
            wait: 0,
            unchanged: 0,
            drifted: 0,
            imported: 0,
            adopting: 0
        }
    );
    assert_eq!(plan.changes.iter().filter(|c| c.pass == 2).count(), 3);
    assert_eq!(plan.changes.iter().map(|c| c.wave).max(), Some(4));
    assert!(plan.findings.is_empty());
    // every dependency points to an earlier change
    for (i, change) in plan.changes.iter().enumerate() {
        assert!(change.after.iter().all(|&j| j < i), "{}", change.label());
    }
    assert_eq!(
        plan.summary_line(),
        "Plan: 7 to create, 0 to update, 0 to delete, 0 unchanged."
    );
}

#[test]
fn a_converged_foundation_has_nothing_to_do() {
    let t = example();
    let plan = plan(&t, &converged(&t));
    assert!(
        plan.changes.iter().all(|c| c.action == Action::NoChange),
        "{:?}",
        actions(&plan)
    );
    assert!(!plan.summary.has_changes());
    assert_eq!(plan.summary.unchanged, 7);
}

#[test]
fn parameters_take_the_outputs_of_the_stack_in_their_own_region() {
    let t = example();
    let plan = plan(&t, &converged(&t));
    let deploy = plan
        .changes
        .iter()
        .find(|c| c.stack.name == "acme-deploy" && c.stack.account.as_str() == "222222222222")
        .unwrap();
    let value = |name: &str| {
        deploy
            .parameters
            .iter()
            .find(|p| p.name == name)
            .and_then(|p| p.value.clone())
    };
    assert_eq!(
        value("ArtifactKeyArnUsWest2").as_deref(),
        Some("111111111111/us-west-2/acme-regional/ArtifactKeyArn")
    );
    assert_eq!(
        value("ArtifactKeyArnEuWest1").as_deref(),
        Some("111111111111/eu-west-1/acme-regional/ArtifactKeyArn")
    );
    assert_eq!(
        value("ArtifactKeyArnUsEast1").as_deref(),
        Some("111111111111/us-east-1/acme-primary/ArtifactKeyArn")
    );
}

#[test]
fn a_changed_template_is_an_update_with_its_diff() {
    let t = example();
    let mut deployed = converged(&t);
    let regional = deployed
        .stacks
        .iter_mut()
        .find(|s| s.spec.name == "acme-regional")
        .unwrap();
    regional.template.as_mut().unwrap()["Resources"]["ArtifactKey"]["Properties"]["PendingWindowInDays"] =
        30.into();
    let plan = plan(&t, &deployed);
    let change = plan
        .changes
        .iter()
        .find(|c| c.action == Action::Update)
        .unwrap();
    assert_eq!(change.stack.name, "acme-regional");
    let diff = change.diff.as_ref().unwrap();
    assert!(
        diff.template
            .contains("-        \"PendingWindowInDays\": 30\n"),
        "{}",
        diff.template
    );
    assert!(
        diff.template
            .contains("+        \"PendingWindowInDays\": 7\n"),
        "{}",
        diff.template
    );
    assert_eq!(plan.summary.update, 1);
}

#[test]
fn a_rolled_back_update_is_planned_as_the_update_again_with_the_reason_it_failed() {
    let t = example();
    let mut deployed = converged(&t);
    let regional = deployed
        .stacks
        .iter_mut()
        .find(|s| s.spec.name == "acme-regional")
        .unwrap();
    // the update was rolled back: the stack holds its previous template
    regional.template.as_mut().unwrap()["Resources"]["ArtifactKey"]["Properties"]["PendingWindowInDays"] =
        30.into();
    regional.summary.status = "UPDATE_ROLLBACK_COMPLETE".into();
    regional.last_failure = Some("Invalid principal in policy".into());
    let plan = plan(&t, &deployed);
    let change = plan
        .changes
        .iter()
        .find(|c| c.stack.name == "acme-regional" && c.action != Action::NoChange)
        .unwrap();
    assert_eq!(change.action, Action::Update);
    assert_eq!(
        change.reason.as_deref(),
        Some(
            "its last update failed and was rolled back (Invalid principal in policy); apply tries it again"
        )
    );
    assert!(change.drift.is_empty());
    // a rolled-back stack whose template is what the topology wants has nothing to do
    let mut deployed = converged(&t);
    for stack in &mut deployed.stacks {
        stack.summary.status = "UPDATE_ROLLBACK_COMPLETE".into();
    }
    assert!(
        super::plan(&t, &deployed)
            .changes
            .iter()
            .all(|c| c.action == Action::NoChange)
    );
}

#[test]
fn a_failed_create_is_replaced_and_its_dependents_wait() {
    let t = example();
    let mut deployed = converged(&t);
    let deploy = deployed
        .stacks
        .iter_mut()
        .find(|s| s.spec.name == "acme-deploy")
        .unwrap();
    deploy.summary.status = "ROLLBACK_COMPLETE".into();
    deploy.summary.status_reason = Some("Role with name acme-codepipeline already exists.".into());
    let failed_account = deploy.spec.account.clone();
    let plan = plan(&t, &deployed);
    let replace = plan
        .changes
        .iter()
        .position(|c| c.action == Action::Replace)
        .unwrap();
    assert_eq!(plan.changes[replace].stack.account, failed_account);
    assert!(
        plan.changes[replace]
            .reason
            .as_deref()
            .unwrap()
            .contains("ROLLBACK_COMPLETE (Role with name")
    );
    // the bucket grants for that account's roles are withheld until the roles exist again
    let second = plan
        .changes
        .iter()
        .find(|c| c.stack.name == "acme-primary" && c.pass == 2)
        .unwrap();
    assert!(
        plan.changes
            .iter()
            .position(|c| std::ptr::eq(c, second))
            .unwrap()
            > replace
    );
    assert!(second.after.contains(&replace));
}

#[test]
fn a_stack_in_progress_is_planned_as_waited_for() {
    let t = example();
    let mut deployed = converged(&t);
    let index = deployed
        .stacks
        .iter()
        .position(|s| s.spec.name == "acme-primary")
        .unwrap();
    deployed.stacks[index].summary.status = "UPDATE_IN_PROGRESS".into();
    let plan = plan(&t, &deployed);
    assert!(plan.findings.is_empty(), "{:?}", plan.findings);
    let waits: Vec<&Change> = plan
        .changes
        .iter()
        .filter(|c| c.action == Action::Wait)
        .collect();
    assert_eq!(waits.len(), 1, "{:?}", actions(&plan));
    assert_eq!(waits[0].stack.name, "acme-primary");
    assert!(
        waits[0].template.is_some(),
        "apply acts on it once it settles"
    );
    assert!(
        waits[0]
            .reason
            .as_deref()
            .unwrap()
            .contains("CloudFormation is changing the stack (UPDATE_IN_PROGRESS)")
    );
    assert_eq!(plan.summary.wait, 1);
    assert!(plan.summary.has_changes());
    assert!(plan.summary_line().contains("1 to wait for"));
    // its resources exist meanwhile: nothing is held back to a second pass
    assert!(
        plan.changes.iter().all(|c| c.pass == 1),
        "{:?}",
        actions(&plan)
    );
}

#[test]
fn a_stack_being_created_is_waited_for_before_what_needs_it_and_one_being_deleted_is_recreated() {
    let t = example();
    let mut deployed = converged(&t);
    let regional = deployed
        .stacks
        .iter()
        .position(|s| s.spec.name == "acme-regional" && s.spec.region.as_str() == "eu-west-1")
        .unwrap();
    deployed.stacks[regional].summary.status = "CREATE_IN_PROGRESS".into();
    deployed.stacks[regional].summary.outputs.clear();
    let deploy = deployed
        .stacks
        .iter()
        .position(|s| s.spec.name == "acme-deploy" && s.spec.account.as_str() == "444444444444")
        .unwrap();
    deployed.stacks[deploy].summary.status = "DELETE_IN_PROGRESS".into();
    let plan = plan(&t, &deployed);
    let find = |name: &str, place: &str| {
        plan.changes
            .iter()
            .position(|c| {
                c.stack.name == name
                    && (c.stack.region.as_str() == place || c.stack.account.as_str() == place)
                    && c.pass == 1
            })
            .unwrap()
    };
    let creating = find("acme-regional", "eu-west-1");
    assert_eq!(plan.changes[creating].action, Action::Wait);
    let deleting = find("acme-deploy", "444444444444");
    assert_eq!(plan.changes[deleting].action, Action::Create);
    assert!(
        plan.changes[deleting]
            .reason
            .as_deref()
            .unwrap()
            .contains("waits for the delete")
    );
    // the deploy stacks need the eu-west-1 key: they wait for the stack being created
    for (i, c) in plan.changes.iter().enumerate() {
        if c.stack.name == "acme-deploy" && c.action != Action::NoChange {
            assert!(c.after.contains(&creating), "{}", plan.changes[i].label());
        }
    }
}

#[test]
fn stacks_the_topology_no_longer_implies_are_deleted_last() {
    let t = example();
    let deployed = converged(&t);
    let smaller = parse(&include_str!("../../topology.example.toml").replace(
        "regions = [\"us-east-1\", \"eu-west-1\"]",
        "regions = [\"us-east-1\"]",
    ))
    .unwrap()
    .topology;
    let plan = plan(&smaller, &deployed);
    let delete = plan.changes.last().unwrap();
    assert_eq!(
        (
            delete.stack.name.as_str(),
            delete.stack.region.as_str(),
            delete.action
        ),
        ("acme-regional", "eu-west-1", Action::Delete)
    );
    assert_eq!(
        delete.after.len(),
        plan.changes.len() - 1,
        "after every other change"
    );
    assert_eq!(plan.summary.delete, 1);
}

#[test]
fn destroy_removes_pipelines_first_then_deploy_stacks_then_the_rest() {
    let t = example();
    let plan = destroy(&t, &converged(&t));
    let kinds: Vec<_> = plan
        .changes
        .iter()
        .map(|c| (c.stack.key.kind(), c.wave))
        .collect();
    assert_eq!(kinds[0], (crate::layout::StackKind::Pipeline, 1));
    assert!(
        kinds[1..4]
            .iter()
            .all(|(k, w)| *k == crate::layout::StackKind::Deploy && *w == 2)
    );
    assert!(kinds[4..].iter().all(|(_, w)| *w == 3));
    assert!(plan.changes.iter().all(|c| c.action == Action::Delete));
    // the executor follows `after`, not waves: each kind waits for every delete of the kinds
    // that go before it
    let indices = |kind: crate::layout::StackKind| -> BTreeSet<usize> {
        (0..plan.changes.len())
            .filter(|&i| plan.changes[i].stack.key.kind() == kind)
            .collect()
    };
    let pipelines = indices(Pipeline);
    let deploys = indices(Deploy);
    for &i in &pipelines {
        assert!(plan.changes[i].after.is_empty());
    }
    for &i in &deploys {
        let after: BTreeSet<usize> = plan.changes[i].after.iter().copied().collect();
        assert_eq!(after, pipelines, "{}", plan.changes[i].label());
    }
    for &i in indices(Primary).iter().chain(&indices(Regional)) {
        let after: BTreeSet<usize> = plan.changes[i].after.iter().copied().collect();
        let before: BTreeSet<usize> = pipelines.union(&deploys).copied().collect();
        assert_eq!(after, before, "{}", plan.changes[i].label());
    }
}

#[test]
fn a_saved_plan_knows_when_what_is_deployed_changed() {
    let t = example();
    let deployed = converged(&t);
    let saved = plan(&t, &deployed);
    assert!(stale(&saved, &deployed).is_empty());
    let mut changed = deployed.clone();
    changed.stacks[0].summary.changed_at = "2026-11-26T11:00:00Z".into();
    let differences = stale(&saved, &changed);
    assert_eq!(differences.len(), 1);
    assert!(differences[0].contains(
        "was UPDATE_COMPLETE@2026-11-26T10:00:00Z, is now UPDATE_COMPLETE@2026-11-26T11:00:00Z"
    ));
    let round_trip = Plan::from_json(&saved.to_json()).unwrap();
    assert_eq!(round_trip, saved);
}

#[test]
fn a_template_over_the_body_limit_goes_by_url_from_the_build_bucket() {
    let plan = plan(&crate::fixtures::wide_pipeline(), &Deployed::default());
    assert!(plan.findings.is_empty(), "{:?}", plan.findings);
    let pipeline = plan
        .changes
        .iter()
        .find(|c| c.stack.name == "acme-pipeline-p0")
        .unwrap();
    let size = serde_json::from_str::<serde_json::Value>(pipeline.template.as_deref().unwrap())
        .unwrap()
        .to_string()
        .len();
    assert!(size > TEMPLATE_BODY_LIMIT, "{size}");
    let upload = pipeline.template_upload.as_ref().expect("uploaded");
    assert_eq!(upload.bucket, "acme-build-111111111111-us-east-1");
    assert_eq!(
        upload.url,
        "https://acme-build-111111111111-us-east-1.s3.us-east-1.amazonaws.com/plinth/templates/acme-pipeline-p0-111111111111-us-east-1-pass1.json"
    );
    // stacks under the limit go as a body
    assert!(
        plan.changes
            .iter()
            .filter(|c| c.stack.name != "acme-pipeline-p0")
            .all(|c| c.template_upload.is_none())
    );
}

#[test]
fn a_hundred_accounts_pass_the_bucket_policy_limit_unless_granted_by_organization() {
    let regions = [
        "us-east-1",
        "us-east-2",
        "us-west-2",
        "eu-west-1",
        "eu-central-1",
        "ap-southeast-2",
    ];
    let mut t = crate::fixtures::grid(100, &regions);
    let plan = plan(&t, &Deployed::default());
    let over: Vec<&Finding> = plan
        .findings
        .iter()
        .filter(|f| matches!(f, Finding::LimitExceeded { measure, .. } if measure.kind == LimitKind::BucketPolicy))
        .collect();
    assert_eq!(over.len(), regions.len(), "{:#?}", plan.findings);
    let text = over[0].to_string();
    assert!(text.contains("of 20 KB, over AWS's limit"), "{text}");
    assert!(text.contains("set `organization_id`"), "{text}");
    assert!(plan.limits[0].exceeded());

    t.organization_id = Some(crate::topology::OrganizationId::parse("o-a1b2c3d4e5").unwrap());
    let plan = plan_of(&t);
    assert!(plan.findings.is_empty(), "{:#?}", plan.findings);
    assert!(
        plan.limits.iter().all(|m| m.share() < 0.5),
        "{:#?}",
        plan.limits
    );
}

fn plan_of(t: &Topology) -> Plan {
    plan(t, &Deployed::default())
}

#[test]
fn the_example_is_measured_against_every_limit_and_fits() {
    let t = example();
    let graph = StackGraph::build(&t, &BTreeSet::new());
    let rendered = render_graph(&t, &graph);
    let measures: Vec<crate::templates::limits::Measure> = rendered
        .iter()
        .flat_map(|n| {
            crate::templates::limits::measure(
                &n.stack.pass_label(n.pass),
                n.stack.region.as_str(),
                &n.template.body(),
            )
        })
        .collect();
    for kind in [
        LimitKind::BucketPolicy,
        LimitKind::KeyPolicy,
        LimitKind::TrustPolicy,
        LimitKind::InlinePolicies,
        LimitKind::TemplateBody,
        LimitKind::Resources,
        LimitKind::Outputs,
        LimitKind::Parameters,
    ] {
        let largest = measures
            .iter()
            .filter(|m| m.kind == kind)
            .max_by_key(|m| m.size);
        let largest = largest.unwrap_or_else(|| panic!("no {kind:?} measured"));
        assert!(largest.size > 0 && !largest.exceeded(), "{largest}");
    }
    let (findings, fullest) = crate::plan::limits(&t, &rendered);
    assert!(findings.is_empty());
    assert!(fullest.len() <= 5 && !fullest.is_empty());
    assert!(fullest.windows(2).all(|w| w[0].share() >= w[1].share()));
}

/// The plan as a person reads it and as `--json` prints it (template bodies, which the template
/// snapshots cover, replaced by their size).
fn snapshot(name: &str, plan: &Plan) {
    let human = crate::output::plan::render(
        &crate::output::Style { color: false },
        plan,
        crate::output::plan::Detail::default(),
    );
    insta::assert_snapshot!(format!("{name}-human"), human);
    insta::assert_snapshot!(
        format!("{name}-markdown"),
        crate::output::markdown::render(plan)
    );
    let mut json: serde_json::Value = serde_json::from_str(&plan.to_json()).unwrap();
    for change in json["changes"].as_array_mut().unwrap() {
        if let Some(template) = change["template"].as_str() {
            change["template"] = format!("<{} bytes>", template.len()).into();
        }
        if let Some(diff) = change["diff"]["template"].as_str() {
            change["diff"]["template"] = format!("<{} lines>", diff.lines().count()).into();
        }
    }
    insta::assert_snapshot!(
        format!("{name}-json"),
        serde_json::to_string_pretty(&json).unwrap()
    );
}

fn edited(from: &str, to: &str) -> Topology {
    let text = include_str!("../../topology.example.toml");
    assert!(text.contains(from), "{from}");
    parse(&text.replacen(from, to, 1)).unwrap().topology
}

#[test]
fn plans_read_by_people_and_programs() {
    let example = example();
    let deployed = converged(&example);
    snapshot("fresh", &plan(&example, &Deployed::default()));
    snapshot(
        "added-account",
        &plan(
            &edited(
                "# Optional: the pipelines",
                "[[targets]]\nname = \"qa\"\naccount = \"555555555555\"\nregions = [\"us-west-2\"]\nprofile = \"qa\"\n\n# Optional: the pipelines",
            ),
            &deployed,
        ),
    );
    snapshot(
        "added-region",
        &plan(
            &edited(
                "regions = [\"us-east-1\", \"eu-west-1\"]",
                "regions = [\"us-east-1\", \"eu-west-1\", \"ap-southeast-2\"]",
            ),
            &deployed,
        ),
    );
    let removed = plan(
        &edited(
            "regions = [\"us-east-1\", \"eu-west-1\"]",
            "regions = [\"us-east-1\"]",
        ),
        &deployed,
    );
    assert!(removed.destructive);
    snapshot("removed-region", &removed);
    snapshot(
        "policy-change",
        &plan(
            &edited(
                "policies = [\"arn:aws:iam::aws:policy/PowerUserAccess\"]\n# A managed policy",
                "policies = [\"arn:aws:iam::aws:policy/ReadOnlyAccess\"]\n# A managed policy",
            ),
            &deployed,
        ),
    );
}

#[test]
fn a_drifted_plan_read_by_people_and_programs() {
    use crate::plan::drift::{
        Context, LiveConfig, LiveKey, LiveResource, LiveStack, PipelineDefinition, Stage,
    };
    let example = example();
    let mut deployed = converged(&example);
    let primary = deployed
        .stacks
        .iter_mut()
        .find(|s| s.spec.key == StackKey::Primary)
        .unwrap();
    let mut live = LiveStack {
        resources: vec![LiveResource {
            logical_id: "ArtifactKey".into(),
            resource_type: "AWS::KMS::Key".into(),
            physical_id: "1234abcd-12ab-34cd-56ef-1234567890ab".into(),
            config: LiveConfig::NotRead,
        }],
    };
    let template = primary.template.clone().unwrap();
    let declared = Context::new(
        &primary.spec.account,
        &primary.spec.region,
        &primary.summary.parameters,
        &live,
    )
    .resolve(&template["Resources"]["ArtifactKey"]["Properties"]["KeyPolicy"])
    .unwrap();
    live.resources[0].config = LiveConfig::Key(LiveKey {
        policy: Some(declared.to_string()),
        rotation: false,
        state: "Enabled".into(),
    });
    primary.live = Some(live);

    // and a pipeline with a stage added and a deployment made by another role
    let stack = deployed
        .stacks
        .iter_mut()
        .find(|s| matches!(s.spec.key, StackKey::Pipeline { .. }))
        .unwrap();
    let template = stack.template.clone().unwrap();
    let mut live = LiveStack {
        resources: vec![
            LiveResource {
                logical_id: "PipelineServiceRole".into(),
                resource_type: "AWS::IAM::Role".into(),
                physical_id: "acme-pipeline-example-service".into(),
                config: LiveConfig::NotRead,
            },
            LiveResource {
                logical_id: "Pipeline".into(),
                resource_type: "AWS::CodePipeline::Pipeline".into(),
                physical_id: "acme-example-service".into(),
                config: LiveConfig::NotRead,
            },
        ],
    };
    let mut definition = PipelineDefinition::declared(
        &template["Resources"]["Pipeline"]["Properties"],
        &Context::new(
            &stack.spec.account,
            &stack.spec.region,
            &stack.summary.parameters,
            &live,
        ),
    )
    .unwrap();
    definition.stages.push(Stage {
        name: "Backdoor".into(),
        actions: Vec::new(),
    });
    let action = &mut definition.stages[2].actions[0];
    action.configuration.insert(
        "RoleArn".into(),
        "arn:aws:iam::222222222222:role/admin".into(),
    );
    live.resources[1].config = LiveConfig::Pipeline(definition);
    stack.live = Some(live);

    let drifted = plan(&example, &deployed);
    assert_eq!(drifted.summary.drifted, 2);
    assert!(drifted.summary.has_changes());
    snapshot("drift", &drifted);
}

#[test]
fn deleting_a_deploy_stack_destroys_its_roles_and_a_pipeline_stack_destroys_nothing() {
    let example = example();
    let deployed = converged(&example);
    // production leaves: its deploy stack goes, with the two roles other accounts' pipelines name
    let text = include_str!("../../topology.example.toml");
    let start = text.find("[[targets]]\nname = \"production\"").unwrap();
    let end = text.find("# Optional: the pipelines").unwrap();
    let without = format!("{}{}", &text[..start], &text[end..]).replace(
        "targets = [\"development\", \"testing\", \"production\"]",
        "targets = [\"development\", \"testing\"]",
    );
    let planned = plan(&parse(&without).unwrap().topology, &deployed);
    let roles: Vec<(String, String)> = planned
        .destructions
        .iter()
        .map(|d| (d.account.to_string(), d.name.clone()))
        .collect();
    // (and eu-west-1, where only production deployed, goes with its bucket and key)
    let expected = [
        ("111111111111", "acme-artifacts-111111111111-eu-west-1"),
        ("111111111111", "ArtifactKey"),
        ("444444444444", "acme-cloudformation"),
        ("444444444444", "acme-codepipeline"),
    ]
    .map(|(a, n)| (a.to_owned(), n.to_owned()));
    assert_eq!(roles, expected);
    assert!(planned.destructive);
    // a pipeline removed: its role and pipeline go, no data does
    let start = text.find("# Optional: the pipelines").unwrap();
    let planned = plan(&parse(&text[..start]).unwrap().topology, &deployed);
    assert!(planned.changes.iter().any(|c| c.action == Action::Delete));
    assert!(!planned.destructive, "{:?}", planned.destructions);
    assert!(!plan(&example, &deployed).destructive);
}

mod units;
