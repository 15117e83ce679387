//! The planner with targets by organizational unit: the accounts a unit resolves to, who
//! joined and left, listed pipeline accounts, and deploy roles by StackSet.

use super::*;

/// The example with an organization (`organization_id` set or not, the table's extra keys in
/// `organization`) and a unit target `workloads` (its extra keys in `target`), resolved to a
/// unit holding `members`, in an organization whose management account is `management`.
fn with_unit_target(
    organization_id: bool,
    organization: &str,
    target: &str,
    members: &[&str],
    management: Option<&str>,
) -> Topology {
    let id = if organization_id {
        "organization_id = \"o-a1b2c3d4e5\""
    } else {
        "# organization_id = \"o-a1b2c3d4e5\""
    };
    let text = include_str!("../../../topology.example.toml")
        .replacen("# organization_id = \"o-a1b2c3d4e5\"", id, 1)
        .replacen(
            "# Optional: the pipelines",
            &format!(
                "[organization]\naccount = \"999999999999\"\nprofile = \"management\"\n{organization}\n\
                 [[targets]]\nname = \"workloads\"\norganizational_unit = \"ou-ab12-cd34ef56\"\n\
                 exclude = [\"777777777777\"]\nregions = [\"us-east-1\"]\n{target}\n# Optional: the pipelines"
            ),
            1,
        );
    let topology = parse(&text).unwrap().topology;
    let unit = topology.units[0].unit.clone();
    let accounts = members
        .iter()
        .map(|a| crate::topology::AccountId::parse(a).unwrap())
        .collect();
    let management = management.map(|m| crate::topology::AccountId::parse(m).unwrap());
    topology.resolve(&BTreeMap::from([(unit, accounts)]), management.as_ref())
}

/// The example with a unit target whose unit holds `members`, reached with a role per account.
fn with_unit(members: &[&str]) -> Topology {
    with_unit_target(
        false,
        "",
        "role_arn = \"arn:aws:iam::{account}:role/deployer\"\n",
        members,
        None,
    )
}

#[test]
fn a_plan_says_which_accounts_a_unit_resolved_to_and_who_joined_or_left() {
    let before = with_unit(&["555555555555", "666666666666", "777777777777"]);
    // A fresh foundation: the unit's accounts are targets with deploy stacks to create, and
    // nobody "joined", since there was no last apply.
    let fresh = plan(&before, &Deployed::default());
    let organization = fresh.organization.as_ref().unwrap();
    let ids = |list: &[crate::topology::AccountId]| -> Vec<String> {
        list.iter().map(ToString::to_string).collect()
    };
    assert_eq!(
        ids(&organization.units[0].accounts),
        ["555555555555", "666666666666"]
    );
    assert_eq!(ids(&organization.units[0].excluded), ["777777777777"]);
    assert!(organization.units[0].joined.is_empty());
    assert!(
        fresh
            .changes
            .iter()
            .any(|c| c.stack.account.as_str() == "666666666666" && c.action == Action::Create)
    );
    assert!(
        !fresh
            .changes
            .iter()
            .any(|c| c.stack.account.as_str() == "777777777777"),
        "an excluded account gets no stack"
    );

    // Applied, then 666… leaves the unit and 888… joins it.
    let mut deployed = converged(&before);
    deployed.recorded_accounts = Some(before.target_accounts().into_iter().collect());
    let after = with_unit(&["555555555555", "888888888888"]);
    // as the snapshot reads it: recorded at the last apply, no target now
    deployed.dropped_accounts = vec![crate::topology::AccountId::parse("666666666666").unwrap()];
    let organization = plan(&after, &deployed).organization.unwrap();
    assert_eq!(ids(&organization.units[0].joined), ["888888888888"]);
    assert_eq!(ids(&organization.left), ["666666666666"]);

    // A topology without units has no organization part.
    assert!(
        plan(&example(), &Deployed::default())
            .organization
            .is_none()
    );
}

#[test]
fn a_pipeline_account_its_unit_does_not_hold_is_a_finding_and_a_held_one_a_stage() {
    let topology = with_unit(&["555555555555"]);
    let mut edited = topology.clone();
    edited.pipelines[0].targets.push("workloads".into());
    edited.pipelines[0].unit_accounts = BTreeMap::from([(
        "workloads".to_owned(),
        vec![
            crate::topology::AccountId::parse("555555555555").unwrap(),
            crate::topology::AccountId::parse("666666666666").unwrap(),
        ],
    )]);
    let resolved = edited.resolve(edited.membership.as_ref().unwrap(), None);
    assert_eq!(
        resolved.pipelines[0].targets.last().map(String::as_str),
        Some("workloads-555555555555")
    );
    let plan = plan(&resolved, &Deployed::default());
    let missing: Vec<String> = plan.findings.iter().map(ToString::to_string).collect();
    assert_eq!(missing.len(), 1, "{missing:?}");
    assert!(
        missing[0].starts_with(
            "pipeline example-service deploys to account 666666666666 of target `workloads`"
        ),
        "{missing:?}"
    );
}

/// The example with a target by organizational unit whose deploy roles come from a StackSet,
/// resolved to `members`.
fn with_stack_set(members: &[&str]) -> Topology {
    with_unit_target(true, "deploy_roles = \"stackset\"\n", "", members, None)
}

fn instance(account: &str, status: &str) -> StackInstance {
    StackInstance {
        account: account.into(),
        region: "us-east-1".into(),
        status: status.into(),
        detailed_status: None,
        reason: (status != "CURRENT")
            .then(|| "Role with name acme-cloudformation already exists".into()),
        unit: Some("ou-ab12-cd34ef56".into()),
        drift_status: None,
    }
}

/// The topology converged, its StackSet holding `instances`; the set's place in the stacks.
fn converged_with(topology: &Topology, instances: Vec<StackInstance>) -> (Deployed, usize) {
    let mut deployed = converged(topology);
    let at = deployed
        .stacks
        .iter()
        .position(|s| s.spec.key.kind() == StackKind::StackSet)
        .unwrap();
    deployed.stacks[at].instances = Some(instances);
    (deployed, at)
}

/// The plan as a person reads it, without colour.
fn human(plan: &Plan) -> String {
    crate::output::plan::render(
        &crate::output::Style { color: false },
        plan,
        crate::output::plan::Detail::default(),
    )
}

#[test]
fn a_stack_set_serves_a_units_accounts_in_place_of_their_deploy_stacks() {
    let topology = with_stack_set(&["555555555555", "666666666666", "777777777777"]);
    let fresh = plan(&topology, &Deployed::default());
    let set = fresh
        .changes
        .iter()
        .find(|c| c.stack.key.kind() == StackKind::StackSet)
        .unwrap();
    assert_eq!(set.action, Action::Create);
    assert_eq!(
        (set.stack.name.as_str(), set.stack.account.as_str()),
        ("acme-deploy-workloads", "999999999999")
    );
    let instances = set.instances.as_ref().unwrap();
    assert_eq!(instances.units, ["ou-ab12-cd34ef56"]);
    assert_eq!(
        instances
            .skip
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["777777777777"]
    );
    assert_eq!((instances.existing, instances.wanted), (0, 2));
    assert!(
        !fresh
            .changes
            .iter()
            .any(|c| ["555555555555", "666666666666"].contains(&c.stack.account.as_str())),
        "no deploy stack of plinth's own in the unit's accounts"
    );
    // The set's template names each instance's own account.
    let template = set.template.as_deref().unwrap();
    assert!(
        template.contains("arn:${AWS::Partition}:iam::${AWS::AccountId}:role/acme-cloudformation"),
        "{template}"
    );

    // Deployed with every instance current: nothing to do.
    let (mut deployed, at) = converged_with(
        &topology,
        vec![
            instance("555555555555", "CURRENT"),
            instance("666666666666", "CURRENT"),
        ],
    );
    let settled = plan(&topology, &deployed);
    assert!(!settled.summary.has_changes(), "{:?}", settled.summary);

    // An instance missing, one of an excluded account, one that failed: the set is updated
    // although its template is not.
    deployed.stacks[at].instances = Some(vec![
        instance("555555555555", "OUTDATED"),
        instance("777777777777", "CURRENT"),
    ]);
    let repaired = plan(&topology, &deployed);
    let set = repaired
        .changes
        .iter()
        .find(|c| c.stack.key.kind() == StackKind::StackSet)
        .unwrap();
    assert_eq!(set.action, Action::Update);
    let instances = set.instances.as_ref().unwrap();
    let ids = |list: &[crate::topology::AccountId]| -> Vec<String> {
        list.iter().map(ToString::to_string).collect()
    };
    assert_eq!(ids(&instances.add), ["666666666666"]);
    assert_eq!(ids(&instances.remove), ["777777777777"]);
    assert_eq!(instances.not_current.len(), 1);
    assert_eq!(instances.not_current[0].account, "555555555555");
    let reason = set.reason.as_deref().unwrap();
    assert!(
        reason.contains("1 account(s) of its units have no instance"),
        "{reason}"
    );
    assert!(
        set.template.is_some(),
        "an update of instances alone puts the template again"
    );

    // Destroy deletes the instances, then the set, with the deploy stacks' rank.
    let teardown = destroy(&topology, &deployed);
    let set = teardown
        .changes
        .iter()
        .find(|c| c.stack.key.kind() == StackKind::StackSet)
        .unwrap();
    assert_eq!(set.action, Action::Delete);
    assert_eq!(set.wave, 2);
    assert_eq!(set.instances.as_ref().unwrap().existing, 2);
    assert!(
        teardown
            .destructions
            .iter()
            .any(|d| d.name == "acme-cloudformation"
                && d.consequence.contains("every account of the StackSet")),
        "{:?}",
        teardown.destructions
    );
}

#[test]
fn a_pipeline_waits_for_the_stack_set_that_holds_its_accounts_roles() {
    let mut topology = with_stack_set(&["555555555555"]);
    topology.pipelines[0].targets.push("workloads".into());
    topology.pipelines[0].unit_accounts = BTreeMap::from([(
        "workloads".to_owned(),
        vec![crate::topology::AccountId::parse("555555555555").unwrap()],
    )]);
    let resolved = topology.resolve(topology.membership.as_ref().unwrap(), None);
    let fresh = plan(&resolved, &Deployed::default());
    let set = fresh
        .changes
        .iter()
        .position(|c| c.stack.key.kind() == StackKind::StackSet)
        .unwrap();
    let pipeline = fresh
        .changes
        .iter()
        .find(|c| c.stack.key.kind() == Pipeline)
        .unwrap();
    assert!(pipeline.after.contains(&set), "{:?}", pipeline.after);
    assert!(pipeline.wave > fresh.changes[set].wave);
    // The set's template lets the pipeline's role assume the deploy role.
    assert!(
        fresh.changes[set]
            .template
            .as_deref()
            .unwrap()
            .contains("acme-pipeline-example-service"),
    );
    // Access changes name the accounts the set serves, not the organization account.
    let who: Vec<&str> = fresh.access.iter().map(|a| a.who.as_str()).collect();
    assert!(
        who.contains(&"role acme-codepipeline in every account of target `workloads` (StackSet)"),
        "{who:?}"
    );
    assert!(!who.iter().any(|w| w.contains("999999999999")), "{who:?}");
}

#[test]
fn the_management_account_in_a_unit_a_stack_set_serves_is_no_account_of_the_set() {
    // The organization account (999999999999) manages the organization, and the unit holds it.
    let members = ["555555555555", "999999999999"];
    let management = Some("999999999999");
    let stack_set = |members: &[&str]| {
        with_unit_target(
            true,
            "deploy_roles = \"stackset\"\n",
            "",
            members,
            management,
        )
    };
    let topology = stack_set(&members);
    let ids = |list: &[crate::topology::AccountId]| -> Vec<String> {
        list.iter().map(ToString::to_string).collect()
    };
    let fresh = plan(&topology, &Deployed::default());
    assert!(fresh.findings.is_empty(), "{:?}", fresh.findings);
    let unit = &fresh.organization.as_ref().unwrap().units[0];
    assert_eq!(ids(&unit.accounts), ["555555555555"]);
    assert_eq!(
        unit.management.as_ref().map(ToString::to_string).as_deref(),
        management
    );
    let set = fresh
        .changes
        .iter()
        .find(|c| c.stack.key.kind() == StackKind::StackSet)
        .unwrap();
    let instances = set.instances.as_ref().unwrap();
    assert_eq!(ids(&instances.add), ["555555555555"]);
    assert!(instances.skip.is_empty(), "{:?}", instances.skip);
    let text = human(&fresh);
    assert!(
        text.contains("999999999999 is the management account: StackSets never deploy to it"),
        "{text}"
    );

    // Its one instance deployed, the set is settled: the management account is never an
    // instance to add.
    let (deployed, _) = converged_with(&topology, vec![instance("555555555555", "CURRENT")]);
    let settled = plan(&topology, &deployed);
    assert!(!settled.summary.has_changes(), "{:?}", settled.summary);

    // A pipeline that lists it gets a finding that says why it has no stage there.
    let mut listing = topology.clone();
    listing.pipelines[0].targets.push("workloads".into());
    listing.pipelines[0].unit_accounts = BTreeMap::from([(
        "workloads".to_owned(),
        vec![crate::topology::AccountId::parse("999999999999").unwrap()],
    )]);
    let management_id = crate::topology::AccountId::parse("999999999999").unwrap();
    let listing = listing.resolve(listing.membership.as_ref().unwrap(), Some(&management_id));
    let findings = plan(&listing, &Deployed::default()).findings;
    assert!(
        matches!(
            findings.as_slice(),
            [Finding::ManagementAccountListed { account, .. }] if account == &management_id
        ),
        "{findings:?}"
    );

    // With deploy stacks of plinth's own, the management account is a target like any other.
    let stacks = with_unit_target(
        false,
        "",
        "role_arn = \"arn:aws:iam::{account}:role/deployer\"\n",
        &members,
        management,
    );
    assert!(stacks.target_accounts().contains(&management_id));
    assert!(stacks.management.is_none());
}

#[test]
fn an_inoperable_instance_is_left_to_a_hand_not_updated_for_on_every_apply() {
    let topology = with_stack_set(&["555555555555", "666666666666"]);
    let mut broken = instance("666666666666", "INOPERABLE");
    broken.detailed_status = Some("INOPERABLE".into());
    broken.reason = Some("The bucket you tried to delete is not empty".into());
    let (deployed, _) =
        converged_with(&topology, vec![instance("555555555555", "CURRENT"), broken]);
    let settled = plan(&topology, &deployed);
    // CloudFormation leaves the instance out of every update: updating the set for it would
    // change nothing, plan after plan.
    assert!(!settled.summary.has_changes(), "{:?}", settled.summary);
    let set = settled
        .changes
        .iter()
        .find(|c| c.stack.key.kind() == StackKind::StackSet)
        .unwrap();
    let instances = set.instances.as_ref().unwrap();
    assert!(instances.not_current.is_empty());
    assert!(instances.add.is_empty());
    assert_eq!(instances.inoperable.len(), 1);
    assert_eq!(instances.inoperable[0].account, "666666666666");
    let text = human(&settled);
    assert!(
        text.contains(
            "666666666666 INOPERABLE (The bucket you tried to delete is not empty): a delete of its instance failed"
        ),
        "{text}"
    );
    assert!(
        text.contains("--stack-set-name acme-deploy-workloads --regions us-east-1 --deployment-targets OrganizationalUnitIds=ou-ab12-cd34ef56,Accounts=666666666666,AccountFilterType=INTERSECTION --retain-stacks"),
        "{text}"
    );
    let markdown = crate::output::markdown::render(&settled);
    assert!(
        markdown.contains("the instance of 666666666666 is INOPERABLE (The bucket you tried to delete is not empty)"),
        "{markdown}"
    );
}

#[test]
fn an_account_a_stack_set_serves_after_a_switch_is_not_left_but_warned_of_its_old_deploy_stack() {
    let topology = with_stack_set(&["555555555555", "666666666666"]);
    // The last apply, with deploy stacks of plinth's own, recorded 555555555555 and
    // 888888888888; the snapshot finds the first served by the set now, the second dropped.
    let ids = |list: &[&str]| -> Vec<crate::topology::AccountId> {
        list.iter()
            .map(|a| crate::topology::AccountId::parse(a).unwrap())
            .collect()
    };
    let deployed = Deployed {
        dropped_accounts: ids(&["888888888888"]),
        superseded_deploy_stacks: ids(&["555555555555"]),
        ..Deployed::default()
    };
    let switched = plan(&topology, &deployed);
    assert_eq!(
        switched.organization.as_ref().unwrap().left,
        ids(&["888888888888"]),
        "an account the set serves did not leave"
    );
    assert_eq!(switched.warnings.len(), 2, "{:?}", switched.warnings);
    assert!(
        switched.warnings[1].starts_with(
            "account 555555555555 now gets its deploy roles from StackSet acme-deploy-workloads, but the last apply gave it plinth's own deploy stack acme-deploy"
        ),
        "{}",
        switched.warnings[1]
    );
    assert!(
        switched.warnings[1].contains(
            "aws cloudformation delete-stack --stack-name acme-deploy --region us-east-1`"
        ),
        "{}",
        switched.warnings[1]
    );
    assert!(
        switched.warnings[0].starts_with("account 888888888888 is no longer a target"),
        "{}",
        switched.warnings[0]
    );
}
