use super::*;
use crate::fixtures::example;
use crate::graph::StackGraph;
use crate::layout::StackKey;
use crate::templates::code;
use crate::topology::{AccountId, Region};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The final template of a stack of the example, as JSON.
fn template_of(key: &StackKey) -> Value {
    let topology = example();
    let graph = StackGraph::build(&topology, &BTreeSet::new());
    crate::templates::render_graph(&topology, &graph)
        .into_iter()
        .rfind(|n| &n.stack.key == key)
        .unwrap()
        .template
        .body()
}

fn physical(logical: &str, resource: &Value) -> String {
    let p = &resource["Properties"];
    [
        "BucketName",
        "RoleName",
        "AliasName",
        "FunctionName",
        "LogGroupName",
    ]
    .iter()
    .find_map(|k| p[*k].as_str().map(str::to_owned))
    .unwrap_or_else(|| format!("{}-1234", logical.to_lowercase()))
}

/// What AWS holds for a template that nobody changed: every declared value, with AWS's own
/// renderings (single values unwrapped, statements reordered, an account id for a root ARN).
fn faithful(template: &Value, account: &AccountId, region: &Region) -> LiveStack {
    let resources = template["Resources"].as_object().unwrap();
    let mut live = LiveStack {
        resources: resources
            .iter()
            .map(|(logical, r)| LiveResource {
                logical_id: logical.clone(),
                resource_type: r["Type"].as_str().unwrap().to_owned(),
                physical_id: physical(logical, r),
                config: LiveConfig::NotRead,
            })
            .collect(),
    };
    let parameters = parameters_of(template);
    let snapshot = live.clone();
    let context = Context::new(account, region, &parameters, &snapshot);
    let policy_of = |bucket: &str| {
        resources
            .values()
            .filter(|r| r["Type"] == "AWS::S3::BucketPolicy")
            .find(|r| context.resolve(&r["Properties"]["Bucket"]) == Some(json!(bucket)))
            .map(|r| aws_rendering(&context.resolve(&r["Properties"]["PolicyDocument"]).unwrap()))
    };
    for resource in &mut live.resources {
        let p = &resources[&resource.logical_id]["Properties"];
        resource.config = match resource.resource_type.as_str() {
            "AWS::S3::Bucket" => {
                let sse = context
                    .resolve(&p["BucketEncryption"]["ServerSideEncryptionConfiguration"][0])
                    .unwrap();
                LiveConfig::Bucket(LiveBucket {
                    policy: policy_of(&resource.physical_id),
                    encryption: Some(Encryption {
                        algorithm: "aws:kms".into(),
                        key_id: sse["ServerSideEncryptionByDefault"]["KMSMasterKeyID"]
                            .as_str()
                            .map(str::to_owned),
                        bucket_key: true,
                    }),
                    versioning: Some("Enabled".into()),
                    public_access_block: Some([true; 4]),
                    ownership: Some("BucketOwnerEnforced".into()),
                    lifecycle: vec![LifecycleRule {
                        id: "ExpireNoncurrentVersions".into(),
                        enabled: true,
                        noncurrent_days: Some(30),
                        abort_incomplete_days: Some(7),
                    }],
                })
            }
            "AWS::KMS::Key" => LiveConfig::Key(LiveKey {
                policy: Some(aws_rendering(&context.resolve(&p["KeyPolicy"]).unwrap())),
                rotation: true,
                state: "Enabled".into(),
            }),
            "AWS::KMS::Alias" => LiveConfig::Alias {
                target_key_id: Some(
                    context
                        .resolve(&p["TargetKeyId"])
                        .unwrap()
                        .as_str()
                        .unwrap()
                        .to_owned(),
                ),
            },
            "AWS::IAM::Role" => LiveConfig::Role(LiveRole {
                trust: Some(url_encode(&aws_rendering(
                    &context.resolve(&p["AssumeRolePolicyDocument"]).unwrap(),
                ))),
                inline: p["Policies"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|policy| {
                        (
                            policy["PolicyName"].as_str().unwrap().to_owned(),
                            url_encode(&aws_rendering(
                                &context.resolve(&policy["PolicyDocument"]).unwrap(),
                            )),
                        )
                    })
                    .collect(),
                managed: p["ManagedPolicyArns"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|a| a.as_str().unwrap().to_owned())
                    .collect(),
                boundary: p["PermissionsBoundary"].as_str().map(str::to_owned),
            }),
            "AWS::Lambda::Function" => LiveConfig::Function {
                configuration: LiveFunction {
                    runtime: p["Runtime"].as_str().map(str::to_owned),
                    handler: p["Handler"].as_str().map(str::to_owned),
                    timeout: p["Timeout"].as_i64(),
                    memory: p["MemorySize"].as_i64(),
                    role: context
                        .resolve(&p["Role"])
                        .and_then(|r| r.as_str().map(str::to_owned)),
                },
                code_sha256: Some(CLOUDFORMATIONS_PACKAGE.into()),
            },
            "AWS::Lambda::Version" => LiveConfig::Version {
                code_sha256: Some(CLOUDFORMATIONS_PACKAGE.into()),
            },
            "AWS::CodePipeline::Pipeline" => {
                // CodePipeline fills in what the template leaves out.
                let mut definition = PipelineDefinition::declared(p, &context).unwrap();
                definition.execution_mode = Some("SUPERSEDED".into());
                for action in definition.stages.iter_mut().flat_map(|s| &mut s.actions) {
                    action.region.get_or_insert_with(|| region.to_string());
                }
                LiveConfig::Pipeline(definition)
            }
            "AWS::Logs::LogGroup" => LiveConfig::LogGroup(LiveLogGroup {
                retention_days: p["RetentionInDays"].as_i64(),
            }),
            _ => LiveConfig::NotRead,
        };
    }
    live
}

/// The hash Lambda reports for the package CloudFormation made of inline code (its own zip,
/// with its own timestamps: not predictable from the template).
const CLOUDFORMATIONS_PACKAGE: &str = "Jua2X4aiJWxhTt+Bm5Kc+mwk7k382ktdIHJlNEE9Uk8=";

/// A document as AWS may return it: statements in reverse order, one-element lists unwrapped,
/// an account's root ARN as its bare id.
fn aws_rendering(document: &Value) -> String {
    let mut document = document.clone();
    if let Some(statements) = document["Statement"].as_array_mut() {
        statements.reverse();
        for statement in statements.iter_mut() {
            for key in ["Action", "Resource"] {
                if statement[key].as_array().is_some_and(|a| a.len() == 1) {
                    statement[key] = statement[key][0].clone();
                }
            }
            if let Some(aws) = statement["Principal"]["AWS"].as_str()
                && let Some(id) = aws
                    .strip_prefix("arn:aws:iam::")
                    .and_then(|r| r.strip_suffix(":root"))
            {
                statement["Principal"]["AWS"] = json!(id);
            }
        }
    }
    document.to_string()
}

fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn place() -> (AccountId, Region) {
    (
        AccountId::parse("111111111111").unwrap(),
        Region::parse("us-east-1").unwrap(),
    )
}

/// A value for every parameter of a template: the ARN of a key named after it.
fn parameters_of(template: &Value) -> BTreeMap<String, String> {
    template["Parameters"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, _)| {
            (
                name.clone(),
                format!("arn:aws:kms:us-east-1:111111111111:key/{name}"),
            )
        })
        .collect()
}

fn detect_in(template: &Value, live: &LiveStack) -> Vec<Drift> {
    let (account, region) = place();
    let parameters = parameters_of(template);
    detect(
        template,
        live,
        &Context::new(&account, &region, &parameters, live),
    )
}

fn config_mut<'a>(live: &'a mut LiveStack, logical: &str) -> &'a mut LiveConfig {
    &mut live
        .resources
        .iter_mut()
        .find(|r| r.logical_id == logical)
        .unwrap_or_else(|| panic!("no {logical} in the stack"))
        .config
}

fn bucket_mut<'a>(live: &'a mut LiveStack, logical: &str) -> &'a mut LiveBucket {
    match config_mut(live, logical) {
        LiveConfig::Bucket(b) => b,
        _ => panic!("{logical} is not a bucket"),
    }
}

fn role_mut<'a>(live: &'a mut LiveStack, logical: &str) -> &'a mut LiveRole {
    match config_mut(live, logical) {
        LiveConfig::Role(r) => r,
        _ => panic!("{logical} is not a role"),
    }
}

fn key_mut(live: &mut LiveStack) -> &mut LiveKey {
    match config_mut(live, "ArtifactKey") {
        LiveConfig::Key(k) => k,
        _ => unreachable!(),
    }
}

fn primary() -> (Value, LiveStack) {
    let template = template_of(&StackKey::Primary);
    let (account, region) = place();
    let live = faithful(&template, &account, &region);
    (template, live)
}

#[test]
fn what_aws_returns_for_unchanged_resources_is_no_drift() {
    let (template, live) = primary();
    assert_eq!(detect_in(&template, &live), Vec::new());
    let deploy = template_of(&StackKey::Deploy {
        account: AccountId::parse("222222222222").unwrap(),
    });
    let (account, region) = place();
    let live = faithful(&deploy, &account, &region);
    assert_eq!(detect_in(&deploy, &live), Vec::new());
    // and the checks ran: the resources were read and compared
    assert!(
        live.resources
            .iter()
            .filter(|r| matches!(r.config, LiveConfig::Role(_)))
            .count()
            == 2
    );
}

#[test]
fn a_deleted_bucket_policy_is_put_back_as_declared() {
    let (template, mut live) = primary();
    bucket_mut(&mut live, "ArtifactBucket").policy = None;
    let drifts = detect_in(&template, &live);
    assert_eq!(drifts.len(), 1, "{drifts:#?}");
    let drift = &drifts[0];
    assert_eq!(drift.resource, "ArtifactBucketPolicy");
    assert_eq!(drift.live, "absent");
    let Repair::PutBucketPolicy { bucket, document } = &drift.repair else {
        panic!("{:?}", drift.repair)
    };
    assert_eq!(bucket, "acme-artifacts-111111111111-us-east-1");
    let declared = Context::new(&place().0, &place().1, &BTreeMap::new(), &live)
        .resolve(&template["Resources"]["ArtifactBucketPolicy"]["Properties"]["PolicyDocument"])
        .unwrap();
    assert!(same_policy(
        &serde_json::from_str(document).unwrap(),
        &declared
    ));
}

#[test]
fn an_extra_statement_is_named_and_removed() {
    let (template, mut live) = primary();
    let bucket = bucket_mut(&mut live, "ArtifactBucket");
    let mut policy: Value = serde_json::from_str(bucket.policy.as_ref().unwrap()).unwrap();
    policy["Statement"].as_array_mut().unwrap().push(json!({
        "Sid": "Intruder", "Effect": "Allow", "Principal": { "AWS": "999999999999" },
        "Action": "s3:PutObject", "Resource": "arn:aws:s3:::acme-artifacts-111111111111-us-east-1/*"
    }));
    bucket.policy = Some(policy.to_string());
    let drifts = detect_in(&template, &live);
    assert_eq!(drifts.len(), 1);
    assert_eq!(
        drifts[0].details,
        vec![
            "- Intruder: Allow s3:PutObject on arn:aws:s3:::acme-artifacts-111111111111-us-east-1/* to arn:aws:iam::999999999999:root"
        ]
    );
    // The repair puts the declared document back, not the live one with the intruder.
    let put: Value = serde_json::from_str(drifts[0].repair.document().unwrap()).unwrap();
    assert!(
        !same_policy(&put, &policy),
        "the repair must not put back what is live"
    );
    let declared = faithful(&template, &place().0, &place().1);
    let Some(LiveConfig::Bucket(untouched)) = declared
        .resources
        .iter()
        .find(|r| r.logical_id == "ArtifactBucket")
        .map(|r| &r.config)
    else {
        panic!("the faithful bucket");
    };
    let untouched: Value = serde_json::from_str(untouched.policy.as_ref().unwrap()).unwrap();
    assert!(same_policy(&put, &untouched), "{put}");
}

#[test]
fn bucket_settings_changed_behind_cloudformations_back_are_found() {
    let (template, mut live) = primary();
    let bucket = bucket_mut(&mut live, "BuildBucket");
    bucket.encryption = Some(Encryption {
        algorithm: "AES256".into(),
        key_id: None,
        bucket_key: false,
    });
    bucket.versioning = Some("Suspended".into());
    bucket.public_access_block = Some([true, false, true, true]);
    bucket.ownership = Some("ObjectWriter".into());
    bucket.lifecycle.clear();
    let drifts = detect_in(&template, &live);
    let properties: Vec<&str> = drifts.iter().map(|d| d.property.as_str()).collect();
    assert_eq!(
        properties,
        [
            "BucketEncryption",
            "VersioningConfiguration",
            "PublicAccessBlockConfiguration",
            "OwnershipControls",
            "LifecycleConfiguration"
        ]
    );
    assert!(drifts.iter().all(|d| d.resource == "BuildBucket"));
    assert_eq!(drifts[1].live, "Suspended");
    assert!(matches!(
        &drifts[0].repair,
        Repair::PutBucketEncryption { encryption, .. } if encryption.algorithm == "aws:kms" && encryption.key_id.as_deref() == Some("arn:aws:kms:us-east-1:111111111111:key/artifactkey-1234")
    ));
}

#[test]
fn key_rotation_state_and_policy_are_checked() {
    let (template, mut live) = primary();
    let key = key_mut(&mut live);
    key.rotation = false;
    key.state = "Disabled".into();
    let mut policy: Value = serde_json::from_str(key.policy.as_ref().unwrap()).unwrap();
    policy["Statement"][0]["Principal"]["AWS"] = json!(["111111111111", "999999999999"]);
    key.policy = Some(policy.to_string());
    let drifts = detect_in(&template, &live);
    let properties: Vec<&str> = drifts.iter().map(|d| d.property.as_str()).collect();
    assert_eq!(properties, ["KeyPolicy", "EnableKeyRotation", "Enabled"]);
    assert_eq!(
        drifts[0].details,
        // AWS returned the statements reversed: the first is the targets' decrypt statement
        vec![
            "~ TargetAccountsDecrypt: + principals arn:aws:iam::222222222222:root, arn:aws:iam::333333333333:root, arn:aws:iam::444444444444:root; - principals arn:aws:iam::111111111111:root, arn:aws:iam::999999999999:root"
        ]
    );
}

#[test]
fn role_policies_trust_and_boundary_are_exactly_as_declared() {
    let deploy = template_of(&StackKey::Deploy {
        account: AccountId::parse("222222222222").unwrap(),
    });
    let (account, region) = place();
    let mut live = faithful(&deploy, &account, &region);
    let role = role_mut(&mut live, "PipelineRole");
    role.inline.insert(
        "admin".into(),
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#
            .into(),
    );
    role.managed
        .insert("arn:aws:iam::aws:policy/AdministratorAccess".into());
    role.trust = Some(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999999999999:root"},"Action":"sts:AssumeRole"}]}"#
            .into(),
    );
    let cloudformation = role_mut(&mut live, "CloudFormationRole");
    cloudformation.managed.clear();
    cloudformation.boundary = Some("arn:aws:iam::222222222222:policy/b".into());
    let drifts = detect_in(&deploy, &live);
    let repairs: Vec<&Repair> = drifts.iter().map(|d| &d.repair).collect();
    assert!(repairs.contains(&&Repair::DeleteRolePolicy {
        role: "acme-codepipeline".into(),
        name: "admin".into()
    }));
    assert!(repairs.contains(&&Repair::DetachRolePolicy {
        role: "acme-codepipeline".into(),
        arn: "arn:aws:iam::aws:policy/AdministratorAccess".into()
    }));
    assert!(repairs.contains(&&Repair::AttachRolePolicy {
        role: "acme-cloudformation".into(),
        arn: "arn:aws:iam::aws:policy/PowerUserAccess".into()
    }));
    assert!(repairs.contains(&&Repair::DeleteRoleBoundary {
        role: "acme-cloudformation".into()
    }));
    assert!(
        repairs
            .iter()
            .any(|r| matches!(r, Repair::UpdateTrust { role, .. } if role == "acme-codepipeline"))
    );
    let extra = drifts
        .iter()
        .find(|d| d.property == "Policies/admin")
        .unwrap();
    assert_eq!(extra.details, vec!["- Allow * on *"]);
    assert_eq!(drifts.len(), 5, "{drifts:#?}");
}

fn pipeline_mut(live: &mut LiveStack) -> &mut PipelineDefinition {
    match config_mut(live, "Pipeline") {
        LiveConfig::Pipeline(p) => p,
        _ => unreachable!(),
    }
}

fn pipeline() -> (Value, LiveStack) {
    let template = template_of(&StackKey::Pipeline {
        pipeline: "example-service".into(),
    });
    let (account, region) = place();
    let live = faithful(&template, &account, &region);
    (template, live)
}

#[test]
fn an_untouched_pipeline_is_no_drift_whatever_defaults_codepipeline_fills_in() {
    let (template, live) = pipeline();
    assert_eq!(detect_in(&template, &live), Vec::new());
    let LiveConfig::Pipeline(definition) = &live
        .resources
        .iter()
        .find(|r| r.logical_id == "Pipeline")
        .unwrap()
        .config
    else {
        panic!("the pipeline was not read");
    };
    // the sync actions' parameters (a two-argument Fn::Sub) resolved, so they are compared
    let sync = definition.stages.iter().find(|s| s.name == "Sync").unwrap();
    assert!(
        sync.actions[0].configuration["UserParameters"]
            .contains("\"DestinationBucket\": \"acme-artifacts-"),
        "{:?}",
        sync.actions[0].configuration
    );
}

#[test]
fn a_pipeline_changed_behind_cloudformations_back_is_named_stage_by_stage_and_put_back() {
    let (template, mut live) = pipeline();
    let declared = {
        let live = pipeline_mut(&mut live);
        let declared = live.clone();
        // someone adds a stage, drops an approval, points a deployment at another role
        // and swaps a region's artifact key
        live.stages.push(Stage {
            name: "Backdoor".into(),
            actions: Vec::new(),
        });
        let production = live
            .stages
            .iter_mut()
            .find(|s| s.name == "production")
            .unwrap();
        production.actions.retain(|a| a.name != "Approve");
        let create = production
            .actions
            .iter_mut()
            .find(|a| a.name == "CreateChangeSet-us-east-1")
            .unwrap();
        create.configuration.insert(
            "RoleArn".into(),
            "arn:aws:iam::444444444444:role/admin".into(),
        );
        live.artifact_stores.get_mut("us-west-2").unwrap().key = Some("someone-elses".into());
        declared
    };
    let drifts = detect_in(&template, &live);
    let properties: Vec<&str> = drifts.iter().map(|d| d.property.as_str()).collect();
    assert_eq!(properties, ["ArtifactStores", "Stages"]);
    assert_eq!(
        drifts[0].details,
        [format!(
            "~ ArtifactStores/us-west-2: live acme-artifacts-111111111111-us-west-2 (key someone-elses), declared acme-artifacts-111111111111-us-west-2 (key {})",
            declared.artifact_stores["us-west-2"]
                .key
                .as_deref()
                .unwrap()
        )]
    );
    assert_eq!(
        drifts[1].details,
        [
            "~ Stages/production/Actions/CreateChangeSet-us-east-1/Configuration/RoleArn: live arn:aws:iam::444444444444:role/admin, declared arn:aws:iam::444444444444:role/acme-cloudformation",
            "+ Stages/production/Actions/Approve",
            "- Stages/Backdoor",
        ]
    );
    // one call puts the whole definition back as declared
    for drift in &drifts {
        let Repair::UpdatePipeline { definition } = &drift.repair else {
            panic!("{:?}", drift.repair);
        };
        assert_eq!(drift.repair.service(), Service::CodePipeline);
        assert_eq!(definition.artifact_stores, declared.artifact_stores);
        let stages: Vec<&str> = definition.stages.iter().map(|s| s.name.as_str()).collect();
        let declared_stages: Vec<&str> = declared.stages.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(stages, declared_stages);
        let production = definition
            .stages
            .iter()
            .find(|s| s.name == "production")
            .unwrap();
        assert!(production.actions.iter().any(|a| a.name == "Approve"));
        let create = production
            .actions
            .iter()
            .find(|a| a.name == "CreateChangeSet-us-east-1")
            .unwrap();
        assert_eq!(
            create.configuration["RoleArn"],
            "arn:aws:iam::444444444444:role/acme-cloudformation"
        );
    }
}

#[test]
fn a_pipeline_whose_role_type_mode_variables_triggers_or_stage_order_changed_is_drift() {
    let (template, mut live) = pipeline();
    {
        let live = pipeline_mut(&mut live);
        live.role_arn = "arn:aws:iam::111111111111:role/other".into();
        live.pipeline_type = None;
        live.execution_mode = Some("PARALLEL".into());
        live.variables
            .insert("Target".into(), Some("production".into()));
        live.triggers.push("CodeStarSourceConnection on App".into());
        live.stages.swap(1, 2);
    }
    let drifts = detect_in(&template, &live);
    let found: Vec<(&str, &str, &str)> = drifts
        .iter()
        .map(|d| (d.property.as_str(), d.live.as_str(), d.declared.as_str()))
        .collect();
    assert_eq!(
        found[0],
        (
            "RoleArn",
            "arn:aws:iam::111111111111:role/other",
            "arn:aws:iam::111111111111:role/acme-pipeline-example-service"
        )
    );
    assert_eq!(found[1], ("PipelineType", "V1", "V2"));
    assert_eq!(found[2], ("ExecutionMode", "PARALLEL", "SUPERSEDED"));
    assert_eq!(found[3], ("Variables", "1 variable", "none"));
    assert_eq!(drifts[3].details, ["- Variables/Target: production"]);
    assert_eq!(found[4], ("Triggers", "1 trigger", "none"));
    assert_eq!(
        drifts[4].details,
        ["- Triggers/CodeStarSourceConnection on App"]
    );
    assert_eq!(found[5].0, "Stages");
    assert!(
        drifts[5].details[0].starts_with("~ stage order: live Source, "),
        "{:?}",
        drifts[5].details
    );
    assert_eq!(drifts.len(), 6);
    // the repair declares the default mode, no variables and no triggers
    let Repair::UpdatePipeline { definition } = &drifts[0].repair else {
        panic!("{:?}", drifts[0].repair);
    };
    assert_eq!(definition.execution_mode, None);
    assert!(definition.variables.is_empty() && definition.triggers.is_empty());
}

fn function_mut(live: &mut LiveStack) -> (&mut LiveFunction, &mut Option<String>) {
    match config_mut(live, "SyncFunction") {
        LiveConfig::Function {
            configuration,
            code_sha256,
        } => (configuration, code_sha256),
        _ => unreachable!(),
    }
}

#[test]
fn function_code_changed_by_hand_is_found_against_the_version_cloudformation_published() {
    let (template, mut live) = primary();
    let source = crate::templates::ARTIFACT_SYNC_SOURCE;
    *function_mut(&mut live).1 = Some("c29tZW9uZSBlbHNlJ3MgY29kZQ==".into());
    let drifts = detect_in(&template, &live);
    assert_eq!(drifts.len(), 1, "{drifts:?}");
    assert_eq!(
        (drifts[0].resource.as_str(), drifts[0].property.as_str()),
        ("SyncFunction", "Code")
    );
    assert_eq!(
        drifts[0].live,
        "package sha256 c29tZW9uZSBlbHNlJ3MgY29kZQ=="
    );
    assert_eq!(
        drifts[0].repair,
        Repair::UpdateFunctionCode {
            function: "acme-artifact-sync".into(),
            source: source.into(),
        }
    );
    assert_eq!(drifts[0].repair.service(), Service::Lambda);

    // after the repair Lambda holds plinth's own package of the same code: no drift
    *function_mut(&mut live).1 = Some(code::code_sha256(&code::inline_code_zip(source)));
    assert_eq!(detect_in(&template, &live), Vec::new());
}

#[test]
fn function_code_is_not_compared_without_a_published_version() {
    let (template, mut live) = primary();
    *function_mut(&mut live).1 = Some("c29tZW9uZSBlbHNlJ3MgY29kZQ==".into());
    // a stack deployed before plinth published versions: nothing to compare with
    for resource in &mut live.resources {
        if resource.resource_type == "AWS::Lambda::Version" {
            resource.config = LiveConfig::NotRead;
        }
    }
    assert_eq!(detect_in(&template, &live), Vec::new());
    // while the configuration is still compared
    function_mut(&mut live).0.timeout = Some(3);
    let properties: Vec<String> = detect_in(&template, &live)
        .into_iter()
        .map(|d| d.property)
        .collect();
    assert_eq!(properties, ["Timeout"]);
}

#[test]
fn a_role_deleted_by_hand_is_shown_as_deleted_and_created_again_as_declared() {
    let deploy = template_of(&StackKey::Deploy {
        account: AccountId::parse("222222222222").unwrap(),
    });
    let (account, region) = place();
    let mut live = faithful(&deploy, &account, &region);
    *config_mut(&mut live, "CloudFormationRole") = LiveConfig::Gone;
    let drifts = detect_in(&deploy, &live);
    assert_eq!(drifts.len(), 1, "{drifts:#?}");
    let drift = &drifts[0];
    assert_eq!(
        (
            drift.resource.as_str(),
            drift.resource_type.as_str(),
            drift.property.as_str()
        ),
        ("CloudFormationRole", "AWS::IAM::Role", "deleted")
    );
    let Repair::CreateRole {
        role,
        trust,
        description,
        inline,
        managed,
        boundary,
        ..
    } = &drift.repair
    else {
        panic!("{:?}", drift.repair)
    };
    assert_eq!(role, "acme-cloudformation");
    let declared = &deploy["Resources"]["CloudFormationRole"]["Properties"];
    assert_eq!(
        serde_json::from_str::<Value>(trust).unwrap(),
        declared["AssumeRolePolicyDocument"]
    );
    assert_eq!(description.as_deref(), declared["Description"].as_str());
    assert_eq!(managed, &["arn:aws:iam::aws:policy/PowerUserAccess"]);
    let names: Vec<&str> = declared["Policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["PolicyName"].as_str().unwrap())
        .collect();
    assert_eq!(inline.keys().map(String::as_str).collect::<Vec<_>>(), names);
    assert_eq!(boundary, &None);
}

#[test]
fn a_function_pipeline_or_alias_deleted_by_hand_is_created_again_as_declared() {
    let (template, mut live) = primary();
    *config_mut(&mut live, "SyncFunction") = LiveConfig::Gone;
    *config_mut(&mut live, "ArtifactKeyAlias") = LiveConfig::Gone;
    let drifts = detect_in(&template, &live);
    let repairs: Vec<&Repair> = drifts.iter().map(|d| &d.repair).collect();
    assert_eq!(drifts.len(), 2, "{drifts:#?}");
    assert!(drifts.iter().all(|d| d.property == "deleted"));
    let Some(Repair::CreateFunction {
        function,
        configuration,
        source,
        ..
    }) = repairs
        .iter()
        .find(|r| matches!(r, Repair::CreateFunction { .. }))
    else {
        panic!("{repairs:?}")
    };
    assert_eq!(function, "acme-artifact-sync");
    assert_eq!(configuration.timeout, Some(300));
    assert_eq!(
        source,
        template["Resources"]["SyncFunction"]["Properties"]["Code"]["ZipFile"]
            .as_str()
            .unwrap()
    );
    assert!(repairs.iter().any(
        |r| matches!(r, Repair::CreateAlias { alias, .. } if alias == "alias/acme-artifacts")
    ));

    let (template, mut live) = pipeline();
    *config_mut(&mut live, "Pipeline") = LiveConfig::Gone;
    let drifts = detect_in(&template, &live);
    assert_eq!(drifts.len(), 1, "{drifts:#?}");
    assert!(
        matches!(&drifts[0].repair, Repair::CreatePipeline { definition } if definition.stages.len() > 1)
    );
}

#[test]
fn a_grant_to_a_deleted_role_names_its_unique_id_and_is_shown_broken() {
    let (template, mut live) = primary();
    let bucket = bucket_mut(&mut live, "ArtifactBucket");
    let role = "arn:aws:iam::222222222222:role/acme-cloudformation";
    let policy = bucket.policy.clone().unwrap();
    assert!(policy.contains(role), "{policy}");
    bucket.policy = Some(policy.replace(role, "AROAEXAMPLEUNIQUEID01"));
    let drifts = detect_in(&template, &live);
    assert_eq!(drifts.len(), 1, "{drifts:#?}");
    let drift = &drifts[0];
    assert!(matches!(drift.repair, Repair::PutBucketPolicy { .. }));
    assert_eq!(
        drift.details[0],
        format!(
            "! broken grant: the policy names AROAEXAMPLEUNIQUEID01, the unique id AWS keeps in place of a deleted principal; not granted until the policy is put again: {role}"
        )
    );
    // the statements that changed follow, as for any policy
    assert!(drift.details.len() > 1, "{:?}", drift.details);
}

#[test]
fn a_log_groups_retention_changed_or_the_group_deleted_is_put_back() {
    let (template, mut live) = primary();
    *config_mut(&mut live, "SyncFunctionLogGroup") = LiveConfig::LogGroup(LiveLogGroup {
        retention_days: None,
    });
    let drifts = detect_in(&template, &live);
    assert_eq!(drifts.len(), 1, "{drifts:#?}");
    assert_eq!(
        (drifts[0].live.as_str(), drifts[0].declared.as_str()),
        ("never expire", "365 days")
    );
    assert_eq!(
        drifts[0].repair,
        Repair::PutRetentionPolicy {
            log_group: "/aws/lambda/acme-artifact-sync".into(),
            retention_days: Some(365)
        }
    );
    *config_mut(&mut live, "SyncFunctionLogGroup") = LiveConfig::Gone;
    let drifts = detect_in(&template, &live);
    assert_eq!(drifts.len(), 1, "{drifts:#?}");
    assert_eq!(drifts[0].property, "deleted");
    assert_eq!(
        drifts[0].repair,
        Repair::CreateLogGroup {
            log_group: "/aws/lambda/acme-artifact-sync".into(),
            retention_days: Some(365)
        }
    );
}
