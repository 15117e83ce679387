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

#[tokio::test(flavor = "multi_thread")]
async fn a_bucket_and_key_left_outside_any_stack_are_imported_with_their_contents() {
    let emulator = Emulator::start();
    let key_id = left_outside(&emulator).await;
    let file = emulator.write("topology.toml", &standard());

    let plan = emulator.plinth(&["plan", "-t", path_str(&file), "--json"]);
    plan.expect(0);
    let json = plan.json();
    let regional = json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["stack"]["name"] == "acme-regional" && c["stack"]["region"] == REGION)
        .unwrap();
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
        let json = plan.json();
        let regional = json["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["stack"]["name"] == "acme-regional" && c["stack"]["region"] == REGION)
            .unwrap()
            .clone();
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
