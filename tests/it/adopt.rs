//! Adoption against the emulator: resources with plinth's names that exist outside any stack
//! (a bucket left by a stack deleted with `DeletionPolicy: Retain`, a key and alias made by hand)
//! are imported into the stack that declares them, with their objects and key material, instead
//! of a create that would fail; what cannot be imported is a finding before anything changes.

use crate::common::{BUILD, Emulator, path_str, standard};

const REGION: &str = "us-west-2";

fn bucket() -> String {
    format!("acme-artifacts-{BUILD}-{REGION}")
}

/// A bucket with an object and a key behind the foundation's alias, made in the build account
/// outside any stack; returns the key's id.
async fn left_outside(emulator: &Emulator) -> String {
    let s3 = emulator.s3(BUILD, REGION).await;
    s3.create_bucket()
        .bucket(bucket())
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::UsWest2)
                .build(),
        )
        .send()
        .await
        .unwrap();
    s3.put_object()
        .bucket(bucket())
        .key("service/app.zip")
        .body(b"build 41".to_vec().into())
        .send()
        .await
        .unwrap();
    kms(emulator, |kms| async move {
        let key = kms.create_key().send().await.unwrap();
        let key_id = key.key_metadata().unwrap().key_id().to_owned();
        kms.create_alias()
            .alias_name("alias/acme-artifacts")
            .target_key_id(&key_id)
            .send()
            .await
            .unwrap();
        key_id
    })
    .await
}

async fn kms<F, Fut, T>(emulator: &Emulator, work: F) -> T
where
    F: FnOnce(aws_sdk_kms::Client) -> Fut,
    Fut: std::future::Future<Output = T>,
{
    work(aws_sdk_kms::Client::new(&emulator.sdk(BUILD, REGION).await)).await
}

async fn object(emulator: &Emulator) -> String {
    let s3 = emulator.s3(BUILD, REGION).await;
    let out = s3
        .get_object()
        .bucket(bucket())
        .key("service/app.zip")
        .send()
        .await
        .unwrap();
    String::from_utf8(out.body.collect().await.unwrap().to_vec()).unwrap()
}

/// The change of the regional stack of `REGION` in a JSON plan.
fn regional_change(plan: &serde_json::Value) -> serde_json::Value {
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["stack"]["name"] == "acme-regional" && c["stack"]["region"] == REGION)
        .unwrap()
        .clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bucket_and_key_left_outside_any_stack_are_imported_with_their_contents() {
    let emulator = Emulator::start();
    let key_id = left_outside(&emulator).await;
    let file = emulator.write("topology.toml", &standard());

    let plan = emulator.plinth(&["plan", "-t", path_str(&file), "--json"]);
    plan.expect(0);
    let json = plan.json();
    let regional = regional_change(&json);
    assert_eq!(regional["action"], "create");
    let imported: Vec<(&str, &str)> = regional["import"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["logical_id"].as_str().unwrap(),
                r["resource_type"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        imported,
        [
            ("ArtifactBucket", "AWS::S3::Bucket"),
            ("ArtifactKey", "AWS::KMS::Key"),
            ("ArtifactKeyAlias", "AWS::KMS::Alias"),
        ]
    );
    assert_eq!(json["summary"]["imported"], 3);
    assert!(
        json["findings"].as_array().unwrap().is_empty(),
        "{}",
        json["findings"]
    );
    emulator
        .plinth(&["plan", "-t", path_str(&file)])
        .expect(0)
        .assert_stderr(format!(
            "<= ArtifactBucket (AWS::S3::Bucket) imported: BucketName={}",
            bucket()
        ))
        .assert_stderr("3 resources to import.");
    let markdown = emulator
        .plinth(&["plan", "-t", path_str(&file), "--format", "markdown"])
        .stdout;
    assert!(
        markdown.contains("**Resources outside any stack are imported**")
            && markdown.contains(&format!(
                "AWS::S3::Bucket `BucketName={}` into acme-regional ({BUILD} {REGION})",
                bucket()
            ))
            && markdown.contains("<code>import and create</code>"),
        "{markdown}"
    );

    emulator
        .plinth(&["apply", "-t", path_str(&file), "--yes"])
        .expect(0);
    assert_eq!(object(&emulator).await, "build 41");
    let alias_key = kms(&emulator, |kms| async move {
        kms.describe_key()
            .key_id("alias/acme-artifacts")
            .send()
            .await
            .unwrap()
            .key_metadata()
            .unwrap()
            .key_id()
            .to_owned()
    })
    .await;
    assert_eq!(
        alias_key, key_id,
        "the alias still names the key made by hand"
    );
    // the imported bucket now holds the foundation's settings, with the imported key
    let s3 = emulator.s3(BUILD, REGION).await;
    let versioning = s3
        .get_bucket_versioning()
        .bucket(bucket())
        .send()
        .await
        .unwrap();
    assert_eq!(
        versioning.status(),
        Some(&aws_sdk_s3::types::BucketVersioningStatus::Enabled)
    );
    assert!(
        crate::common::default_key(&s3, &bucket())
            .await
            .contains(&key_id)
    );

    emulator
        .plinth(&["plan", "-t", path_str(&file), "--detailed-exitcode"])
        .expect(0)
        .assert_stderr("Plan: 0 to create, 0 to update, 0 to delete, 6 unchanged.");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_pending_deletion_behind_the_alias_is_refused_before_anything_changes() {
    let emulator = Emulator::start();
    let key_id = left_outside(&emulator).await;
    kms(&emulator, |kms| {
        let key_id = key_id.clone();
        async move {
            kms.schedule_key_deletion()
                .key_id(key_id)
                .pending_window_in_days(7)
                .send()
                .await
                .unwrap();
        }
    })
    .await;
    let file = emulator.write("topology.toml", &standard());
    emulator
        .plinth(&["plan", "-t", path_str(&file)])
        .expect(1)
        .assert_stderr(format!("points at key {key_id}, which is pending deletion"))
        .assert_stderr("aws kms cancel-key-deletion");
    emulator
        .plinth(&["apply", "-t", path_str(&file), "--yes"])
        .expect(1);
    let cfn = aws_sdk_cloudformation::Client::new(&emulator.sdk(BUILD, "us-east-1").await);
    let stacks = cfn.describe_stacks().send().await.unwrap();
    assert!(stacks.stacks().is_empty(), "apply changed nothing");
    assert_eq!(object(&emulator).await, "build 41");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bucket_of_another_region_is_refused_with_the_reason() {
    let emulator = Emulator::start();
    let s3 = emulator.s3(BUILD, "us-east-1").await;
    // the artifact bucket name of us-west-2, made in us-east-1
    s3.create_bucket().bucket(bucket()).send().await.unwrap();
    let file = emulator.write("topology.toml", &standard());
    emulator
        .plinth(&["plan", "-t", path_str(&file)])
        .expect(1)
        .assert_stderr(format!(
            "bucket {} exists in account {BUILD} outside any stack, but in us-east-1, not in us-west-2",
            bucket()
        ));
}

/// Makes the import change set of the regional stack by hand, as an apply interrupted after
/// CreateChangeSet leaves it; executes it too when `execute`, as one interrupted before the
/// update that follows.
async fn interrupted_import(emulator: &Emulator, key_id: &str, execute: bool) {
    use aws_sdk_cloudformation::types::{ChangeSetType, ResourceToImport, Tag};
    let cfn = aws_sdk_cloudformation::Client::new(&emulator.sdk(BUILD, REGION).await);
    let template = serde_json::json!({
        "Resources": {
            "ArtifactBucket": { "Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain",
                "Properties": { "BucketName": bucket() } },
            "ArtifactKey": { "Type": "AWS::KMS::Key", "DeletionPolicy": "Retain", "Properties": {} },
            "ArtifactKeyAlias": { "Type": "AWS::KMS::Alias", "DeletionPolicy": "Retain",
                "Properties": { "AliasName": "alias/acme-artifacts", "TargetKeyId": { "Ref": "ArtifactKey" } } }
        }
    });
    let resource = |logical: &str, kind: &str, property: &str, value: &str| {
        ResourceToImport::builder()
            .logical_resource_id(logical)
            .resource_type(kind)
            .resource_identifier(property, value)
            .build()
    };
    cfn.create_change_set()
        .stack_name("acme-regional")
        .change_set_name("plinth-import")
        .change_set_type(ChangeSetType::Import)
        .tags(
            Tag::builder()
                .key("plinth:foundation")
                .value("acme")
                .build(),
        )
        .tags(Tag::builder().key("plinth:stack").value("regional").build())
        .template_body(template.to_string())
        .resources_to_import(resource(
            "ArtifactBucket",
            "AWS::S3::Bucket",
            "BucketName",
            &bucket(),
        ))
        .resources_to_import(resource("ArtifactKey", "AWS::KMS::Key", "KeyId", key_id))
        .resources_to_import(resource(
            "ArtifactKeyAlias",
            "AWS::KMS::Alias",
            "AliasName",
            "alias/acme-artifacts",
        ))
        .send()
        .await
        .unwrap();
    if execute {
        cfn.execute_change_set()
            .stack_name("acme-regional")
            .change_set_name("plinth-import")
            .send()
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_import_interrupted_before_or_after_its_execution_converges_on_the_rerun() {
    for (execute, status, action) in [
        (false, "REVIEW_IN_PROGRESS", "replace"),
        (true, "IMPORT_COMPLETE", "update"),
    ] {
        let emulator = Emulator::start();
        let key_id = left_outside(&emulator).await;
        interrupted_import(&emulator, &key_id, execute).await;
        let file = emulator.write("topology.toml", &standard());
        let plan = emulator.plinth(&["plan", "-t", path_str(&file), "--json"]);
        plan.expect(0);
        let regional = regional_change(&plan.json());
        assert_eq!(regional["action"], action, "{status}");
        // a stack made for an import never executed holds nothing: it is made again, importing
        assert_eq!(regional["import"].is_object(), !execute, "{status}");
        emulator
            .plinth(&["apply", "-t", path_str(&file), "--yes"])
            .expect(0);
        assert_eq!(object(&emulator).await, "build 41", "{status}");
        emulator
            .plinth(&["plan", "-t", path_str(&file), "--detailed-exitcode"])
            .expect(0)
            .assert_stderr("Plan: 0 to create, 0 to update, 0 to delete, 6 unchanged.");
    }
}

/// The standard topology taking over the original foundation.
pub(crate) fn adopting() -> String {
    format!("{}\n[adopt]\n", standard())
}

pub(crate) const ORIGINAL: &[&str] = &[
    "--regions",
    "us-west-2,eu-west-1",
    "--targets",
    "222222222222,333333333333,444444444444",
    "--artifacts",
];

/// Every bucket the original foundation made still holds its artifact, and each region's
/// key behind plinth's alias is the original key.
pub(crate) async fn artifacts_and_keys_kept(emulator: &Emulator, made: &serde_json::Value) {
    for (what, bucket) in made["buckets"].as_object().unwrap() {
        let region = what.strip_prefix("pipeline/").unwrap_or("us-east-1");
        let s3 = emulator.s3(BUILD, region).await;
        let body = s3
            .get_object()
            .bucket(bucket.as_str().unwrap())
            .key("history/artifact.zip")
            .send()
            .await
            .unwrap()
            .body
            .collect()
            .await
            .unwrap()
            .to_vec();
        assert_eq!(
            String::from_utf8(body).unwrap(),
            format!("artifact of {}", bucket.as_str().unwrap())
        );
    }
    for (region, key_id) in made["keys"].as_object().unwrap() {
        let kms = aws_sdk_kms::Client::new(&emulator.sdk(BUILD, region).await);
        let described = kms
            .describe_key()
            .key_id("alias/acme-artifacts")
            .send()
            .await
            .unwrap();
        assert_eq!(
            described.key_metadata().unwrap().key_id(),
            key_id.as_str().unwrap(),
            "{region}"
        );
    }
}

/// The template a stack holds.
async fn template_of(cfn: &aws_sdk_cloudformation::Client, stack: &str) -> String {
    cfn.get_template()
        .stack_name(stack)
        .send()
        .await
        .unwrap()
        .template_body()
        .unwrap()
        .to_owned()
}

/// The stacks of an account and region, by name.
async fn stack_names(emulator: &Emulator, account: &str, region: &str) -> Vec<String> {
    let cfn = aws_sdk_cloudformation::Client::new(&emulator.sdk(account, region).await);
    let mut names: Vec<String> = cfn
        .describe_stacks()
        .send()
        .await
        .unwrap()
        .stacks()
        .iter()
        .filter(|s| {
            s.stack_status()
                .is_some_and(|st| st.as_str() != "DELETE_COMPLETE")
        })
        .map(|s| s.stack_name().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread")]
async fn the_original_foundation_is_adopted_by_one_apply_keeping_every_artifact_and_key() {
    let emulator = Emulator::start();
    let mut args = ORIGINAL.to_vec();
    args.extend(["--pipeline", "app"]);
    let made = emulator.original_foundation(&args);
    let file = emulator.write("topology.toml", &adopting());

    let plan = emulator.plinth(&["plan", "-t", path_str(&file)]);
    plan.expect(0)
        .assert_stderr("Original foundation (its stacks let go of what moves before wave 1):")
        .assert_stderr(format!(
            "<= AWS::S3::Bucket {} PipelineBucket -> acme-primary ArtifactBucket, kept with its contents",
            made["buckets"]["pipeline/us-east-1"].as_str().unwrap()
        ))
        .assert_stderr("export BuildBucket is imported by app: the stack stays")
        .assert_stderr("AWS::IAM::Role CrossAccountCodePipeline (CodePipelineRole) is deleted; plinth's deploy roles replace it")
        .assert_stderr("6 original stacks to adopt.");
    let markdown = emulator
        .plinth(&["plan", "-t", path_str(&file), "--format", "markdown"])
        .stdout;
    assert!(
        markdown.contains("<details open><summary>Original foundation")
            && markdown.contains("export BuildBucket is imported by app: the stack stays"),
        "{markdown}"
    );
    let json = emulator
        .plinth(&["plan", "-t", path_str(&file), "--json"])
        .json();
    let old: Vec<(&str, bool)> = json["adoption"]["stacks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap(), s["delete"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        old,
        [
            ("CrossAccountRegional", true), // eu-west-1
            ("CrossAccountPrimary", false),
            ("CrossAccountRegional", true), // us-west-2
            ("CrossAccountDeploy", true),
            ("CrossAccountDeploy", true),
            ("CrossAccountDeploy", true),
        ]
    );

    emulator
        .plinth(&["apply", "-t", path_str(&file), "--yes"])
        .expect(0);
    artifacts_and_keys_kept(&emulator, &made).await;
    // the primary stays, holding the exports the application pipeline imports, with their values
    assert_eq!(
        stack_names(&emulator, BUILD, "us-east-1").await,
        ["CrossAccountPrimary", "acme-primary", "app"]
    );
    for region in ["us-west-2", "eu-west-1"] {
        assert_eq!(
            stack_names(&emulator, BUILD, region).await,
            ["acme-regional"]
        );
    }
    for account in ["222222222222", "333333333333", "444444444444"] {
        assert_eq!(
            stack_names(&emulator, account, "us-east-1").await,
            ["acme-deploy"]
        );
    }
    let pipeline = aws_sdk_codepipeline::Client::new(&emulator.sdk(BUILD, "us-east-1").await)
        .get_pipeline()
        .name("app")
        .send()
        .await
        .unwrap();
    assert_eq!(
        pipeline
            .pipeline()
            .unwrap()
            .artifact_store()
            .unwrap()
            .location(),
        made["buckets"]["pipeline/us-east-1"].as_str().unwrap(),
        "the old pipeline still stores its artifacts in the same bucket"
    );
    emulator
        .plinth(&["plan", "-t", path_str(&file), "--detailed-exitcode"])
        .expect(0)
        .assert_stderr("Plan: 0 to create, 0 to update, 0 to delete, 6 unchanged.");

    // once the application no longer imports the exports, the next apply deletes what is left
    let cfn = aws_sdk_cloudformation::Client::new(&emulator.sdk(BUILD, "us-east-1").await);
    let template = template_of(&cfn, "app").await;
    let literal = template
        .replace(
            r#"{"Fn::ImportValue": "PipelineBucket"}"#,
            &format!(
                "\"{}\"",
                made["buckets"]["pipeline/us-east-1"].as_str().unwrap()
            ),
        )
        .replace(
            r#"{"Fn::ImportValue": "BuildBucket"}"#,
            &format!("\"{}\"", made["buckets"]["build"].as_str().unwrap()),
        )
        .replace(
            r#"{"Fn::ImportValue": "CrossAccountCMK"}"#,
            &format!(
                "\"arn:aws:kms:us-east-1:{BUILD}:key/{}\"",
                made["keys"]["us-east-1"].as_str().unwrap()
            ),
        );
    assert!(!literal.contains("ImportValue"), "{literal}");
    cfn.update_stack()
        .stack_name("app")
        .template_body(literal)
        .capabilities(aws_sdk_cloudformation::types::Capability::CapabilityNamedIam)
        .send()
        .await
        .unwrap();
    emulator
        .plinth(&["plan", "-t", path_str(&file), "--detailed-exitcode"])
        .expect(2)
        .assert_stderr("1 original stack to adopt.");
    emulator
        .plinth(&["apply", "-t", path_str(&file), "--yes"])
        .expect(0);
    assert_eq!(
        stack_names(&emulator, BUILD, "us-east-1").await,
        ["acme-primary", "app"]
    );
    artifacts_and_keys_kept(&emulator, &made).await;
    emulator
        .plinth(&["plan", "-t", path_str(&file), "--detailed-exitcode"])
        .expect(0);
}

/// Starts an adoption on an emulator whose stacks take a second a step and kills it (SIGKILL)
/// when plinth reports a line containing `marker`; returns the lines seen.
fn killed_at(emulator: &Emulator, file: &std::path::Path, marker: &str) -> Vec<String> {
    use std::io::{BufRead, BufReader};
    let mut child = emulator
        .command(&["apply", "-t", path_str(file), "--yes"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut seen = Vec::new();
    let mut killed = false;
    for line in BufReader::new(stderr).lines() {
        let line = line.unwrap();
        seen.push(line.clone());
        if line.contains(marker) {
            child.kill().unwrap();
            killed = true;
            break;
        }
    }
    let status = child.wait().unwrap();
    assert!(
        killed && !status.success(),
        "never saw {marker:?}: {seen:#?}"
    );
    seen
}

#[tokio::test(flavor = "multi_thread")]
async fn an_adoption_killed_at_three_points_converges_when_run_again() {
    for marker in [
        "retain what moves: done",
        "pass 1: IMPORT_COMPLETE",
        "delete started",
    ] {
        let emulator = Emulator::start_with(&["--stack-seconds", "1", "--key-stack-seconds", "1"]);
        let made = emulator.original_foundation(ORIGINAL);
        let file = emulator.write("topology.toml", &adopting());
        killed_at(&emulator, &file, marker);
        emulator
            .plinth(&["apply", "-t", path_str(&file), "--yes"])
            .expect(0);
        artifacts_and_keys_kept(&emulator, &made).await;
        // every moved resource is in plinth's stack, none is left in an old one
        assert_eq!(
            stack_names(&emulator, BUILD, "us-east-1").await,
            ["acme-primary"],
            "{marker}"
        );
        let cfn = aws_sdk_cloudformation::Client::new(&emulator.sdk(BUILD, "us-east-1").await);
        let held: Vec<String> = cfn
            .list_stack_resources()
            .stack_name("acme-primary")
            .send()
            .await
            .unwrap()
            .stack_resource_summaries()
            .iter()
            .filter_map(|r| r.physical_resource_id().map(str::to_owned))
            .collect();
        for physical in [
            made["buckets"]["build"].as_str().unwrap(),
            made["buckets"]["pipeline/us-east-1"].as_str().unwrap(),
            made["keys"]["us-east-1"].as_str().unwrap(),
        ] {
            assert!(
                held.iter().any(|h| h == physical),
                "{marker}: {physical} in {held:?}"
            );
        }
        emulator
            .plinth(&["plan", "-t", path_str(&file), "--detailed-exitcode"])
            .expect(0);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn destroy_after_a_half_adoption_removes_what_plinth_owns_and_names_what_it_left() {
    let emulator = Emulator::start_with(&["--stack-seconds", "1", "--key-stack-seconds", "1"]);
    let made = emulator.original_foundation(ORIGINAL);
    let file = emulator.write("topology.toml", &adopting());
    // the old stacks let go of what moves, and plinth imported part of it
    killed_at(&emulator, &file, "pass 1: IMPORT_COMPLETE");
    let destroy = emulator.plinth(&[
        "destroy",
        "-t",
        path_str(&file),
        "--yes",
        "--allow-destructive",
    ]);
    destroy.expect(0);
    for (account, region, name) in [
        (BUILD, "us-east-1", "CrossAccountPrimary"),
        (BUILD, "us-west-2", "CrossAccountRegional"),
        ("222222222222", "us-east-1", "CrossAccountDeploy"),
    ] {
        destroy.assert_stderr(format!(
            "{name} in {account} {region} is the original foundation's, not plinth's: destroy leaves it"
        ));
    }
    for region in ["us-east-1", "us-west-2", "eu-west-1"] {
        let left = stack_names(&emulator, BUILD, region).await;
        assert!(
            left.iter().all(|s| !s.starts_with("acme-")),
            "{region}: {left:?}"
        );
    }
    // each original bucket was imported (and destroyed with plinth's stack, as the plan said),
    // or is still there with its objects and named as left
    for (what, bucket) in made["buckets"].as_object().unwrap() {
        let bucket = bucket.as_str().unwrap();
        let region = what.strip_prefix("pipeline/").unwrap_or("us-east-1");
        let s3 = emulator.s3(BUILD, region).await;
        if s3.head_bucket().bucket(bucket).send().await.is_ok() {
            let named_outside = destroy.stderr.contains(&format!(
                "bucket {bucket} in {BUILD} {region} keeps its objects outside any stack"
            ));
            let named_retained = destroy
                .stderr
                .contains("is retained when its stack is deleted (DeletionPolicy Retain");
            assert!(
                named_outside || named_retained,
                "{bucket}: {}",
                destroy.stderr
            );
            let body = s3
                .get_object()
                .bucket(bucket)
                .key("history/artifact.zip")
                .send()
                .await;
            assert!(body.is_ok(), "{bucket} kept its objects");
        } else {
            destroy.assert_stderr(format!("bucket {bucket}"));
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deploy_role_and_the_sync_function_and_its_log_group_made_by_hand_are_imported() {
    let emulator = Emulator::start();
    let iam = aws_sdk_iam::Client::new(&emulator.sdk("333333333333", "us-east-1").await);
    iam.create_role()
        .role_name("acme-cloudformation")
        .assume_role_policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"cloudformation.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
        )
        .send()
        .await
        .unwrap();
    let logs = aws_sdk_cloudwatchlogs::Client::new(&emulator.sdk(BUILD, "us-east-1").await);
    logs.create_log_group()
        .log_group_name("/aws/lambda/acme-artifact-sync")
        .send()
        .await
        .unwrap();
    // the sync function, made by hand with a role of its own
    let build_iam = aws_sdk_iam::Client::new(&emulator.sdk(BUILD, "us-east-1").await);
    let hand_role = build_iam
        .create_role()
        .role_name("hand-made-sync")
        .assume_role_policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
        )
        .send()
        .await
        .unwrap();
    let lambda = aws_sdk_lambda::Client::new(&emulator.sdk(BUILD, "us-east-1").await);
    lambda
        .create_function()
        .function_name("acme-artifact-sync")
        .runtime(aws_sdk_lambda::types::Runtime::Python312)
        .handler("index.handler")
        .role(hand_role.role().unwrap().arn())
        .code(
            aws_sdk_lambda::types::FunctionCode::builder()
                .zip_file(aws_smithy_types::Blob::new(
                    plinth::templates::code::inline_code_zip(
                        "def handler(event, context):\n    return 'by hand'\n",
                    ),
                ))
                .build(),
        )
        .send()
        .await
        .unwrap();
    let file = emulator.write("topology.toml", &standard());
    emulator
        .plinth(&["plan", "-t", path_str(&file)])
        .expect(0)
        .assert_stderr("<= SyncFunction (AWS::Lambda::Function) imported: FunctionName=acme-artifact-sync")
        .assert_stderr("<= CloudFormationRole (AWS::IAM::Role) imported: RoleName=acme-cloudformation")
        .assert_stderr("<= SyncFunctionLogGroup (AWS::Logs::LogGroup) imported: LogGroupName=/aws/lambda/acme-artifact-sync");
    emulator
        .plinth(&["apply", "-t", path_str(&file), "--yes"])
        .expect(0);
    let role = iam
        .get_role()
        .role_name("acme-cloudformation")
        .send()
        .await
        .unwrap();
    assert!(
        role.role()
            .unwrap()
            .description()
            .unwrap_or_default()
            .contains("Role CloudFormation runs as"),
        "the imported role was then set as declared"
    );
    let function = lambda
        .get_function_configuration()
        .function_name("acme-artifact-sync")
        .send()
        .await
        .unwrap();
    assert_ne!(
        function.role(),
        hand_role.role().unwrap().arn().into(),
        "the imported function now runs as the foundation's role"
    );
    assert_eq!(function.timeout(), Some(300));
    emulator
        .plinth(&["plan", "-t", path_str(&file), "--detailed-exitcode"])
        .expect(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_saved_adoption_plan_is_refused_when_an_original_stack_changed_since() {
    let emulator = Emulator::start();
    emulator.original_foundation(ORIGINAL);
    let file = emulator.write("topology.toml", &adopting());
    let saved = emulator.dir.path().join("plan.json");
    emulator
        .plinth(&["plan", "-t", path_str(&file), "--out", path_str(&saved)])
        .expect(0);
    // someone updates an old stack between the plan and its apply
    let cfn = aws_sdk_cloudformation::Client::new(&emulator.sdk(BUILD, "us-west-2").await);
    cfn.update_stack()
        .stack_name("CrossAccountRegional")
        .use_previous_template(true)
        .tags(
            aws_sdk_cloudformation::types::Tag::builder()
                .key("owner")
                .value("someone")
                .build(),
        )
        .send()
        .await
        .unwrap();
    emulator
        .plinth(&["apply", "-t", path_str(&file), path_str(&saved), "--yes"])
        .expect(1)
        .assert_stderr(format!("{BUILD}/us-west-2/CrossAccountRegional: was "));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_original_stack_with_a_yaml_template_is_a_finding_and_nothing_changes() {
    let emulator = Emulator::start();
    emulator.original_foundation(ORIGINAL);
    let cfn = aws_sdk_cloudformation::Client::new(&emulator.sdk(BUILD, "us-west-2").await);
    let body = template_of(&cfn, "CrossAccountRegional").await;
    // a YAML document (a comment, then flow style): what YAML templates look like to a JSON reader
    cfn.update_stack()
        .stack_name("CrossAccountRegional")
        .template_body(format!("# bootstrap.sh 1.0.0\n{body}"))
        .tags(
            aws_sdk_cloudformation::types::Tag::builder()
                .key("format")
                .value("yaml")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let file = emulator.write("topology.toml", &adopting());
    emulator
        .plinth(&["apply", "-t", path_str(&file), "--yes"])
        .expect(1)
        .assert_stderr(format!(
            "the template of CrossAccountRegional (account {BUILD}, us-west-2) is not JSON"
        ))
        .assert_stderr("nothing was changed");
    assert_eq!(
        stack_names(&emulator, BUILD, "us-east-1").await,
        ["CrossAccountPrimary"]
    );
}
