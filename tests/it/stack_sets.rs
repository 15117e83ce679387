//! Deploy roles by StackSet against the emulator: an organization of forty accounts in two
//! units, a service-managed StackSet per unit target, an account that joins a unit and gets its
//! roles from auto-deployment with no apply, an excluded account, and an instance that fails in
//! one account while the others succeed.

use aws_sdk_cloudformation::types::StackStatus;

use crate::common::{BUILD, Emulator, path_str};
use crate::orgs::{self, Builder, MANAGEMENT, deploy_role, organizations, strings};

pub(crate) struct Organization {
    pub(crate) id: String,
    pub(crate) root: String,
    /// The two units and the accounts in each, in creation order.
    pub(crate) units: Vec<(String, Vec<String>)>,
    /// An account at the root, in no unit.
    pub(crate) outside: String,
}

async fn stack_sets(emulator: &Emulator) -> aws_sdk_cloudformation::Client {
    aws_sdk_cloudformation::Client::new(&emulator.sdk(MANAGEMENT, "us-east-1").await)
}

/// An organization with units `apps` and `data` of `per_unit` accounts each, and one account at
/// the root.
pub(crate) async fn organization(emulator: &Emulator, per_unit: usize) -> Organization {
    let mut org = Builder::create(emulator).await;
    let root = org.root.clone();
    let mut units = Vec::new();
    for name in ["apps", "data"] {
        let unit = org.unit(&root, name).await;
        let mut accounts = Vec::new();
        for _ in 0..per_unit {
            accounts.push(org.account(&unit).await);
        }
        units.push((unit, accounts));
    }
    let outside = org.account(&root).await;
    Organization {
        id: org.id,
        root,
        units,
        outside,
    }
}

pub(crate) fn topology(org: &Organization, exclude: &str, pipeline: Option<&str>) -> String {
    let mut text = format!(
        "name = \"acme\"\norganization_id = \"{id}\"\n\n\
         [organization]\naccount = \"{MANAGEMENT}\"\nrole_arn = \"arn:aws:iam::{MANAGEMENT}:role/plinth-operator\"\n\
         deploy_roles = \"stackset\"\nmax_concurrent_percentage = 50\n\n\
         [build]\naccount = \"{BUILD}\"\nregion = \"us-east-1\"\nprofile = \"build\"\n\n\
         [[targets]]\nname = \"apps\"\norganizational_unit = \"{apps}\"\nexclude = [\"{exclude}\"]\n\
         regions = [\"us-east-1\", \"us-west-2\"]\npolicies = [\"arn:aws:iam::aws:policy/PowerUserAccess\"]\n\n\
         [[targets]]\nname = \"data\"\norganizational_unit = \"{data}\"\nregions = [\"us-east-1\"]\n",
        id = org.id,
        apps = org.units[0].0,
        data = org.units[1].0,
    );
    if let Some(account) = pipeline {
        text.push_str(&format!(
            "\n[[pipelines]]\nname = \"service\"\ntargets = [\"data\"]\naccounts = {{ data = [\"{account}\"] }}\n\
             sources = [{{ name = \"App\", key = \"service/app.zip\" }}]\nstack = \"service\"\n"
        ));
    }
    text
}

async fn instances(emulator: &Emulator, set: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = stack_sets(emulator)
        .await
        .list_stack_instances()
        .stack_set_name(set)
        .send()
        .await
        .unwrap()
        .summaries()
        .iter()
        .map(|i| {
            (
                i.account().unwrap().to_owned(),
                i.status().unwrap().as_str().to_owned(),
            )
        })
        .collect();
    out.sort();
    out
}

/// The StackSet changes of a plan: (target, action).
fn set_changes(json: &serde_json::Value) -> Vec<(String, String)> {
    json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["stack"]["key"]["kind"] == "stack_set")
        .map(|c| {
            (
                c["stack"]["key"]["target"].as_str().unwrap().to_owned(),
                c["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The same topology with deploy stacks of plinth's own, reached with a role in each account.
fn in_stacks_mode(stack_set: &str) -> String {
    stack_set
        .replace(
            "deploy_roles = \"stackset\"\nmax_concurrent_percentage = 50\n",
            "",
        )
        .replace(
            "[build]",
            "[defaults]\nrole_arn = \"arn:aws:iam::{account}:role/plinth-operator\"\n\n[build]",
        )
}

#[tokio::test(flavor = "multi_thread")]
#[expect(
    clippy::await_holding_lock,
    reason = "the guard only keeps the heaviest tests apart; nothing this test awaits takes it"
)]
async fn forty_accounts_in_two_units_get_their_deploy_roles_from_stack_sets() {
    let _heavy = crate::common::heavy();
    let emulator = Emulator::start();
    let org = organization(&emulator, 20).await;
    let (apps, data) = (&org.units[0].1, &org.units[1].1);
    let excluded = apps[0].clone();
    // The management account sits in a targeted unit too: StackSets never deploy to it, so
    // it is no account of the set's, and plans stay settled.
    orgs::move_account(
        &organizations(&emulator).await,
        MANAGEMENT,
        &org.root,
        &org.units[0].0,
    )
    .await;
    let file = emulator.write("topology.toml", &topology(&org, &excluded, None));
    let file = path_str(&file).to_owned();
    emulator
        .plinth(&["validate", "-t", &file])
        .expect(0)
        .assert_stderr(format!(
            "target `apps` names organizational unit {}: its accounts get their deploy roles from StackSet acme-deploy-apps",
            org.units[0].0
        ));

    let plan = emulator.plinth(&["plan", "-t", &file, "--json"]);
    plan.expect(0);
    let json = plan.json();
    assert_eq!(
        set_changes(&json),
        [
            ("apps".to_owned(), "create".to_owned()),
            ("data".to_owned(), "create".to_owned())
        ]
    );
    let apps_change = json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["stack"]["key"]["target"] == "apps")
        .unwrap();
    assert_eq!(apps_change["stack"]["account"], MANAGEMENT);
    assert_eq!(apps_change["stack"]["name"], "acme-deploy-apps");
    assert_eq!(apps_change["instances"]["wanted"], 19);
    assert_eq!(
        strings(&apps_change["instances"]["skip"]),
        std::slice::from_ref(&excluded)
    );
    // No deploy stack of plinth's own in any account of the units.
    assert!(
        !json["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["stack"]["key"]["kind"] == "deploy"),
        "{json}"
    );
    let human = emulator.plinth(&["plan", "-t", &file]);
    human.assert_stderr(format!(
        "apps ({}): 19 accounts, 1 excluded; deploy roles by StackSet acme-deploy-apps",
        org.units[0].0
    ));
    human.assert_stderr("instances (us-east-1): 0 now, 19 after apply");
    human.assert_stderr(format!(
        "! {MANAGEMENT} is the management account: StackSets never deploy to it"
    ));

    let applied = emulator.plinth(&["apply", "-t", &file, "--yes"]);
    applied.expect(0);
    applied.assert_stderr("acme-deploy-data");
    for account in apps.iter().skip(1).chain(data) {
        assert!(deploy_role(&emulator, account).await, "{account}");
    }
    assert!(
        !deploy_role(&emulator, &excluded).await,
        "the excluded account gets no instance"
    );
    let apps_instances = instances(&emulator, "acme-deploy-apps").await;
    assert_eq!(apps_instances.len(), 19);
    assert!(!apps_instances.iter().any(|(a, _)| *a == excluded));
    assert!(apps_instances.iter().all(|(_, s)| s == "CURRENT"));
    assert!(!apps_instances.iter().any(|(a, _)| a == MANAGEMENT));
    assert_eq!(instances(&emulator, "acme-deploy-data").await.len(), 20);
    emulator
        .plinth(&["plan", "-t", &file, "--detailed-exitcode"])
        .expect(0);

    // An account moved into a targeted unit gets its roles from auto-deployment, with no run of
    // plinth; the next plan names it as joined and changes nothing.
    orgs::move_account(
        &organizations(&emulator).await,
        &org.outside,
        &org.root,
        &org.units[1].0,
    )
    .await;
    assert!(deploy_role(&emulator, &org.outside).await);
    let plan = emulator.plinth(&["plan", "-t", &file, "--json", "--detailed-exitcode"]);
    plan.expect(0);
    let json = plan.json();
    assert_eq!(
        strings(&json["organization"]["units"][1]["joined"]),
        std::slice::from_ref(&org.outside)
    );
    assert!(
        json["changes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["action"] == "no_change"),
        "{json}"
    );
    emulator.plinth(&["plan", "-t", &file]).assert_stderr(format!(
        "+ {} joined since the last apply: its deploy roles come from the StackSet's auto-deployment, with no apply",
        org.outside
    ));
    // Apply has nothing to deploy; it records who the sets serve, and the join is then told.
    emulator
        .plinth(&["apply", "-t", &file, "--yes"])
        .assert_stderr("Nothing to do");
    let json = emulator.plinth(&["plan", "-t", &file, "--json"]).json();
    assert!(strings(&json["organization"]["units"][1]["joined"]).is_empty());

    // Listed, the account gets its pipeline stage; the set's template now trusts the pipeline.
    let pipeline_file = emulator.write(
        "pipeline.toml",
        &topology(&org, &excluded, Some(&org.outside)),
    );
    let pipeline_file = path_str(&pipeline_file).to_owned();
    let plan = emulator.plinth(&["plan", "-t", &pipeline_file, "--json"]);
    plan.expect(0);
    assert!(set_changes(&plan.json()).contains(&("data".to_owned(), "update".to_owned())));
    emulator
        .plinth(&["apply", "-t", &pipeline_file, "--yes"])
        .expect(0);
    let stages = emulator.pipeline_stages("acme-service").await;
    assert!(
        stages.contains(&format!("data-{}", org.outside)),
        "{stages:?}"
    );
    emulator
        .plinth(&["plan", "-t", &pipeline_file, "--detailed-exitcode"])
        .expect(0);

    // Switched back to deploy stacks of plinth's own while the sets' roles are there: the plan
    // refuses, naming a role it would collide with, and changes nothing.
    let stacks = emulator.write(
        "stacks.toml",
        &in_stacks_mode(&topology(&org, &excluded, None)),
    );
    let refused = emulator.plinth(&["plan", "-t", path_str(&stacks)]);
    refused.expect(1);
    refused.assert_stderr(format!(
        "role acme-cloudformation already exists in account {} but is not part of this foundation",
        apps[1]
    ));

    // Destroy removes the instances, then the sets: nothing is left.
    emulator
        .plinth(&[
            "destroy",
            "-t",
            &pipeline_file,
            "--yes",
            "--allow-destructive",
        ])
        .expect(0);
    for account in apps.iter().chain(data).chain([&org.outside]) {
        assert!(!deploy_role(&emulator, account).await, "{account}");
    }
    let left = stack_sets(&emulator)
        .await
        .list_stack_sets()
        .status(aws_sdk_cloudformation::types::StackSetStatus::Active)
        .send()
        .await
        .unwrap();
    assert!(left.summaries().is_empty(), "{left:?}");
    emulator
        .plinth(&["plan", "-t", &file])
        .assert_stderr("Plan: 4 to create, 0 to update, 0 to delete, 0 unchanged.");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_instance_that_fails_is_reported_against_its_account_and_a_rerun_converges() {
    let emulator = Emulator::start();
    let org = organization(&emulator, 4).await;
    let taken = org.units[1].1[2].clone();
    // A role of the deploy roles' name, made by hand: the instance's stack cannot create it.
    let iam = aws_sdk_iam::Client::new(&emulator.sdk(&taken, "us-east-1").await);
    iam.create_role()
        .role_name("acme-cloudformation")
        .assume_role_policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"cloudformation.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
        )
        .send()
        .await
        .unwrap();
    let file = emulator.write(
        "topology.toml",
        &topology(&org, &org.units[0].1[0], None).replace(
            "max_concurrent_percentage = 50",
            "failure_tolerance_percentage = 30",
        ),
    );
    let file = path_str(&file).to_owned();
    let applied = emulator.plinth(&["apply", "-t", &file, "--yes"]);
    applied.expect(1);
    applied.assert_stderr(format!("1 of 4 instance(s) failed ({taken} us-east-1)"));
    applied.assert_stderr("acme-cloudformation");
    for account in org.units[1].1.iter().filter(|a| **a != taken) {
        assert!(deploy_role(&emulator, account).await, "{account}");
    }
    assert!(
        instances(&emulator, "acme-deploy-apps")
            .await
            .iter()
            .all(|(_, s)| s == "CURRENT"),
        "the other set is not held back"
    );

    // The plan names the instance that is not current, and why.
    let plan = emulator.plinth(&["plan", "-t", &file]);
    plan.assert_stderr(format!("! {taken} OUTDATED (FAILED)"));

    // The role removed, a rerun brings the instance up to date.
    iam.delete_role()
        .role_name("acme-cloudformation")
        .send()
        .await
        .unwrap();
    emulator.plinth(&["apply", "-t", &file, "--yes"]).expect(0);
    assert!(
        instances(&emulator, "acme-deploy-data")
            .await
            .iter()
            .all(|(_, s)| s == "CURRENT")
    );
    assert!(deploy_role(&emulator, &taken).await);
    emulator
        .plinth(&["plan", "-t", &file, "--detailed-exitcode"])
        .expect(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_switch_from_deploy_stacks_to_stack_sets_warns_of_the_old_stacks_and_converges_once_they_are_gone()
 {
    let emulator = Emulator::start();
    let org = organization(&emulator, 2).await;
    let excluded = org.units[0].1[0].clone();
    let stack_set = topology(&org, &excluded, None);
    let stacks = emulator.write("stacks.toml", &in_stacks_mode(&stack_set));
    emulator
        .plinth(&["apply", "-t", path_str(&stacks), "--yes"])
        .expect(0);
    let served: Vec<&String> = org.units[0].1[1..].iter().chain(&org.units[1].1).collect();
    for account in &served {
        assert!(deploy_role(&emulator, account).await, "{account}");
    }

    // Switched: each account the sets will serve is warned of its old deploy stack, and none
    // is called "left".
    let file = emulator.write("topology.toml", &stack_set);
    let file = path_str(&file).to_owned();
    let json = emulator.plinth(&["plan", "-t", &file, "--json"]).json();
    assert!(
        strings(&json["organization"]["left"]).is_empty(),
        "{}",
        json["organization"]
    );
    let warnings = strings(&json["warnings"]);
    for account in &served {
        assert!(
            warnings.iter().any(|w| w.starts_with(&format!(
                "account {account} now gets its deploy roles from StackSet acme-deploy-"
            ))),
            "{warnings:?}"
        );
    }

    // The old stacks hold the role names: the instances fail, as the warning said.
    let applied = emulator.plinth(&["apply", "-t", &file, "--yes"]);
    applied.expect(1);
    applied.assert_stderr("instance(s) failed");

    // The old stacks deleted as the warning says, the rerun converges.
    for account in &served {
        let cloudformation =
            aws_sdk_cloudformation::Client::new(&emulator.sdk(account, "us-east-1").await);
        cloudformation
            .delete_stack()
            .stack_name("acme-deploy")
            .send()
            .await
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while cloudformation
            .describe_stacks()
            .stack_name("acme-deploy")
            .send()
            .await
            .is_ok_and(|out| {
                out.stacks()
                    .iter()
                    .any(|s| s.stack_status() != Some(&StackStatus::DeleteComplete))
            })
        {
            assert!(
                std::time::Instant::now() < deadline,
                "{account}: acme-deploy not deleted"
            );
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }
    emulator.plinth(&["apply", "-t", &file, "--yes"]).expect(0);
    for account in &served {
        assert!(deploy_role(&emulator, account).await, "{account}");
    }
    let settled = emulator.plinth(&["plan", "-t", &file, "--json", "--detailed-exitcode"]);
    settled.expect(0);
    assert!(strings(&settled.json()["warnings"]).is_empty());
}
