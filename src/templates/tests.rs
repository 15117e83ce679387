use std::collections::BTreeSet;

use serde_json::Value;

use super::*;
use crate::graph::StackGraph;

use crate::fixtures::example;

fn rendered() -> Vec<RenderedNode> {
    let topology = example();
    render_graph(&topology, &StackGraph::build(&topology, &BTreeSet::new()))
}

fn snapshot_name(node: &RenderedNode) -> String {
    let place = match &node.stack.key {
        StackKey::Primary => String::new(),
        StackKey::Regional { region } => format!("-{region}"),
        StackKey::Deploy { account } => format!("-{account}"),
        StackKey::Pipeline { .. } | StackKey::StackSet { .. } => String::new(),
    };
    format!("{}{place}-pass{}", node.stack.name, node.pass)
}

#[test]
fn example_templates() {
    for node in rendered() {
        insta::assert_snapshot!(snapshot_name(&node), canonical_json(&node.template.body()));
    }
}

#[test]
fn rendering_is_deterministic() {
    let first: Vec<String> = rendered()
        .iter()
        .map(|n| canonical_json(&n.template.body()))
        .collect();
    let second: Vec<String> = rendered()
        .iter()
        .map(|n| canonical_json(&n.template.body()))
        .collect();
    assert_eq!(first, second);
}

fn statements(value: &Value, inside_key_policy: bool, out: &mut Vec<(Value, bool)>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if k == "Statement" {
                    for s in v.as_array().into_iter().flatten() {
                        out.push((s.clone(), inside_key_policy));
                    }
                } else {
                    statements(v, inside_key_policy || k == "KeyPolicy", out);
                }
            }
        }
        Value::Array(items) => items
            .iter()
            .for_each(|v| statements(v, inside_key_policy, out)),
        _ => {}
    }
}

#[test]
fn every_statement_names_its_actions_and_resources() {
    const FORBIDDEN: &[&str] = &[
        "*",
        "s3:*",
        "kms:*",
        "iam:*",
        "cloudformation:*",
        "codepipeline:*",
        "sts:*",
        "lambda:*",
    ];
    const JOB_RESULTS: &[&str] = &[
        "codepipeline:PutJobFailureResult",
        "codepipeline:PutJobSuccessResult",
    ];
    let mut checked = 0;
    for node in rendered() {
        let mut found = Vec::new();
        statements(&node.template.body(), false, &mut found);
        for (statement, in_key_policy) in found {
            let actions: Vec<&str> = statement["Action"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap())
                .collect();
            // a deny may be as wide as it likes; what is allowed is named
            if statement["Effect"] == "Deny" {
                continue;
            }
            for action in &actions {
                assert!(
                    !FORBIDDEN.contains(action),
                    "{}: {action} in {statement}",
                    node.stack.name
                );
                assert!(!action.ends_with(":*"), "{}: {action}", node.stack.name);
            }
            let is_trust = actions == ["sts:AssumeRole"]
                && statement.get("Principal").is_some()
                && statement.get("Resource").is_none();
            if is_trust {
                continue;
            }
            let resources = statement["Resource"]
                .as_array()
                .expect("every statement names resources");
            assert!(!resources.is_empty());
            if resources.iter().any(|r| r == "*") {
                assert!(
                    in_key_policy || actions.iter().all(|a| JOB_RESULTS.contains(a)),
                    "{}: `*` resource in {statement}",
                    node.stack.name
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 20, "only {checked} statements checked");
}

#[test]
fn buckets_are_encrypted_versioned_private_and_tls_only() {
    for node in rendered()
        .iter()
        .filter(|n| matches!(n.stack.key, StackKey::Primary | StackKey::Regional { .. }))
    {
        let body = node.template.body();
        let resources = body["Resources"].as_object().unwrap();
        for (id, resource) in resources
            .iter()
            .filter(|(_, r)| r["Type"] == "AWS::S3::Bucket")
        {
            let p = &resource["Properties"];
            let sse = &p["BucketEncryption"]["ServerSideEncryptionConfiguration"][0];
            assert_eq!(
                sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"], "aws:kms",
                "{id}"
            );
            assert_eq!(sse["BucketKeyEnabled"], true);
            assert_eq!(p["VersioningConfiguration"]["Status"], "Enabled");
            // old versions and abandoned uploads do not pile up
            let rule = &p["LifecycleConfiguration"]["Rules"][0];
            assert_eq!(rule["Status"], "Enabled", "{id}");
            assert_eq!(rule["NoncurrentVersionExpiration"]["NoncurrentDays"], 30);
            assert_eq!(
                rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"],
                7
            );
            for block in [
                "BlockPublicAcls",
                "BlockPublicPolicy",
                "IgnorePublicAcls",
                "RestrictPublicBuckets",
            ] {
                assert_eq!(p["PublicAccessBlockConfiguration"][block], true);
            }
            let policy = resources
                .values()
                .find(|r| {
                    r["Type"] == "AWS::S3::BucketPolicy"
                        && r["Properties"]["Bucket"]["Ref"] == id.as_str()
                })
                .expect("every bucket has a policy");
            let statements = policy["Properties"]["PolicyDocument"]["Statement"]
                .as_array()
                .unwrap();
            let deny = |sid: &str| {
                let statement = statements
                    .iter()
                    .find(|s| s["Sid"] == sid)
                    .unwrap_or_else(|| panic!("{id}: no {sid}"));
                assert_eq!(statement["Effect"], "Deny", "{id} {sid}");
                assert_eq!(statement["Principal"], "*", "{id} {sid}");
                statement.clone()
            };
            let objects = serde_json::json!({ "Fn::Join": ["", ["arn:", { "Ref": "AWS::Partition" }, ":s3:::", { "Ref": id }, "/*"]] });
            for sid in ["DenyInsecureTransport", "DenyOutdatedTls"] {
                let statement = deny(sid);
                assert_eq!(statement["Action"], serde_json::json!(["s3:*"]), "{id}");
                assert_eq!(statement["Resource"].as_array().unwrap().len(), 2);
                assert!(statement["Resource"].as_array().unwrap().contains(&objects));
            }
            assert_eq!(
                deny("DenyInsecureTransport")["Condition"],
                serde_json::json!({ "Bool": { "aws:SecureTransport": "false" } })
            );
            assert_eq!(
                deny("DenyOutdatedTls")["Condition"],
                serde_json::json!({ "NumericLessThan": { "s3:TlsVersion": "1.2" } })
            );
            let kms = deny("DenyUploadsNotEncryptedWithKms");
            assert_eq!(kms["Action"], serde_json::json!(["s3:PutObject"]));
            assert_eq!(kms["Resource"], serde_json::json!([objects]));
            assert_eq!(
                kms["Condition"],
                serde_json::json!({ "StringNotEquals": { "s3:x-amz-server-side-encryption": "aws:kms" } })
            );
            let key = deny("DenyUploadsWithAnotherKey");
            assert_eq!(key["Action"], serde_json::json!(["s3:PutObject"]));
            assert_eq!(key["Resource"], serde_json::json!([objects]));
            // the key the bucket encrypts with by default, and no other
            assert_eq!(
                key["Condition"]["StringNotEquals"]["s3:x-amz-server-side-encryption-aws-kms-key-id"],
                sse["ServerSideEncryptionByDefault"]["KMSMasterKeyID"]
            );
        }
        let key = &resources["ArtifactKey"]["Properties"];
        assert_eq!(key["EnableKeyRotation"], true);
        assert_eq!(key["PendingWindowInDays"], 7);
    }
}

#[test]
fn second_passes_add_grants_for_every_target_account() {
    let topology = example();
    for node in rendered().iter().filter(|n| n.pass == 2) {
        let text = canonical_json(&node.template.body());
        for account in topology.target_accounts() {
            for role in ["acme-codepipeline", "acme-cloudformation"] {
                assert!(
                    text.contains(&format!("iam::{account}:role/{role}")),
                    "{}",
                    node.stack.name
                );
            }
        }
    }
}

#[test]
fn the_sync_function_fits_inline() {
    assert!(
        ARTIFACT_SYNC_SOURCE.len() <= INLINE_CODE_LIMIT,
        "{} bytes",
        ARTIFACT_SYNC_SOURCE.len()
    );
}

#[test]
fn a_foundation_of_fifty_accounts_fits_cloudformation_and_s3_limits() {
    use std::fmt::Write as _;
    let regions = [
        "us-east-1",
        "us-east-2",
        "us-west-2",
        "eu-west-1",
        "eu-central-1",
        "ap-southeast-2",
    ];
    let list: Vec<String> = regions.iter().map(|r| format!("\"{r}\"")).collect();
    let mut text = String::from(
        "name = \"acme\"\n[build]\naccount = \"100000000000\"\nregion = \"us-east-1\"\n",
    );
    for i in 0..50 {
        let _ = write!(
            text,
            "[[targets]]\nname = \"t{i}\"\naccount = \"{:012}\"\nregions = [{}]\n",
            200_000_000_000u64 + i,
            list.join(", ")
        );
    }
    // A pipeline to four targets in six regions: 48 change-set actions.
    text.push_str("[[pipelines]]\nname = \"p\"\ntargets = [");
    text.push_str(
        &(0..4)
            .map(|i| format!("\"t{i}\""))
            .collect::<Vec<_>>()
            .join(", "),
    );
    text.push_str("]\nsources = [{ name = \"App\", key = \"app.zip\" }]\nstack = \"app\"\n");
    let topology = crate::topology::parse(&text).unwrap().topology;
    for node in render_graph(&topology, &StackGraph::build(&topology, &BTreeSet::new())) {
        let body = node.template.body();
        // CloudFormation takes a TemplateBody of at most 51,200 bytes (plinth sends compact JSON).
        assert!(
            body.to_string().len() <= 51_200,
            "{} pass {}: {} bytes",
            node.stack.name,
            node.pass,
            body.to_string().len()
        );
        if let Some(policy) =
            body["Resources"]["ArtifactBucketPolicy"]["Properties"]["PolicyDocument"].as_object()
        {
            // S3 takes a bucket policy of at most 20 KB; Fn::Sub principals resolve to shorter ARNs.
            let size = serde_json::to_string(policy).unwrap().len();
            assert!(
                size <= 20 * 1024,
                "{} pass {}: policy of {size} bytes",
                node.stack.name,
                node.pass
            );
        }
    }
}

/// The rendered bucket and key policies of every artifact stack, as compact JSON text.
fn artifact_policies(topology: &Topology) -> Vec<(String, usize)> {
    let graph = StackGraph::build(topology, &BTreeSet::new());
    render_graph(topology, &graph)
        .into_iter()
        .filter(|n| n.pass == graph.passes(&n.stack.key))
        .flat_map(|n| {
            let body = n.template.body();
            let name = n.stack.pass_label(n.pass);
            [
                ("ArtifactBucketPolicy", "PolicyDocument"),
                ("ArtifactKey", "KeyPolicy"),
            ]
            .into_iter()
            .filter_map(move |(resource, property)| {
                let document = body["Resources"][resource]["Properties"].get(property)?;
                Some((format!("{name} {resource}"), document.to_string().len()))
            })
            .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn organization_grants_are_the_same_size_for_3_and_1000_accounts() {
    let regions = ["us-east-1", "eu-west-1"];
    let sizes = |accounts: usize, organization: bool| {
        let mut t = crate::fixtures::grid(accounts, &regions);
        if organization {
            t.organization_id =
                Some(crate::topology::OrganizationId::parse("o-a1b2c3d4e5").unwrap());
        }
        artifact_policies(&t)
    };
    assert_eq!(sizes(3, true), sizes(1000, true));
    // without an organization the policies grow with the accounts
    let (few, many) = (sizes(3, false), sizes(1000, false));
    assert_eq!(few.len(), many.len());
    assert!(
        few.iter().zip(&many).all(|(a, b)| a.1 < b.1),
        "{few:?} {many:?}"
    );
}

#[test]
fn organization_grants_name_the_exact_roles_in_any_account_of_it() {
    let mut t = crate::fixtures::grid(2, &["us-east-1"]);
    t.organization_id = Some(crate::topology::OrganizationId::parse("o-a1b2c3d4e5").unwrap());
    let graph = StackGraph::build(&t, &BTreeSet::new());
    let primary = render_graph(&t, &graph)
        .into_iter()
        .find(|n| n.stack.key == StackKey::Primary)
        .unwrap();
    let body = primary.template.body();
    for (resource, property) in [
        ("ArtifactBucketPolicy", "PolicyDocument"),
        ("ArtifactKey", "KeyPolicy"),
    ] {
        let statements = body["Resources"][resource]["Properties"][property]["Statement"]
            .as_array()
            .unwrap();
        let granted: Vec<&Value> = statements
            .iter()
            .filter(|s| s["Condition"]["StringEquals"]["aws:PrincipalOrgID"] == "o-a1b2c3d4e5")
            .collect();
        assert!(!granted.is_empty(), "{resource}");
        for statement in granted {
            assert_eq!(statement["Principal"], serde_json::json!({ "AWS": "*" }));
            assert_eq!(
                statement["Condition"]["ArnLike"]["aws:PrincipalArn"],
                serde_json::json!([
                    { "Fn::Sub": "arn:${AWS::Partition}:iam::*:role/acme-codepipeline" },
                    { "Fn::Sub": "arn:${AWS::Partition}:iam::*:role/acme-cloudformation" }
                ])
            );
        }
        // no account is named: nothing waits for roles to exist
        assert!(
            !body.to_string().contains("200000000000:role"),
            "{resource}"
        );
    }
    // the grants need no second pass of their own
    assert!(
        graph
            .fragments_through(&StackKey::Primary, 1)
            .contains(&crate::graph::Fragment::Core)
    );
    assert!(
        !graph
            .fragments_through(&StackKey::Primary, graph.passes(&StackKey::Primary))
            .iter()
            .any(|f| matches!(f, crate::graph::Fragment::Grants { .. }))
    );
}

/// Actions that write an artifact or make ciphertext a reader would trust.
const WRITES: &[&str] = &[
    "s3:PutObject",
    "s3:Put",
    "s3:DeleteObject",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:ReEncrypt",
];

fn writes(statement: &Value) -> Vec<String> {
    let actions: Vec<String> = match &statement["Action"] {
        Value::String(a) => vec![a.clone()],
        Value::Array(items) => items
            .iter()
            .filter_map(|a| a.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    };
    actions
        .into_iter()
        .filter(|a| a.ends_with('*') || WRITES.iter().any(|w| a.starts_with(w)))
        .collect()
}

#[test]
fn no_target_account_may_write_an_artifact_or_encrypt_with_an_artifact_key() {
    let mut by_organization = example();
    by_organization.organization_id =
        Some(crate::topology::OrganizationId::parse("o-a1b2c3d4e5").unwrap());
    for topology in [example(), by_organization] {
        let targets: Vec<String> = topology
            .target_accounts()
            .iter()
            .map(ToString::to_string)
            .collect();
        let graph = StackGraph::build(&topology, &BTreeSet::new());
        for node in render_graph(&topology, &graph) {
            let body = node.template.body();
            for (logical, resource) in body["Resources"].as_object().unwrap() {
                let properties = &resource["Properties"];
                // resource policies: statements whose principal is a target account, a target's
                // role, or any role of the organization
                for document in [&properties["PolicyDocument"], &properties["KeyPolicy"]] {
                    for statement in document["Statement"].as_array().into_iter().flatten() {
                        if statement["Effect"] != "Allow" || statement["Principal"].is_null() {
                            continue;
                        }
                        let principal = statement["Principal"].to_string();
                        let to_target = targets.iter().any(|t| principal.contains(t.as_str()))
                            || statement["Principal"]["AWS"] == "*";
                        if to_target {
                            assert!(
                                writes(statement).is_empty(),
                                "{} {logical}: {statement}",
                                node.stack.pass_label(node.pass)
                            );
                        }
                    }
                }
                // identity policies of the roles in the target accounts
                if node.stack.key.kind() == crate::layout::StackKind::Deploy {
                    for policy in properties["Policies"].as_array().into_iter().flatten() {
                        for statement in policy["PolicyDocument"]["Statement"].as_array().unwrap() {
                            let bad: Vec<String> = writes(statement)
                                .into_iter()
                                .filter(|a| a.starts_with("s3:") || a.starts_with("kms:"))
                                .collect();
                            assert!(bad.is_empty(), "{logical}: {statement}");
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn target_accounts_decrypt_only_through_s3_in_the_keys_region() {
    let topology = example();
    let graph = StackGraph::build(&topology, &BTreeSet::new());
    for node in render_graph(&topology, &graph) {
        let body = node.template.body();
        let Some(statements) =
            body["Resources"]["ArtifactKey"]["Properties"]["KeyPolicy"]["Statement"].as_array()
        else {
            continue;
        };
        let decrypt = statements
            .iter()
            .find(|s| s["Sid"] == "TargetAccountsDecrypt")
            .expect("the target accounts' statement");
        assert_eq!(
            decrypt["Action"],
            serde_json::json!(["kms:Decrypt", "kms:DescribeKey"])
        );
        assert_eq!(
            decrypt["Condition"]["StringEquals"]["kms:ViaService"],
            serde_json::json!({ "Fn::Sub": "s3.${AWS::Region}.${AWS::URLSuffix}" })
        );
    }
}

#[test]
fn the_deploy_role_trusts_exactly_the_pipelines_that_deploy_into_its_account() {
    let topology = crate::topology::parse(
        r#"
name = "acme"
[build]
account = "111111111111"
region = "us-east-1"
[[targets]]
name = "a"
account = "222222222222"
regions = ["us-east-1"]
[[targets]]
name = "b"
account = "333333333333"
regions = ["us-east-1"]
[[targets]]
name = "c"
account = "444444444444"
regions = ["us-east-1"]
[[pipelines]]
name = "one"
targets = ["a", "b"]
sources = [{ name = "App", key = "one/app.zip" }]
stack = "one"
template = "template.yaml"
[[pipelines]]
name = "two"
targets = ["b"]
sources = [{ name = "App", key = "two/app.zip" }]
stack = "two"
template = "template.yaml"
"#,
    )
    .unwrap()
    .topology;
    let trust = |account: &str| {
        deploy::pipeline_trust(
            &topology,
            &crate::topology::AccountId::parse(account).unwrap(),
        )
        .to_value()
    };
    let role = |name: &str| serde_json::json!({ "Fn::Sub": format!("arn:${{AWS::Partition}}:iam::111111111111:role/acme-pipeline-{name}") });
    for (account, pipelines) in [
        ("222222222222", vec!["one"]),
        ("333333333333", vec!["one", "two"]),
    ] {
        let document = trust(account);
        let statements = document["Statement"].as_array().unwrap();
        assert_eq!(statements.len(), 1, "{account}");
        let statement = &statements[0];
        assert_eq!(statement["Effect"], "Allow");
        assert_eq!(statement["Action"], serde_json::json!(["sts:AssumeRole"]));
        assert_eq!(
            statement["Condition"],
            serde_json::json!({ "ArnEquals": { "aws:PrincipalArn": pipelines.iter().map(|p| role(p)).collect::<Vec<_>>() } }),
            "{account}"
        );
        // no pattern: a role named like a pipeline's, or another foundation's, is not trusted
        assert!(!document.to_string().contains('*'), "{account}");
        assert!(!document.to_string().contains("ArnLike"), "{account}");
    }
    // an account that no pipeline deploys into trusts no one
    let document = trust("444444444444");
    let statements = document["Statement"].as_array().unwrap();
    assert!(statements.iter().all(|s| s["Effect"] == "Deny"));
}

#[test]
fn a_trust_policy_naming_too_many_pipelines_is_measured_against_its_limit() {
    let topology = crate::fixtures::generated(&[(2, &["us-east-1"])], 60);
    let exceeded: Vec<limits::Measure> =
        render_graph(&topology, &StackGraph::build(&topology, &BTreeSet::new()))
            .iter()
            .filter(|n| matches!(n.stack.key, StackKey::Deploy { .. }))
            .flat_map(|n| limits::measure("deploy", n.stack.region.as_str(), &n.template.body()))
            .filter(|m| m.kind == limits::LimitKind::TrustPolicy && m.exceeded())
            .collect();
    assert_eq!(exceeded.len(), 1, "{exceeded:?}");
}

#[test]
fn the_sync_function_may_make_multipart_uploads_with_the_regional_keys() {
    let primary = rendered()
        .into_iter()
        .rfind(|n| n.stack.key == StackKey::Primary)
        .unwrap();
    let body = primary.template.body();
    let policy =
        &body["Resources"]["SyncFunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"];
    let statement = |sid: &str| {
        policy["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["Sid"] == sid)
            .unwrap_or_else(|| panic!("no statement {sid} in {policy}"))
            .clone()
    };
    // S3 decrypts the data key for every part of a multipart upload to an SSE-KMS bucket
    let keys = statement("EncryptRegionalArtifacts");
    assert_eq!(
        keys["Action"],
        serde_json::json!(["kms:Decrypt", "kms:GenerateDataKey"])
    );
    // one key per region the example syncs to, used through that region's S3 only
    let regions = keys["Condition"]["StringEquals"]["kms:ViaService"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(keys["Resource"].as_array().unwrap().len(), regions);
    assert!(regions >= 2);
    assert_eq!(
        statement("WriteRegionalArtifacts")["Action"],
        serde_json::json!(["s3:AbortMultipartUpload", "s3:PutObject"])
    );
}

#[test]
fn a_permissions_boundary_bounds_the_cloudformation_role_and_every_role_it_creates() {
    let boundary = "arn:aws:iam::222222222222:policy/deploy-boundary";
    let mut topology = example();
    topology.targets[0].permissions_boundary = Some(boundary.to_owned());
    let account = topology.targets[0].account.clone();
    let body = deploy::render(&topology, &account).body();
    let role = &body["Resources"]["CloudFormationRole"]["Properties"];
    assert_eq!(role["PermissionsBoundary"], boundary);
    let policies = role["Policies"].as_array().unwrap();
    let keep = policies
        .iter()
        .find(|p| p["PolicyName"] == "keep-the-boundary")
        .expect("the boundary is kept by an inline policy");
    let statements = keep["PolicyDocument"]["Statement"].as_array().unwrap();
    assert!(statements.iter().all(|s| s["Effect"] == "Deny"));
    let create = statements
        .iter()
        .find(|s| {
            s["Action"]
                .as_array()
                .unwrap()
                .contains(&"iam:CreateRole".into())
        })
        .unwrap();
    assert!(
        create["Action"]
            .as_array()
            .unwrap()
            .contains(&"iam:PutRolePermissionsBoundary".into())
    );
    assert_eq!(
        create["Condition"],
        serde_json::json!({ "StringNotEquals": { "iam:PermissionsBoundary": boundary } })
    );
    assert!(statements.iter().any(|s| {
        s["Action"]
            .as_array()
            .unwrap()
            .contains(&"iam:DeleteRolePermissionsBoundary".into())
            && s.get("Condition").is_none()
    }));
    assert!(statements.iter().any(|s| {
        s["Resource"] == serde_json::json!([boundary])
            && s["Action"]
                .as_array()
                .unwrap()
                .contains(&"iam:CreatePolicyVersion".into())
    }));
    // other accounts are not bounded
    let other = topology.targets[1].account.clone();
    let body = deploy::render(&topology, &other).body();
    let role = &body["Resources"]["CloudFormationRole"]["Properties"];
    assert!(role.get("PermissionsBoundary").is_none());
    assert_eq!(role["Policies"].as_array().unwrap().len(), 1);
}
