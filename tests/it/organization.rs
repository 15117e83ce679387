//! Targets by organizational unit against the emulator's AWS Organizations: an organization
//! built in a management account, its units resolved at plan time, an account moved into a unit
//! between two applies.

use crate::common::{BUILD, Emulator, path_str};
use crate::orgs::{self, Builder, MANAGEMENT, deploy_role, organizations, strings};

pub(crate) struct Organization {
    pub(crate) id: String,
    pub(crate) root: String,
    pub(crate) unit: String,
    pub(crate) team: String,
    /// Accounts directly in `unit`, then in `team` (a unit below it).
    pub(crate) members: Vec<String>,
    /// An account at the root, in no unit.
    pub(crate) outside: String,
}

/// An organization with a `workloads` unit (two accounts), a `team` unit below it (three), and
/// one account left at the root.
pub(crate) async fn organization(emulator: &Emulator) -> Organization {
    let mut org = Builder::create(emulator).await;
    let root = org.root.clone();
    let unit = org.unit(&root, "workloads").await;
    let team = org.unit(&unit, "team").await;
    let mut members = Vec::new();
    for parent in [&unit, &unit, &team, &team, &team] {
        members.push(org.account(parent).await);
    }
    let outside = org.account(&root).await;
    Organization {
        id: org.id,
        root,
        unit,
        team,
        members,
        outside,
    }
}

pub(crate) fn topology(org: &Organization, exclude: &str) -> String {
    format!(
        "name = \"acme\"\norganization_id = \"{id}\"\n\n\
         [organization]\naccount = \"{MANAGEMENT}\"\nrole_arn = \"arn:aws:iam::{MANAGEMENT}:role/plinth-operator\"\n\n\
         [build]\naccount = \"{BUILD}\"\nregion = \"us-east-1\"\nprofile = \"build\"\n\n\
         [[targets]]\nname = \"workloads\"\norganizational_unit = \"{unit}\"\nexclude = [\"{exclude}\"]\n\
         regions = [\"us-east-1\", \"us-west-2\"]\nrole_arn = \"arn:aws:iam::{{account}}:role/plinth-operator\"\n\
         policies = [\"arn:aws:iam::aws:policy/PowerUserAccess\"]\n",
        id = org.id,
        unit = org.unit,
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn targets_by_unit_resolve_apply_take_in_a_moved_account_and_destroy() {
    let emulator = Emulator::start();
    let org = organization(&emulator).await;
    let excluded = org.members[3].clone();
    let file = emulator.write("topology.toml", &topology(&org, &excluded));
    let file = path_str(&file).to_owned();
    emulator.plinth(&["validate", "-t", &file]).expect(0);

    // The unit and the unit below it: four accounts, one excluded; the root account is not in it.
    let plan = emulator.plinth(&["plan", "-t", &file, "--json"]);
    plan.expect(0);
    let json = plan.json();
    let unit = &json["organization"]["units"][0];
    let mut expected: Vec<String> = org
        .members
        .iter()
        .filter(|a| **a != excluded)
        .cloned()
        .collect();
    expected.sort();
    assert_eq!(strings(&unit["accounts"]), expected);
    assert_eq!(strings(&unit["excluded"]), std::slice::from_ref(&excluded));
    assert!(
        strings(&unit["joined"]).is_empty(),
        "a fresh foundation: nobody joined"
    );
    let human = emulator.plinth(&["plan", "-t", &file]);
    human.assert_stderr(format!("workloads ({}): 4 accounts, 1 excluded", org.unit));

    emulator.plinth(&["apply", "-t", &file, "--yes"]).expect(0);
    for account in &expected {
        assert!(deploy_role(&emulator, account).await, "{account}");
    }
    assert!(
        !deploy_role(&emulator, &excluded).await,
        "the excluded account gets nothing"
    );
    assert!(!deploy_role(&emulator, &org.outside).await);
    emulator
        .plinth(&["plan", "-t", &file, "--detailed-exitcode"])
        .expect(0);

    // A pipeline may deploy to an account of the unit once the unit holds it: before, the plan
    // refuses it with a finding.
    let with_pipeline = format!(
        "{}\n[[pipelines]]\nname = \"service\"\ntargets = [\"workloads\"]\naccounts = {{ workloads = [\"{}\"] }}\n\
         sources = [{{ name = \"App\", key = \"service/app.zip\" }}]\nstack = \"service\"\n",
        topology(&org, &excluded),
        org.outside
    );
    let pipeline_file = emulator.write("pipeline.toml", &with_pipeline);
    let pipeline_file = path_str(&pipeline_file).to_owned();
    let refused = emulator.plinth(&["plan", "-t", &pipeline_file]);
    refused.expect(1);
    refused.assert_stderr(format!(
        "pipeline service deploys to account {} of target `workloads`, but its organizational unit does not hold it now",
        org.outside
    ));

    // An account moved into the unit below: the next plan names it as joined and gives it its
    // deploy stack; the grants name the organization, so no bucket or key policy changes.
    orgs::move_account(
        &organizations(&emulator).await,
        &org.outside,
        &org.root,
        &org.team,
    )
    .await;
    let plan = emulator.plinth(&["plan", "-t", &file, "--json"]);
    let json = plan.json();
    assert_eq!(
        strings(&json["organization"]["units"][0]["joined"]),
        std::slice::from_ref(&org.outside)
    );
    let creates: Vec<(String, String)> = json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] != "no_change")
        .map(|c| {
            (
                c["stack"]["account"].as_str().unwrap().to_owned(),
                c["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        creates.contains(&(org.outside.clone(), "create".to_owned())),
        "{creates:?}"
    );
    let human = emulator.plinth(&["plan", "-t", &file]);
    human.assert_stderr(format!("+ {} joined since the last apply", org.outside));
    emulator.plinth(&["apply", "-t", &file, "--yes"]).expect(0);
    assert!(deploy_role(&emulator, &org.outside).await);
    emulator
        .plinth(&["plan", "-t", &file, "--detailed-exitcode"])
        .expect(0);

    // Listed now, the account gets its stage.
    emulator
        .plinth(&["apply", "-t", &pipeline_file, "--yes"])
        .expect(0);
    let stages = emulator.pipeline_stages("acme-service").await;
    assert!(
        stages.contains(&format!("workloads-{}", org.outside)),
        "{stages:?}"
    );
    emulator
        .plinth(&[
            "destroy",
            "-t",
            &pipeline_file,
            "--yes",
            "--allow-destructive",
        ])
        .expect(0);
    for account in expected.iter().chain([&org.outside]) {
        assert!(!deploy_role(&emulator, account).await, "{account}");
    }
    // Nothing is left: the plan is a fresh one again (primary, regional, five deploy stacks).
    emulator
        .plinth(&["plan", "-t", &file])
        .assert_stderr("Plan: 7 to create, 0 to update, 0 to delete, 0 unchanged.");
}

#[test]
fn a_unit_the_organization_does_not_have_is_a_clear_error() {
    let emulator = Emulator::start();
    let text = format!(
        "name = \"acme\"\n\n[organization]\naccount = \"{MANAGEMENT}\"\nrole_arn = \"arn:aws:iam::{MANAGEMENT}:role/plinth-operator\"\n\n\
         [build]\naccount = \"{BUILD}\"\nregion = \"us-east-1\"\nprofile = \"build\"\n\n\
         [[targets]]\nname = \"workloads\"\norganizational_unit = \"ou-ab12-cd34ef56\"\nregions = [\"us-east-1\"]\n\
         role_arn = \"arn:aws:iam::{{account}}:role/plinth-operator\"\n"
    );
    let file = emulator.write("topology.toml", &text);
    let plan = emulator.plinth(&["plan", "-t", path_str(&file)]);
    plan.expect(1);
    plan.assert_stderr("cannot read the accounts of organizational unit ou-ab12-cd34ef56 (target `workloads`) with account 999999999999");
    plan.assert_stderr("organizational_unit");
}
