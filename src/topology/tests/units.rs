//! Targets by organizational unit in the topology file: parsing, resolving to accounts,
//! pipelines listing a unit's accounts, and the `[organization]` table.

use super::*;

/// `VALID` with a target by organizational unit, read through `[organization]`.
const UNITS: &str = r#"
[organization]
account = "999999999999"
profile = "management"

[[targets]]
name = "workloads"
organizational_unit = "ou-ab12-cd34ef56"
exclude = ["555555555555"]
regions = ["us-west-2"]
role_arn = "arn:aws:iam::{account}:role/deployer"
policies = ["arn:aws:iam::aws:policy/PowerUserAccess"]
"#;

fn with_units(extra: &str) -> String {
    format!("{VALID}{extra}")
}

#[test]
fn a_target_by_organizational_unit_parses_and_resolves_to_its_accounts() {
    let topology = parse(&with_units(UNITS)).unwrap().topology;
    assert_eq!(topology.units.len(), 1);
    assert_eq!(topology.targets.len(), 2);
    let unit = &topology.units[0];
    assert_eq!(unit.unit.as_str(), "ou-ab12-cd34ef56");
    assert_eq!(unit.exclude, [AccountId::parse("555555555555").unwrap()]);
    assert_eq!(
        topology.organization.as_ref().unwrap().credentials,
        Credentials::Profile("management".into())
    );
    // Its regions are the foundation's before any account is known.
    assert!(
        topology
            .regions()
            .contains(&Region::parse("us-west-2").unwrap())
    );

    let ids = |ids: &[&str]| -> BTreeSet<AccountId> {
        ids.iter().map(|a| AccountId::parse(a).unwrap()).collect()
    };
    let membership = Membership::from([(
        unit.unit.clone(),
        // 333… is a target of its own, 555… is excluded.
        ids(&[
            "444444444444",
            "333333333333",
            "555555555555",
            "666666666666",
        ]),
    )]);
    let resolved = topology.resolve(&membership, None);
    assert_eq!(resolved.units, topology.units);
    assert_eq!(
        resolved.resolve(&membership, None),
        resolved,
        "resolving twice adds nothing"
    );
    let accounts: Vec<(&str, &str)> = resolved
        .targets
        .iter()
        .map(|t| (t.name.as_str(), t.account.as_str()))
        .collect();
    assert_eq!(
        accounts,
        [
            ("development", "222222222222"),
            ("production", "333333333333"),
            ("workloads-444444444444", "444444444444"),
            ("workloads-666666666666", "666666666666"),
        ]
    );
    assert_eq!(
        resolved.targets[2].credentials,
        Credentials::AssumeRole("arn:aws:iam::444444444444:role/deployer".into())
    );
    assert_eq!(
        resolved.account_policies(&AccountId::parse("333333333333").unwrap()),
        ["arn:aws:iam::aws:policy/PowerUserAccess"],
        "the account's own entry configures it"
    );
}

#[test]
fn a_unit_target_takes_the_default_role_and_needs_one() {
    let without_role = UNITS.replace("role_arn = \"arn:aws:iam::{account}:role/deployer\"\n", "");
    let error = errors(&with_units(&without_role)).remove(0);
    assert_eq!(error.key, "targets[2].role_arn");
    assert!(error.message.contains("needs a role"), "{error:?}");

    let text = VALID.replacen(
        "[build]",
        "[defaults]\nrole_arn = \"arn:aws:iam::{account}:role/org\"\n\n[build]",
        1,
    );
    let topology = parse(&format!("{text}{without_role}")).unwrap().topology;
    assert_eq!(
        topology.units[0].role_arn,
        "arn:aws:iam::{account}:role/org"
    );
}

#[test]
fn unit_targets_are_checked_for_what_cannot_work() {
    let cases = [
        (
            "organizational_unit = \"ou-ab12-cd34ef56\"",
            "organizational_unit = \"ou-x\"",
            "targets[2].organizational_unit",
            "is not an organizational unit id",
        ),
        (
            "organizational_unit = \"ou-ab12-cd34ef56\"",
            "organizational_unit = \"ou-ab12-cd34ef56\"\naccount = \"444444444444\"",
            "targets[2].account",
            "are both set",
        ),
        (
            "role_arn = \"arn:aws:iam::{account}:role/deployer\"",
            "profile = \"workloads\"",
            "targets[2].profile",
            "cannot use one profile",
        ),
        (
            "role_arn = \"arn:aws:iam::{account}:role/deployer\"",
            "role_arn = \"arn:aws:iam::444444444444:role/deployer\"",
            "targets[2].role_arn",
            "has no `{account}`",
        ),
        (
            "exclude = [\"555555555555\"]",
            "exclude = [\"555555555555\", \"555555555555\"]",
            "targets[2].exclude[1]",
            "listed twice",
        ),
        (
            "exclude = [\"555555555555\"]",
            "exclude = [\"5555\"]",
            "targets[2].exclude[0]",
            "12 digits",
        ),
        (
            "[organization]\naccount = \"999999999999\"\nprofile = \"management\"\n",
            "",
            "targets[2].organizational_unit",
            "`[organization]`, which is missing",
        ),
    ];
    for (from, to, key, message) in cases {
        let text = with_units(&UNITS.replacen(from, to, 1));
        let errors = errors(&text);
        assert_eq!(errors.len(), 1, "{from} -> {to}: {errors:#?}");
        assert_eq!(errors[0].key, key, "{from} -> {to}");
        assert!(errors[0].message.contains(message), "{:?}", errors[0]);
    }
}

#[test]
fn a_target_names_an_account_or_a_unit_and_exclude_needs_a_unit() {
    let error = error_with("account = \"222222222222\"\n", "");
    assert_eq!(error.key, "targets[0].account");
    assert!(
        error
            .message
            .contains("`account` or an `organizational_unit`")
    );
    let error = error_with(
        "account = \"222222222222\"\n",
        "account = \"222222222222\"\nexclude = [\"555555555555\"]\n",
    );
    assert_eq!(error.key, "targets[0].exclude");
}

#[test]
fn a_pipeline_stage_cannot_name_a_unit() {
    let text = with_units(UNITS).replacen(
        "targets = [\"development\", \"production\"]",
        "targets = [\"development\", \"workloads\"]",
        1,
    );
    let errors = errors(&text);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].key, "pipelines[0].targets[1]");
    assert!(errors[0].message.contains("deploys to one account"));
}

#[test]
fn a_pipeline_deploys_to_the_listed_accounts_of_a_unit_one_stage_each() {
    let text = with_units(UNITS).replacen(
        "targets = [\"development\", \"production\"]",
        "targets = [\"development\", \"workloads\", \"production\"]\n\
         accounts = { workloads = [\"666666666666\", \"333333333333\", \"444444444444\", \"777777777777\"] }",
        1,
    );
    let topology = parse(&text).unwrap().topology;
    let pipeline = &topology.pipelines[0];
    assert_eq!(pipeline.unit_accounts["workloads"].len(), 4);
    let unit = topology.units[0].unit.clone();
    let members = ["444444444444", "333333333333", "666666666666"]
        .iter()
        .map(|a| AccountId::parse(a).unwrap())
        .collect();
    let resolved = topology.resolve(&Membership::from([(unit, members)]), None);
    // In the listed order; 333… is configured by its own entry (`production`), whose stage comes
    // once, in its first place; 777… is not in the unit, so it has no stage (and a finding).
    assert_eq!(
        resolved.pipelines[0].targets,
        [
            "development",
            "workloads-666666666666",
            "production",
            "workloads-444444444444"
        ]
    );
    assert_eq!(
        resolved.unheld_pipeline_accounts(),
        [(
            "service".to_owned(),
            "workloads".to_owned(),
            AccountId::parse("777777777777").unwrap()
        )]
    );
}

#[test]
fn a_pipelines_accounts_name_its_unit_targets_and_accounts_they_do_not_exclude() {
    let cases = [
        (
            "targets = [\"development\", \"workloads\"]\naccounts = { development = [\"222222222222\"], workloads = [\"444444444444\"] }",
            "pipelines[0].accounts.development",
            "is not a target by organizational unit",
        ),
        (
            "targets = [\"development\"]\naccounts = { workloads = [\"444444444444\"] }",
            "pipelines[0].accounts.workloads",
            "do not name `workloads`",
        ),
        (
            "targets = [\"workloads\"]\naccounts = { workloads = [\"555555555555\"] }",
            "pipelines[0].accounts.workloads[0]",
            "is excluded",
        ),
        (
            "targets = [\"workloads\"]\naccounts = { workloads = [\"444444444444\", \"444444444444\"] }",
            "pipelines[0].accounts.workloads[1]",
            "listed twice",
        ),
        (
            "targets = [\"workloads\"]\naccounts = { workloads = [] }",
            "pipelines[0].accounts.workloads",
            "at least one account",
        ),
    ];
    for (to, key, message) in cases {
        let text = with_units(UNITS).replacen("targets = [\"development\", \"production\"]", to, 1);
        let errors = errors(&text);
        assert_eq!(errors.len(), 1, "{to}: {errors:#?}");
        assert_eq!(errors[0].key, key, "{to}");
        assert!(errors[0].message.contains(message), "{:?}", errors[0]);
    }
}

#[test]
fn deploy_roles_by_stack_set_need_organization_id_and_no_role_per_account() {
    let stack_sets = UNITS
        .replace(
            "profile = \"management\"\n",
            "profile = \"management\"\ndeploy_roles = \"stackset\"\nfailure_tolerance_percentage = 0\ndelegated_admin = true\n",
        )
        .replace("role_arn = \"arn:aws:iam::{account}:role/deployer\"\n", "");
    let error = errors(&with_units(&stack_sets)).remove(0);
    assert_eq!(error.key, "organization.deploy_roles");
    assert!(
        error.message.contains("need `organization_id`"),
        "{error:?}"
    );
    assert!(error.span.is_some(), "points at the key: {error:?}");

    let text = with_units(&stack_sets).replacen(
        "[build]",
        "organization_id = \"o-a1b2c3d4e5\"\n\n[build]",
        1,
    );
    let topology = parse(&text).unwrap().topology;
    let organization = topology.organization.as_ref().unwrap();
    assert_eq!(
        organization.deploy_roles,
        crate::topology::DeployRoles::StackSet
    );
    assert_eq!(organization.stack_set.failure_tolerance_percentage, 0);
    assert_eq!(
        organization.stack_set.max_concurrent_percentage,
        crate::topology::StackSetOptions::DEFAULT_MAX_CONCURRENT_PERCENTAGE
    );
    assert!(organization.stack_set.delegated_admin);

    // The unit's accounts are served by the set: no deploy stack, no credentials of their own.
    let unit = topology.units[0].unit.clone();
    let resolved = topology.resolve(
        &Membership::from([(
            unit,
            BTreeSet::from([
                AccountId::parse("444444444444").unwrap(),
                AccountId::parse("333333333333").unwrap(),
            ]),
        )]),
        None,
    );
    let four = AccountId::parse("444444444444").unwrap();
    assert!(!resolved.target_accounts().contains(&four));
    assert!(!resolved.accounts().contains_key(&four));
    assert_eq!(
        resolved.stack_set_of(&four).map(|u| u.name.as_str()),
        Some("workloads")
    );
    // 333… has an entry of its own: it keeps its deploy stack.
    let three = AccountId::parse("333333333333").unwrap();
    assert!(resolved.target_accounts().contains(&three));
    assert!(resolved.stack_set_of(&three).is_none());
}

#[test]
fn stack_set_options_are_checked() {
    for (line, key, message) in [
        (
            "deploy_roles = \"sets\"",
            "organization.deploy_roles",
            "is not a way to deploy",
        ),
        (
            "max_concurrent_percentage = 0",
            "organization.max_concurrent_percentage",
            "from 1 to 100",
        ),
        (
            "failure_tolerance_percentage = 101",
            "organization.failure_tolerance_percentage",
            "from 0 to 100",
        ),
        (
            "delegated_admin = \"yes\"",
            "organization.delegated_admin",
            "`true` or `false`",
        ),
    ] {
        let text = with_units(&UNITS.replace(
            "profile = \"management\"\n",
            &format!("profile = \"management\"\n{line}\n"),
        ));
        let found = errors(&text);
        assert!(
            found
                .iter()
                .any(|e| e.key == key && e.message.contains(message)),
            "{line}: {found:?}"
        );
    }
}
