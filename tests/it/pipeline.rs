//! The pipeline stack against the emulator: what `GetPipeline` reads back after apply.

use crate::common::{
    BUILD, Emulator, artifact_key_arn, default_key, get_pipeline, path_str, topology,
};
use aws_sdk_codepipeline::types::{ActionDeclaration, PipelineDeclaration};

const PIPELINE: &str = r#"
[[pipelines]]
name = "service"
targets = ["development", "testing", "production"]
artifact_sync = "SYNC"
sources = [{ name = "App", key = "service/app.zip" }, { name = "Config", key = "service/config.zip" }]
stack = "service"
"#;

fn with_pipeline(sync: &str, production_regions: &[&str]) -> String {
    topology(
        &[
            ("development", &["us-east-1", "us-west-2"]),
            ("testing", &["us-west-2"]),
            ("production", production_regions),
        ],
        &PIPELINE.replace("SYNC", sync),
    )
    .replacen(
        "profile = \"production\"",
        "profile = \"production\"\napproval = true",
        1,
    )
}

fn config<'a>(action: &'a ActionDeclaration, key: &str) -> Option<&'a str> {
    action
        .configuration()
        .and_then(|c| c.get(key))
        .map(String::as_str)
}

fn actions(pipeline: &PipelineDeclaration, stage: &str) -> Vec<ActionDeclaration> {
    pipeline
        .stages()
        .iter()
        .find(|s| s.name() == stage)
        .map(|s| s.actions().to_vec())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_builds_the_pipeline_on_the_foundation() {
    let emulator = Emulator::start();
    let file = emulator.write("topology.toml", &with_pipeline("lambda", &["eu-west-1"]));
    let run = emulator.plinth(&["apply", "-t", path_str(&file), "--yes"]);
    run.expect(0);
    let pipeline = get_pipeline(&emulator).await;
    assert!(pipeline.role_arn().ends_with(":role/acme-pipeline-service"));

    // one artifact store per region, each the foundation's bucket and key of that region
    let stores = pipeline.artifact_stores().unwrap();
    assert_eq!(stores.len(), 3);
    for region in ["us-east-1", "us-west-2", "eu-west-1"] {
        let store = &stores[region];
        assert_eq!(store.location(), format!("acme-artifacts-{BUILD}-{region}"));
        assert_eq!(
            store.encryption_key().unwrap().id(),
            artifact_key_arn(&emulator, region).await
        );
    }

    // the stages in order: source, sync, then one per target in the pipeline's order
    let names: Vec<&str> = pipeline
        .stages()
        .iter()
        .map(aws_sdk_codepipeline::types::StageDeclaration::name)
        .collect();
    assert_eq!(
        names,
        ["Source", "Sync", "development", "testing", "production"]
    );

    let sources = actions(&pipeline, "Source");
    assert_eq!(sources.len(), 2);
    assert_eq!(
        config(&sources[0], "S3Bucket"),
        Some(format!("acme-build-{BUILD}-us-east-1").as_str())
    );
    assert_eq!(config(&sources[0], "S3ObjectKey"), Some("service/app.zip"));
    let triggering: Vec<_> = sources
        .iter()
        .filter(|a| config(a, "PollForSourceChanges") == Some("true"))
        .collect();
    assert_eq!(triggering.len(), 1, "exactly one source starts runs");

    let sync = actions(&pipeline, "Sync");
    assert_eq!(
        sync.len(),
        2,
        "one sync action per region other than the build region"
    );
    for action in &sync {
        let parameters: serde_json::Value =
            serde_json::from_str(config(action, "UserParameters").unwrap()).unwrap();
        let region = parameters["DestinationRegion"].as_str().unwrap().to_owned();
        assert!(["us-west-2", "eu-west-1"].contains(&region.as_str()));
        assert_eq!(
            parameters["DestinationBucket"],
            format!("acme-artifacts-{BUILD}-{region}")
        );
        assert_eq!(
            parameters["DestinationKeyArn"],
            artifact_key_arn(&emulator, &region).await
        );
        assert_eq!(config(action, "FunctionName"), Some("acme-artifact-sync"));
    }

    for (stage, account, regions) in [
        (
            "development",
            "222222222222",
            vec!["us-east-1", "us-west-2"],
        ),
        ("testing", "333333333333", vec!["us-west-2"]),
        ("production", "444444444444", vec!["eu-west-1"]),
    ] {
        let stage_actions = actions(&pipeline, stage);
        for region in &regions {
            let create = stage_actions
                .iter()
                .find(|a| a.name() == format!("CreateChangeSet-{region}"))
                .unwrap();
            let execute = stage_actions
                .iter()
                .find(|a| a.name() == format!("ExecuteChangeSet-{region}"))
                .unwrap();
            for action in [create, execute] {
                assert_eq!(
                    action.role_arn(),
                    Some(format!("arn:aws:iam::{account}:role/acme-codepipeline").as_str())
                );
                assert_eq!(action.region(), Some(*region));
            }
            assert_eq!(
                config(create, "RoleArn"),
                Some(format!("arn:aws:iam::{account}:role/acme-cloudformation").as_str())
            );
            assert_eq!(config(create, "ActionMode"), Some("CHANGE_SET_REPLACE"));
            assert_eq!(config(create, "StackName"), Some("service"));
            assert!(
                config(create, "Capabilities")
                    .unwrap()
                    .contains("CAPABILITY_NAMED_IAM")
            );
            assert_eq!(config(execute, "ActionMode"), Some("CHANGE_SET_EXECUTE"));
            assert!(execute.run_order().unwrap() > create.run_order().unwrap());
        }
        let approvals: Vec<_> = stage_actions
            .iter()
            .filter(|a| a.action_type_id().unwrap().category().as_str() == "Approval")
            .collect();
        if stage == "production" {
            assert_eq!(approvals.len(), 1);
            assert_eq!(
                approvals[0].run_order(),
                Some(2),
                "between the change sets and their execution"
            );
        } else {
            assert!(approvals.is_empty(), "{stage}");
        }
    }
    emulator
        .plinth(&["plan", "-t", path_str(&file), "--detailed-exitcode"])
        .expect(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn native_sync_has_no_sync_stage_and_region_changes_reach_the_pipeline() {
    let emulator = Emulator::start();
    let file = emulator.write("topology.toml", &with_pipeline("native", &["eu-west-1"]));
    emulator
        .plinth(&["apply", "-t", path_str(&file), "--yes"])
        .expect(0);
    let pipeline = get_pipeline(&emulator).await;
    assert!(actions(&pipeline, "Sync").is_empty());
    assert_eq!(pipeline.stages().len(), 4);

    // production moves to us-east-1 as well: the pipeline changes on the next apply
    let file = emulator.write(
        "topology.toml",
        &with_pipeline("native", &["eu-west-1", "us-east-1"]),
    );
    let plan = emulator.plinth(&["plan", "-t", path_str(&file)]);
    plan.assert_stderr("~ update  acme-pipeline-service (111111111111 us-east-1) pass 1");
    plan.assert_stderr("~ Pipeline (AWS::CodePipeline::Pipeline)");
    plan.assert_stderr("+ Stages/production/Actions/CreateChangeSet-us-east-1");
    let full = emulator.plinth(&["plan", "-t", path_str(&file), "--diff"]);
    assert!(
        full.stderr.lines().any(|l| l.trim_start().starts_with('+')
            && l.contains("\"Name\": \"CreateChangeSet-us-east-1\"")),
        "{}",
        full.stderr
    );
    emulator
        .plinth(&["apply", "-t", path_str(&file), "--yes"])
        .expect(0);
    let production = actions(&get_pipeline(&emulator).await, "production");
    let regions: Vec<&str> = production.iter().filter_map(|a| a.region()).collect();
    assert!(
        regions.contains(&"us-east-1") && regions.contains(&"eu-west-1"),
        "{regions:?}"
    );

    // destroy removes the pipeline before the foundation
    let run = emulator.plinth(&[
        "destroy",
        "-t",
        path_str(&file),
        "--yes",
        "--allow-destructive",
    ]);
    run.expect(0);
    let lines: Vec<&str> = run.stderr.lines().collect();
    let position = |wanted: &dyn Fn(&str) -> bool| lines.iter().position(|l| wanted(l));
    let pipeline_done = position(&|l| l.starts_with("ok acme-pipeline-service"))
        .expect("the pipeline stack's delete finished");
    let starts: Vec<(usize, &str)> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.ends_with(": delete started"))
        .map(|(i, l)| (i, l.trim()))
        .collect();
    assert!(
        starts
            .iter()
            .any(|(i, l)| *i < pipeline_done && l.starts_with("acme-pipeline-service")),
        "{starts:?}"
    );
    let early: Vec<&&str> = starts
        .iter()
        .filter(|(i, l)| *i < pipeline_done && !l.starts_with("acme-pipeline-service"))
        .map(|(_, l)| l)
        .collect();
    assert!(
        early.is_empty(),
        "started before the pipeline was gone: {early:?}"
    );
    assert!(starts.len() >= 5, "{starts:?}");
    let client = aws_sdk_codepipeline::Client::new(&emulator.sdk(BUILD, "us-east-1").await);
    assert!(
        client
            .list_pipelines()
            .send()
            .await
            .unwrap()
            .pipelines()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn removing_a_pipeline_deletes_its_stack() {
    let emulator = Emulator::start();
    let file = emulator.write("topology.toml", &with_pipeline("lambda", &["eu-west-1"]));
    emulator
        .plinth(&["apply", "-t", path_str(&file), "--yes"])
        .expect(0);
    let without = topology(
        &[
            ("development", &["us-east-1", "us-west-2"]),
            ("testing", &["us-west-2"]),
            ("production", &["eu-west-1"]),
        ],
        "",
    )
    .replacen(
        "profile = \"production\"",
        "profile = \"production\"\napproval = true",
        1,
    );
    let file = emulator.write("topology.toml", &without);
    let plan = emulator.plinth(&["plan", "-t", path_str(&file)]);
    plan.assert_stderr("- delete  acme-pipeline-service (111111111111 us-east-1)");
    let run = emulator.plinth(&["apply", "-t", path_str(&file), "--yes", "--json"]);
    run.expect(0);
    // --json: the plan, then one JSON line per event, then the summary; nothing else on stdout
    let lines: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["event"], "plan");
    assert_eq!(lines[0]["plan"]["summary"]["delete"], 1);
    assert!(
        lines
            .iter()
            .any(|l| l["event"] == "started" && l["action"] == "delete")
    );
    assert!(lines.iter().any(|l| l["event"] == "succeeded"
        && l["stack"] == "acme-pipeline-service (111111111111 us-east-1)"));
    assert_eq!(lines.last().unwrap()["event"], "summary");
    let changing = lines[0]["plan"]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] != "no_change")
        .count();
    assert_eq!(
        changing, 4,
        "the pipeline's stack, and the deploy stacks that no longer name its application stack"
    );
    assert_eq!(lines.last().unwrap()["succeeded"], changing);
    let client = aws_sdk_codepipeline::Client::new(&emulator.sdk(BUILD, "us-east-1").await);
    assert!(
        client
            .list_pipelines()
            .send()
            .await
            .unwrap()
            .pipelines()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pipeline_template_over_the_body_limit_is_applied_by_url() {
    use std::fmt::Write as _;
    let emulator = Emulator::start();
    let regions = "\"us-east-1\", \"us-east-2\", \"us-west-1\", \"us-west-2\", \"eu-west-1\", \"eu-west-2\", \"eu-central-1\", \"ap-southeast-2\"";
    let mut text = String::from(
        "name = \"acme\"\norganization_id = \"o-a1b2c3d4e5\"\n[defaults]\nrole_arn = \"arn:aws:iam::{account}:role/plinth-operator\"\n[build]\naccount = \"111111111111\"\nregion = \"us-east-1\"\nprofile = \"build\"\n",
    );
    for i in 0..20 {
        let _ = write!(
            text,
            "[[targets]]\nname = \"t{i}\"\naccount = \"{:012}\"\nregions = [{regions}]\n",
            800_000_000_000u64 + i
        );
    }
    let names: Vec<String> = (0..20).map(|i| format!("\"t{i}\"")).collect();
    let _ = write!(
        text,
        "[[pipelines]]\nname = \"wide\"\ntargets = [{}]\nsources = [{{ name = \"App\", key = \"wide/app.zip\" }}]\nstack = \"wide\"\n",
        names.join(", ")
    );
    let file = emulator.write("topology.toml", &text);
    let plan = emulator.plinth(&["plan", "-t", path_str(&file), "--json"]);
    plan.expect(0);
    let json = plan.json();
    let pipeline = json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["stack"]["name"] == "acme-pipeline-wide")
        .unwrap();
    assert!(pipeline["template"].as_str().unwrap().len() > 51_200);
    assert_eq!(
        pipeline["template_upload"]["key"],
        "plinth/templates/acme-pipeline-wide-111111111111-us-east-1-pass1.json"
    );
    emulator
        .plinth(&["apply", "-t", path_str(&file), "--yes"])
        .expect(0);
    let client = aws_sdk_codepipeline::Client::new(&emulator.sdk(BUILD, "us-east-1").await);
    let got = client
        .get_pipeline()
        .name("acme-wide")
        .send()
        .await
        .unwrap();
    assert_eq!(got.pipeline().unwrap().stages().len(), 22);
    // the upload names the build bucket's own key, which its policy demands
    let s3 = emulator.s3(BUILD, "us-east-1").await;
    let bucket = "acme-build-111111111111-us-east-1";
    let uploaded = s3
        .head_object()
        .bucket(bucket)
        .key("plinth/templates/acme-pipeline-wide-111111111111-us-east-1-pass1.json")
        .send()
        .await
        .unwrap();
    assert_eq!(
        uploaded.ssekms_key_id(),
        Some(default_key(&s3, bucket).await.as_str())
    );
    emulator
        .plinth(&["plan", "-t", path_str(&file), "--detailed-exitcode"])
        .expect(0);
}
