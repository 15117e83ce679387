//! Who may do what, as far as the emulator evaluates it: uploads that do not name the bucket's
//! own key are refused whoever makes them, and a target's permissions boundary reaches its
//! CloudFormation role.

use crate::common::{BUILD, Emulator, default_key, path_str, standard};
use aws_sdk_s3::types::ServerSideEncryption;

#[tokio::test(flavor = "multi_thread")]
async fn a_target_accounts_credentials_cannot_put_an_artifact_without_the_buckets_key() {
    let emulator = Emulator::start();
    let file = emulator.write("topology.toml", &standard());
    emulator
        .plinth(&["apply", "-t", path_str(&file), "--yes"])
        .expect(0);
    let bucket = "acme-artifacts-111111111111-us-west-2";
    let key = default_key(&emulator.s3(BUILD, "us-west-2").await, bucket).await;
    let other = aws_sdk_kms::Client::new(&emulator.sdk("222222222222", "us-west-2").await)
        .create_key()
        .send()
        .await
        .unwrap()
        .key_metadata()
        .unwrap()
        .arn()
        .unwrap()
        .to_owned();
    let target = emulator.s3("222222222222", "us-west-2").await;
    let attempts: [(&str, Option<ServerSideEncryption>, Option<&str>); 4] = [
        ("no encryption header", None, None),
        ("SSE-S3", Some(ServerSideEncryption::Aes256), None),
        (
            "SSE-KMS with the default key",
            Some(ServerSideEncryption::AwsKms),
            None,
        ),
        (
            "SSE-KMS with the target's own key",
            Some(ServerSideEncryption::AwsKms),
            Some(other.as_str()),
        ),
    ];
    for (what, algorithm, key_id) in attempts {
        let error = target
            .put_object()
            .bucket(bucket)
            .key("example-service/App/replaced.zip")
            .body(b"not what the build made".to_vec().into())
            .set_server_side_encryption(algorithm)
            .set_ssekms_key_id(key_id.map(str::to_owned))
            .send()
            .await
            .expect_err(what);
        assert_eq!(
            error.into_service_error().meta().code(),
            Some("AccessDenied"),
            "{what}"
        );
    }
    // the build account's own writers, naming the key, are let through
    emulator
        .s3(BUILD, "us-west-2")
        .await
        .put_object()
        .bucket(bucket)
        .key("example-service/App/built.zip")
        .body(b"built".to_vec().into())
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .ssekms_key_id(&key)
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_permissions_boundary_reaches_the_cloudformation_role() {
    let emulator = Emulator::start();
    let iam = aws_sdk_iam::Client::new(&emulator.sdk("222222222222", "us-east-1").await);
    let boundary = iam
        .create_policy()
        .policy_name("deploy-boundary")
        .policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["cloudformation:*","s3:*"],"Resource":"*"}]}"#,
        )
        .send()
        .await
        .unwrap()
        .policy()
        .unwrap()
        .arn()
        .unwrap()
        .to_owned();
    let text = standard().replacen(
        "profile = \"development\"",
        &format!("profile = \"development\"\npermissions_boundary = \"{boundary}\""),
        1,
    );
    let file = emulator.write("topology.toml", &text);
    emulator
        .plinth(&["apply", "-t", path_str(&file), "--yes"])
        .expect(0);
    let role = iam
        .get_role()
        .role_name("acme-cloudformation")
        .send()
        .await
        .unwrap();
    let role = role.role().unwrap();
    assert_eq!(
        role.permissions_boundary()
            .and_then(|b| b.permissions_boundary_arn()),
        Some(boundary.as_str())
    );
    let inline = iam
        .list_role_policies()
        .role_name("acme-cloudformation")
        .send()
        .await
        .unwrap();
    assert!(
        inline
            .policy_names()
            .contains(&"keep-the-boundary".to_owned())
    );
    // the other accounts' roles are unbounded
    let testing = aws_sdk_iam::Client::new(&emulator.sdk("333333333333", "us-east-1").await);
    let role = testing
        .get_role()
        .role_name("acme-cloudformation")
        .send()
        .await
        .unwrap();
    assert!(role.role().unwrap().permissions_boundary().is_none());
    // taking the boundary away is a change, and applying it converges
    let file = emulator.write("topology.toml", &standard());
    emulator
        .plinth(&["plan", "-t", path_str(&file), "--detailed-exitcode"])
        .expect(2);
    emulator
        .plinth(&["apply", "-t", path_str(&file), "--yes"])
        .expect(0);
    let role = iam
        .get_role()
        .role_name("acme-cloudformation")
        .send()
        .await
        .unwrap();
    assert!(role.role().unwrap().permissions_boundary().is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn removing_a_region_is_refused_under_yes_until_destruction_is_allowed() {
    let emulator = Emulator::start();
    let file = emulator.write("topology.toml", &standard());
    emulator
        .plinth(&["apply", "-t", path_str(&file), "--yes"])
        .expect(0);
    let without_eu =
        standard().replacen("regions = [\"eu-west-1\"]", "regions = [\"us-west-2\"]", 1);
    let file = emulator.write("topology.toml", &without_eu);
    let plan = emulator.plinth(&["plan", "-t", path_str(&file), "--json"]);
    plan.expect(0);
    let json = plan.json();
    assert_eq!(json["destructive"], true);
    let destroyed: Vec<(String, String)> = json["destructions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["resource_type"].as_str().unwrap().to_owned(),
                d["region"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(destroyed.contains(&("AWS::KMS::Key".into(), "eu-west-1".into())));
    assert!(destroyed.contains(&("AWS::S3::Bucket".into(), "eu-west-1".into())));
    emulator
        .plinth(&["plan", "-t", path_str(&file)])
        .expect(0)
        .assert_stderr("This plan destroys data. What goes, and when:")
        .assert_stderr("bucket acme-artifacts-111111111111-eu-west-1 (111111111111 eu-west-1)")
        .assert_stderr("deleted for good 7 days later");

    emulator
        .plinth(&["apply", "-t", path_str(&file), "--yes"])
        .expect(1)
        .assert_stderr("--yes alone does not allow that; nothing was changed");
    assert!(regional(&emulator).await, "nothing was deleted");
    emulator
        .plinth(&[
            "apply",
            "-t",
            path_str(&file),
            "--yes",
            "--allow-destructive",
        ])
        .expect(0);
    assert!(!regional(&emulator).await, "the regional stack is gone");

    // destroy is destructive by nature
    emulator
        .plinth(&["destroy", "-t", path_str(&file), "--yes"])
        .expect(1)
        .assert_stderr("refusing to destroy");
    emulator
        .plinth(&[
            "destroy",
            "-t",
            path_str(&file),
            "--yes",
            "--allow-destructive",
        ])
        .expect(0);
}

async fn regional(emulator: &Emulator) -> bool {
    aws_sdk_cloudformation::Client::new(&emulator.sdk(BUILD, "eu-west-1").await)
        .describe_stacks()
        .stack_name("acme-regional")
        .send()
        .await
        .is_ok()
}
