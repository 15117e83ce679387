use std::collections::BTreeSet;

use super::*;
use crate::topology::parse;

/// The example with an organization account and a target by organizational unit; with
/// `stack_sets`, the unit's deploy roles come from a StackSet.
fn with_unit(stack_sets: bool) -> Topology {
    let deploy_roles = if stack_sets {
        "deploy_roles = \"stackset\"\n"
    } else {
        ""
    };
    let text = include_str!("../../topology.example.toml")
        .replacen(
            "# organization_id = \"o-a1b2c3d4e5\"",
            "organization_id = \"o-a1b2c3d4e5\"",
            1,
        )
        .replacen(
        "# Optional: the pipelines",
        &format!(
            "[organization]\naccount = \"999999999999\"\nprofile = \"management\"\n{deploy_roles}\n\
             [[targets]]\nname = \"workloads\"\norganizational_unit = \"ou-ab12-cd34ef56\"\n\
             regions = [\"us-east-1\"]\nrole_arn = \"arn:aws:iam::{{account}}:role/deployer\"\n\
             # Optional: the pipelines"
        ),
        1,
    );
    parse(&text).unwrap().topology
}

fn documents(identities: &[Identity]) -> impl Iterator<Item = (&Identity, &Document)> {
    identities
        .iter()
        .flat_map(|i| [(i, &i.plan), (i, &i.apply)])
}

fn check_documents(identities: &[Identity]) {
    for (identity, document) in documents(identities) {
        assert!(
            document.size() <= MANAGED_POLICY_LIMIT,
            "{}: {} characters",
            identity.name,
            document.size()
        );
        let sids: BTreeSet<_> = document.statements.iter().map(|s| &s.sid).collect();
        assert_eq!(sids.len(), document.statements.len(), "Sids are unique");
        for statement in &document.statements {
            assert!(!statement.actions.is_empty());
            for action in &statement.actions {
                assert!(
                    action != "*" && !action.ends_with(":*") && action.contains(':'),
                    "{}: {action}",
                    statement.sid
                );
            }
            for resource in &statement.resources {
                let foundation = [
                    "acme-",
                    "CrossAccount",
                    "plinth-",
                    "crossaccount",
                    "deployer",
                ];
                let wild = !foundation.iter().any(|f| resource.contains(f));
                if wild {
                    assert!(
                        identity
                            .wildcards
                            .iter()
                            .any(|w| w.sid == statement.sid && &w.resource == resource),
                        "{} {}: {resource} is not named as a wildcard",
                        identity.name,
                        statement.sid
                    );
                }
            }
        }
    }
}

#[test]
fn the_example_gets_an_identity_per_account_each_document_within_the_managed_policy_limit() {
    let topology = crate::fixtures::example();
    let identities = identities(&topology);
    let names: Vec<_> = identities.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "build",
            "target development",
            "target testing",
            "target production"
        ]
    );
    check_documents(&identities);
    let build = &identities[0];
    assert!(build.plan.allows("cloudformation:DescribeStacks"));
    assert!(!build.plan.allows("cloudformation:CreateStack"));
    assert!(build.apply.allows("cloudformation:CreateStack"));
    // CloudFormation creates the buckets with plinth's credentials
    assert!(build.apply.allows("s3:CreateBucket"));
    assert!(!build.apply.allows("s3:PutBucketWebsite"));
    let target = &identities[1];
    assert!(target.apply.allows("iam:CreateRole"));
    assert!(!target.apply.allows("s3:CreateBucket"));
    assert!(!target.plan.allows("kms:DescribeKey"));
}

#[test]
fn plan_reads_only_and_apply_repeats_nothing_plan_allows_on_the_same_resources() {
    let identities = identities(&crate::fixtures::example());
    for identity in &identities {
        for statement in &identity.plan.statements {
            for action in &statement.actions {
                let name = action.split_once(':').unwrap().1;
                assert!(
                    ["Describe", "Get", "List", "AssumeRole"]
                        .iter()
                        .any(|p| name.starts_with(p)),
                    "{}: plan allows {action}",
                    identity.name
                );
            }
        }
        for read in &identity.plan.statements {
            for change in &identity.apply.statements {
                if read.resources == change.resources {
                    let both: Vec<_> = read
                        .actions
                        .iter()
                        .filter(|a| change.actions.contains(a))
                        .collect();
                    assert!(both.is_empty(), "{} repeats {both:?}", change.sid);
                }
            }
        }
    }
}

#[test]
fn pass_role_is_limited_to_the_services_that_take_the_foundations_roles() {
    let build = &identities(&crate::fixtures::example())[0];
    let pass = build
        .apply
        .statements
        .iter()
        .find(|s| s.actions == ["iam:PassRole"])
        .expect("a PassRole statement");
    assert_eq!(pass.resources, ["arn:aws:iam::111111111111:role/acme-*"]);
    assert_eq!(
        pass.condition.as_ref().unwrap()["StringEquals"]["iam:PassedToService"],
        json!(["codepipeline.amazonaws.com", "lambda.amazonaws.com"])
    );
}

#[test]
fn every_call_plinth_makes_is_allowed_to_some_identity_of_a_full_topology() {
    for stack_sets in [false, true] {
        let identities = identities(&with_unit(stack_sets));
        check_documents(&identities);
        let allowed: BTreeSet<&str> = documents(&identities)
            .flat_map(|(_, d)| &d.statements)
            .flat_map(|s| s.actions.iter().map(String::as_str))
            .collect();
        for call in CALLS {
            let stack_set = matches!(
                call.scope,
                Scope::StackSets | Scope::StackSetInstances | Scope::AnyStackSet
            );
            if (stack_set || call.scope == Scope::OwnObjects) && !stack_sets {
                continue;
            }
            for action in call.actions {
                assert!(
                    allowed.contains(action),
                    "{} ({action}) is allowed to no identity (stack_sets {stack_sets})",
                    call.operation
                );
            }
        }
    }
}

#[test]
fn a_unit_by_role_arn_gets_one_identity_for_every_account_and_stack_sets_need_none() {
    let by_role = identities(&with_unit(false));
    let unit = by_role.iter().find(|i| i.name == "unit workloads").unwrap();
    assert_eq!(unit.account, "*");
    assert!(unit.apply.allows("iam:CreateRole"));
    let build = &by_role[0];
    let assume = &build.plan.statements[0];
    assert_eq!(assume.sid, "AssumeRoles");
    assert_eq!(assume.resources, ["arn:aws:iam::*:role/deployer"]);
    let organization = by_role.last().unwrap();
    assert_eq!(organization.name, "organization");
    assert!(organization.plan.allows("organizations:ListChildren"));
    assert!(!organization.apply.allows("cloudformation:CreateStackSet"));

    let by_stack_set = identities(&with_unit(true));
    assert!(by_stack_set.iter().all(|i| i.name != "unit workloads"));
    let organization = by_stack_set.last().unwrap();
    assert!(organization.apply.allows("cloudformation:CreateStackSet"));
    assert!(
        organization
            .apply
            .allows("cloudformation:CreateStackInstances")
    );
    // Service-managed StackSets deploy with CloudFormation's own roles, not the caller's.
    assert!(!organization.apply.allows("iam:CreateRole"));
    let sets = organization
        .apply
        .statements
        .iter()
        .find(|s| s.sid == "ChangeStackSets")
        .unwrap();
    assert_eq!(
        sets.resources,
        ["arn:aws:cloudformation:*:999999999999:stackset/acme-deploy-*:*"]
    );
}

#[test]
fn every_exclusion_names_a_permission_some_handler_lists() {
    let types: BTreeSet<String> = [
        "AWS::S3::Bucket",
        "AWS::S3::BucketPolicy",
        "AWS::KMS::Key",
        "AWS::KMS::Alias",
        "AWS::IAM::Role",
        "AWS::Lambda::Function",
        "AWS::Lambda::Version",
        "AWS::Logs::LogGroup",
        "AWS::CodePipeline::Pipeline",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    let listed: BTreeSet<(String, String)> = types
        .iter()
        .flat_map(|t| {
            ["create", "update", "delete", "read"]
                .into_iter()
                .flat_map(move |h| {
                    crate::templates::schemas::handler_permissions(t, h)
                        .unwrap()
                        .into_iter()
                        .map(move |a| (t.clone(), a))
                })
        })
        .collect();
    for (from, _) in handlers::RENAMED {
        assert!(
            listed.iter().any(|(_, a)| a == from),
            "{from} is in no schema"
        );
    }
    for excluded in handlers::EXCLUDED {
        let matches = listed.iter().any(|(t, a)| {
            (excluded.resource_type == "*" || excluded.resource_type == t)
                && match excluded.action.strip_suffix('*') {
                    Some(prefix) => a.starts_with(prefix),
                    None => a == excluded.action,
                }
        });
        assert!(matches, "{excluded:?} matches no handler permission");
    }
}

#[test]
fn an_adoption_adds_the_original_stacks_and_what_they_delete() {
    let text = include_str!("../../topology.example.toml").replacen(
        "# Optional: the pipelines",
        "[adopt]\n# Optional: the pipelines",
        1,
    );
    let identities = identities(&parse(&text).unwrap().topology);
    check_documents(&identities);
    let build = &identities[0];
    let stacks = build
        .apply
        .statements
        .iter()
        .find(|s| s.sid == "ChangeStacks")
        .unwrap();
    assert!(
        stacks.resources.contains(
            &"arn:aws:cloudformation:*:111111111111:stack/CrossAccountPrimary/*".to_owned()
        ),
        "{:?}",
        stacks.resources
    );
    let aliases = build
        .apply
        .statements
        .iter()
        .find(|s| s.sid == "ChangeAliases")
        .unwrap();
    assert!(
        aliases
            .resources
            .iter()
            .any(|r| r.ends_with("alias/codepipeline-crossaccounts"))
    );
}

#[test]
fn a_refusal_in_awss_words_names_the_account_the_action_and_whether_the_printed_policy_allows_it() {
    let text = "acme-primary (111111111111 us-east-1) pass 1: ended in ROLLBACK_COMPLETE: Resource \
        handler returned message: \"User: arn:aws:sts::111111111111:assumed-role/plinth-operator/s \
        is not authorized to perform: s3:CreateBucket on resource: arn:aws:s3:::acme-x because no \
        identity-based policy allows the s3:CreateBucket action\"\n\
        User: arn:aws:iam::222222222222:user/ops is not authorized to perform: ec2:RunInstances";
    let found = denials(text);
    assert_eq!(
        found,
        [
            Denial {
                account: "111111111111".into(),
                action: "s3:CreateBucket".into(),
                printed: true
            },
            Denial {
                account: "222222222222".into(),
                action: "ec2:RunInstances".into(),
                printed: false
            },
        ]
    );
    assert!(
        found[0]
            .hint()
            .contains("the policy `plinth policy` prints for it allows it")
    );
    assert!(found[1].hint().contains("does not allow"));
    assert!(denials("Throttling: Rate exceeded").is_empty());
}

#[test]
fn own_objects_are_allowed_only_where_plinth_keeps_some() {
    let small = &identities(&crate::fixtures::example())[0];
    assert!(!small.plan.allows("s3:GetObject"));
    assert!(!small.apply.allows("s3:PutObject"));
    // Templates over the TemplateBody limit go by the build bucket, which CloudFormation reads
    // with the caller's credentials.
    let large = &identities(&crate::fixtures::grid(400, &["us-east-1", "us-west-2"]))[0];
    assert!(!large.plan.allows("s3:GetObject"));
    assert!(large.apply.allows("s3:GetObject"));
    assert!(large.apply.allows("s3:PutObject"));
    // The StackSets' record is read by plan.
    let organization = &identities(&with_unit(true))[0];
    assert!(organization.plan.allows("s3:GetObject"));
    assert!(organization.apply.allows("s3:PutObject"));
}

/// The `service:Action` names in backticks of a text.
fn actions_named(text: &str) -> Vec<&str> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter(|t| {
            t.split_once(':').is_some_and(|(s, a)| {
                !s.is_empty()
                    && s.chars().all(|c| c.is_ascii_lowercase() || c == '-')
                    && a.starts_with(|c: char| c.is_ascii_uppercase())
                    && a.chars().all(char::is_alphanumeric)
            })
        })
        .collect()
}

#[test]
fn the_foundation_docs_show_what_plinth_policy_prints_for_the_example() {
    let docs = include_str!("../../docs/foundation.md");
    let begin = "<!-- plinth policy -t topology.example.toml: begin -->\n```text\n";
    let end = "```\n<!-- plinth policy -t topology.example.toml: end -->";
    let shown = &docs[docs.find(begin).expect("the generated block") + begin.len()
        ..docs.find(end).expect("the generated block's end")];
    let topology = crate::fixtures::example();
    let printed = crate::output::policy::render(
        &crate::output::Style { color: false },
        "acme",
        &identities(&topology),
    );
    assert_eq!(
        shown, printed,
        "docs/foundation.md's generated block differs from `plinth policy -t topology.example.toml`: \
         run scripts/update-policy-docs"
    );
}

#[test]
fn every_action_the_docs_name_for_plinths_own_credentials_is_in_the_printed_policy() {
    let docs = include_str!("../../docs/foundation.md");
    let start = docs
        .find("Permissions the organization account's credentials need")
        .expect("the organization's permissions");
    let paragraph = &docs[start..start + docs[start..].find("\n\n").unwrap()];
    let named = actions_named(paragraph);
    assert!(named.len() >= 14, "{named:?}");
    let identities = identities(&with_unit(true));
    let organization = identities
        .iter()
        .find(|i| i.name == "organization")
        .unwrap();
    let build = &identities[0];
    for action in named {
        let allowed = [organization, build]
            .iter()
            .any(|i| i.plan.allows(action) || i.apply.allows(action));
        assert!(
            allowed,
            "docs/foundation.md names {action}, which plinth policy does not print"
        );
    }
}

#[test]
fn a_refusal_is_explained_by_the_statement_that_allows_it() {
    let identities = identities(&crate::fixtures::example());
    let denial = |account: &str, action: &str| Denial {
        account: account.into(),
        action: action.into(),
        printed: true,
    };
    assert!(
        explain(&identities, &denial("111111111111", "s3:CreateBucket"))
            .contains("(build, statement ChangeBuckets of the apply document)")
    );
    assert!(
        explain(&identities, &denial("333333333333", "iam:GetRole"))
            .contains("(target testing, statement ReadRoles of the plan document)")
    );
    // an action no statement of that account's identity holds: the general hint
    let other = explain(&identities, &denial("333333333333", "s3:CreateBucket"));
    assert!(!other.contains("statement"), "{other}");
}

#[test]
fn hundreds_of_targets_reached_by_role_arn_fit_the_managed_policy_limit() {
    let mut text = String::from(
        "name = \"acme\"\n\n[defaults]\nrole_arn = \"arn:aws:iam::{account}:role/plinth-operator\"\n\n\
         [build]\naccount = \"111111111111\"\nregion = \"us-east-1\"\nprofile = \"build\"\n",
    );
    for i in 0..300_u64 {
        text.push_str(&format!(
            "\n[[targets]]\nname = \"t{i}\"\naccount = \"{:012}\"\nregions = [\"us-east-1\", \"us-west-2\"]\n",
            200_000_000_000 + i
        ));
    }
    let many = identities(&parse(&text).unwrap().topology);
    assert_eq!(many.len(), 301);
    check_documents(&many);
    let assume = &many[0].plan.statements[0];
    assert_eq!(assume.sid, "AssumeRoles");
    assert_eq!(assume.resources, ["arn:aws:iam::*:role/plinth-operator"]);
    // a few are listed one by one
    let few = identities(&crate::fixtures::example());
    assert!(
        few[0]
            .plan
            .statements
            .iter()
            .all(|s| s.sid != "AssumeRoles")
    );
}
