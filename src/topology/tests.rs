//! One test per validation rule: each feeds a topology with one problem and checks the key,
//! the place and the message.

use super::diagnostic::line_column;
use super::*;

const VALID: &str = r#"
name = "acme"

[build]
account = "111111111111"
region = "us-east-1"
profile = "build"

[[targets]]
name = "development"
account = "222222222222"
regions = ["us-east-1", "us-west-2"]
profile = "dev"

[[targets]]
name = "production"
account = "333333333333"
regions = ["eu-west-1"]
role_arn = "arn:aws:iam::333333333333:role/deployer"
policies = ["arn:aws:iam::aws:policy/PowerUserAccess"]
approval = true

[[pipelines]]
name = "service"
targets = ["development", "production"]
sources = [{ name = "App", key = "service/app.zip" }]
stack = "service"
"#;

/// The errors of a text that must be invalid.
fn errors(text: &str) -> Vec<Diagnostic> {
    match parse(text) {
        Ok(_) => panic!("expected errors for:\n{text}"),
        Err(invalid) => invalid.errors,
    }
}

/// The single error of `VALID` with `from` replaced by `to`.
fn error_with(from: &str, to: &str) -> Diagnostic {
    assert!(VALID.contains(from), "{from}");
    let text = VALID.replacen(from, to, 1);
    let mut errors = errors(&text);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    let error = errors.remove(0);
    if let Some(span) = &error.span {
        assert!(span.end <= text.len());
    }
    error
}

fn position(text: &str, error: &Diagnostic) -> (usize, usize) {
    line_column(text, error.span.clone().expect("error has a place").start)
}

#[test]
fn the_valid_topology_parses_with_defaults() {
    let parsed = parse(VALID).unwrap();
    let t = parsed.topology;
    assert!(parsed.warnings.is_empty());
    assert_eq!(t.name.as_str(), "acme");
    assert_eq!(t.build.credentials, Credentials::Profile("build".into()));
    assert_eq!(t.build.noncurrent_version_expiration_days, 30);
    assert_eq!(
        t.targets[1].credentials,
        Credentials::AssumeRole("arn:aws:iam::333333333333:role/deployer".into())
    );
    assert!(!t.targets[0].approval && t.targets[1].approval);
    assert_eq!(t.pipelines[0].artifact_sync, ArtifactSync::Lambda);
    assert_eq!(t.pipelines[0].template, "template.yaml");
    assert_eq!(t.regions().len(), 3);
    assert_eq!(t.regional_regions().len(), 2);
}

#[test]
fn the_example_file_is_valid() {
    let parsed = parse(include_str!("../../topology.example.toml")).unwrap();
    assert_eq!(parsed.topology.targets.len(), 3);
    assert_eq!(parsed.topology.target_accounts().len(), 3);
    assert_eq!(parsed.topology.regions().len(), 3);
    assert_eq!(parsed.topology.pipelines.len(), 1);
}

#[test]
fn toml_syntax_errors_have_a_place() {
    let text = VALID.replacen("region = \"us-east-1\"", "region = \"us-east-1", 1);
    let errors = errors(&text);
    assert!(errors[0].message.starts_with("invalid TOML"), "{errors:?}");
    assert_eq!(position(&text, &errors[0]).0, 6);
}

#[test]
fn an_empty_file_is_an_error() {
    let errors = errors("  \n");
    assert_eq!(errors[0].message, "the topology file is empty");
}

#[test]
fn unknown_keys_suggest_the_closest() {
    let e = error_with("approval = true", "aproval = true");
    assert_eq!(e.key, "targets[1].aproval");
    assert_eq!(e.hint.as_deref(), Some("did you mean `approval`?"));
    let e = error_with("name = \"acme\"", "name = \"acme\"\nfoo = 1");
    assert_eq!(e.key, "foo");
    assert!(e.hint.unwrap().contains("name, build, targets, pipelines"));
}

#[test]
fn missing_required_keys_are_named() {
    let e = error_with("region = \"us-east-1\"\n", "");
    assert_eq!(e.key, "build.region");
    assert!(e.message.contains("missing"));
    let e = error_with("stack = \"service\"\n", "");
    assert_eq!(e.key, "pipelines[0].stack");
}

#[test]
fn an_account_given_as_a_number_says_why_it_must_be_a_string() {
    let text = VALID.replacen("account = \"222222222222\"", "account = 22222222222", 1);
    let errors = errors(&text);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].key, "targets[0].account");
    assert!(errors[0].message.contains("leading zeros"));
    assert_eq!(
        errors[0]
            .hint
            .as_deref()
            .map(|h| h.contains("\"022222222222\"")),
        Some(true)
    );
    assert_eq!(position(&text, &errors[0]), (11, 11));
}

#[test]
fn wrong_types_are_reported() {
    let e = error_with("approval = true", "approval = \"yes\"");
    assert_eq!(e.message, "expected `true` or `false`, found a string");
    let e = error_with("regions = [\"eu-west-1\"]", "regions = \"eu-west-1\"");
    assert_eq!(e.message, "expected an array of strings, found a string");
}

#[test]
fn account_ids_have_twelve_digits() {
    let e = error_with("\"222222222222\"", "\"2222\"");
    assert_eq!(e.key, "targets[0].account");
    assert!(e.message.contains("12 digits"));
}

#[test]
fn region_names_have_aws_form() {
    let e = error_with("\"eu-west-1\"]", "\"eu-west\"]");
    assert_eq!(e.key, "targets[1].regions[0]");
}

#[test]
fn names_use_allowed_characters_and_lengths() {
    assert_eq!(error_with("name = \"acme\"", "name = \"Acme\"").key, "name");
    assert_eq!(
        error_with(
            "name = \"acme\"",
            "name = \"a-very-long-foundation-name-of-forty\""
        )
        .key,
        "name"
    );
    let text = VALID.replacen("name = \"development\"", "name = \"dev_env\"", 1);
    assert!(
        errors(&text)
            .iter()
            .any(|e| e.key == "targets[0].name" && e.message.contains("`_`"))
    );
    assert_eq!(
        error_with("name = \"service\"", "name = \"Service\"").key,
        "pipelines[0].name"
    );
}

#[test]
fn profile_and_role_arn_are_exclusive() {
    let e = error_with(
        "profile = \"dev\"",
        "profile = \"dev\"\nrole_arn = \"arn:aws:iam::222222222222:role/x\"",
    );
    assert!(e.message.contains("both"));
}

#[test]
fn role_arns_are_iam_roles_of_the_declared_account() {
    let e = error_with(":333333333333:role/deployer", ":444444444444:role/deployer");
    assert!(e.message.contains("account 444444444444") && e.message.contains("333333333333"));
    let e = error_with(
        "arn:aws:iam::333333333333:role/deployer",
        "arn:aws:iam::333333333333:user/deployer",
    );
    assert!(e.message.contains("not an IAM role ARN"));
}

#[test]
fn a_role_arn_with_too_few_parts_is_an_error_not_a_panic() {
    // Found by the fuzz test below: a four-part ARN made the parser index past its parts.
    let e = error_with("arn:aws:iam::333333333333:role/deployer", "arn:aws:iam:");
    assert!(e.message.contains("not an IAM role ARN"), "{}", e.message);
}

#[test]
fn there_is_at_least_one_target() {
    let text = "name = \"acme\"\ntargets = []\n[build]\naccount = \"111111111111\"\nregion = \"us-east-1\"\n";
    let errors = errors(text);
    assert_eq!(errors[0].key, "targets");
    assert!(errors[0].message.contains("at least one target"));
    let errors = self::errors(
        "name = \"acme\"\n[build]\naccount = \"111111111111\"\nregion = \"us-east-1\"\n",
    );
    assert_eq!(errors[0].key, "targets");
}

#[test]
fn target_names_are_unique() {
    let text = VALID.replacen("name = \"production\"", "name = \"development\"", 1);
    let errors = errors(&text);
    assert!(
        errors
            .iter()
            .any(|e| e.key == "targets[1].name" && e.message.contains("declared twice")),
        "{errors:#?}"
    );
}

#[test]
fn target_regions_are_non_empty_and_unique() {
    assert!(
        error_with("regions = [\"eu-west-1\"]", "regions = []")
            .message
            .contains("at least one region")
    );
    assert!(
        error_with(
            "regions = [\"eu-west-1\"]",
            "regions = [\"eu-west-1\", \"eu-west-1\"]"
        )
        .message
        .contains("twice")
    );
}

#[test]
fn one_account_is_reached_with_one_set_of_credentials() {
    let e = error_with(
        "account = \"333333333333\"\nregions = [\"eu-west-1\"]\nrole_arn = \"arn:aws:iam::333333333333:role/deployer\"",
        "account = \"222222222222\"\nregions = [\"eu-west-1\"]\nprofile = \"other\"",
    );
    assert!(
        e.message
            .contains("account 222222222222 is reached with profile `other`"),
        "{}",
        e.message
    );
    // the same credentials twice is fine
    let text = VALID.replacen(
        "account = \"333333333333\"\nregions = [\"eu-west-1\"]\nrole_arn = \"arn:aws:iam::333333333333:role/deployer\"",
        "account = \"222222222222\"\nregions = [\"eu-west-1\"]\nprofile = \"dev\"",
        1,
    );
    assert_eq!(parse(&text).unwrap().topology.target_accounts().len(), 1);
}

#[test]
fn policies_are_iam_policy_arns_and_administrator_access_warns() {
    let e = error_with("policy/PowerUserAccess\"", "policy\"");
    assert_eq!(e.key, "targets[1].policies[0]");
    let text = VALID.replacen("policy/PowerUserAccess", "policy/AdministratorAccess", 1);
    let parsed = parse(&text).unwrap();
    assert_eq!(parsed.warnings.len(), 1);
    assert!(parsed.warnings[0].message.contains("AdministratorAccess"));
}

#[test]
fn derived_names_fit_aws_limits() {
    // 26 characters is a valid name, but its artifact bucket in ap-southeast-2 would be too long.
    let text = VALID
        .replacen(
            "name = \"acme\"",
            "name = \"abcdefghijklmnopqrstuvwxyz\"",
            1,
        )
        .replacen("\"eu-west-1\"]", "\"ap-southeast-2\"]", 1);
    let errors = errors(&text);
    assert!(
        errors
            .iter()
            .any(|e| e.message.contains("bucket name") && e.message.contains("AWS allows 63")),
        "{errors:#?}"
    );
}

#[test]
fn pipelines_name_known_targets_with_a_suggestion() {
    let e = error_with(
        "targets = [\"development\", \"production\"]",
        "targets = [\"developement\", \"production\"]",
    );
    assert_eq!(e.key, "pipelines[0].targets[0]");
    assert_eq!(e.hint.as_deref(), Some("did you mean `development`?"));
}

#[test]
fn pipelines_have_at_least_one_source_and_unique_names() {
    assert!(
        error_with(
            "sources = [{ name = \"App\", key = \"service/app.zip\" }]",
            "sources = []"
        )
        .message
        .contains("at least one source")
    );
    let text = format!(
        "{VALID}\n[[pipelines]]\nname = \"service\"\ntargets = [\"production\"]\nsources = [{{ name = \"A\", key = \"k\" }}]\nstack = \"s\"\n"
    );
    let errors = errors(&text);
    assert!(
        errors
            .iter()
            .any(|e| e.message.contains("pipeline `service` is declared twice")),
        "{errors:#?}"
    );
}

#[test]
fn pipelines_fit_codepipeline_limits() {
    use std::fmt::Write as _;
    let mut text = String::from(
        "name = \"acme\"\n[build]\naccount = \"111111111111\"\nregion = \"us-east-1\"\n",
    );
    for i in 0..50 {
        let _ = write!(
            text,
            "[[targets]]\nname = \"t{i}\"\naccount = \"222222222222\"\nregions = [\"us-east-1\"]\n"
        );
    }
    let names: Vec<String> = (0..50).map(|i| format!("\"t{i}\"")).collect();
    let _ = write!(
        text,
        "[[pipelines]]\nname = \"p\"\ntargets = [{}]\nsources = [{{ name = \"A\", key = \"k\" }}]\nstack = \"s\"\n",
        names.join(", ")
    );
    let errors = errors(&text);
    assert!(
        errors
            .iter()
            .any(|e| e.message == "the pipeline would have 51 stages; CodePipeline allows 50"),
        "{errors:#?}"
    );
}

#[test]
fn artifact_sync_is_lambda_or_native() {
    let e = error_with(
        "stack = \"service\"",
        "stack = \"service\"\nartifact_sync = \"rsync\"",
    );
    assert!(e.hint.unwrap().contains("\"lambda\""));
}

#[test]
fn every_problem_is_reported_not_only_the_first() {
    let text = VALID
        .replacen("account = \"111111111111\"", "account = 111111111111", 1)
        .replacen("\"eu-west-1\"]", "\"europe\"]", 1)
        .replacen("approval = true", "aproval = true", 1);
    assert_eq!(errors(&text).len(), 3);
}

#[test]
fn malformed_text_is_refused_with_located_errors_and_never_panics() {
    for text in [
        "[[targets]]\n",
        "name = 1\n[build]\n",
        "targets = 1",
        "[build]\naccount = []",
        "pipelines = [1]\n",
        "\u{0}",
        "name = \"acme\"\n[[pipelines]]\nsources = [1]",
    ] {
        let Err(invalid) = parse(text) else {
            panic!("{text:?} was accepted");
        };
        assert!(!invalid.errors.is_empty(), "{text:?}: no error reported");
        for error in &invalid.errors {
            assert!(
                !error.message.is_empty(),
                "{text:?}: an error without a message"
            );
            if let Some(span) = &error.span {
                assert!(
                    span.end <= text.len(),
                    "{text:?}: {span:?} points past the text"
                );
            }
        }
    }
}

mod fuzz {
    use proptest::prelude::*;

    use super::{VALID, parse};

    proptest! {
        // A fixed seed: the same cases on every run and machine.
        #![proptest_config(ProptestConfig {
            rng_seed: proptest::test_runner::RngSeed::Fixed(0x5eed),
            ..ProptestConfig::default()
        })]
        /// Arbitrary text, and the valid file with a span replaced by arbitrary text, never make
        /// the parser panic; every error it reports points inside the text.
        #[test]
        fn parsing_never_panics(text in "\\PC{0,200}", at in 0usize..VALID.len(), cut in 0usize..20, insert in "[ -~\\n]{0,12}") {
            let _ = parse(&text);
            let start = (0..=at).rev().find(|i| VALID.is_char_boundary(*i)).unwrap_or(0);
            let end = (start + cut).min(VALID.len());
            let end = (end..=VALID.len()).find(|i| VALID.is_char_boundary(*i)).unwrap_or(VALID.len());
            let mutated = format!("{}{}{}", &VALID[..start], insert, &VALID[end..]);
            if let Err(invalid) = parse(&mutated) {
                for error in invalid.errors {
                    if let Some(span) = error.span {
                        prop_assert!(span.end <= mutated.len());
                    }
                }
            }
        }
    }
}

#[test]
fn a_default_role_reaches_every_target_without_its_own_credentials() {
    let text = VALID
        .replacen(
            "name = \"acme\"\n",
            "name = \"acme\"\n\n[defaults]\nrole_arn = \"arn:aws:iam::{account}:role/OrganizationAccountAccessRole\"\n",
            1,
        )
        .replacen("profile = \"dev\"\n", "", 1);
    let topology = parse(&text).unwrap().topology;
    assert_eq!(
        topology.targets[0].credentials,
        Credentials::AssumeRole(
            "arn:aws:iam::222222222222:role/OrganizationAccountAccessRole".into()
        )
    );
    // a target's own role_arn (or profile) wins
    assert_eq!(
        topology.targets[1].credentials,
        Credentials::AssumeRole("arn:aws:iam::333333333333:role/deployer".into())
    );
    assert_eq!(
        topology.build.credentials,
        Credentials::Profile("build".into())
    );
}

#[test]
fn a_default_role_must_name_the_account_by_placeholder() {
    let text = VALID.replacen(
        "name = \"acme\"\n",
        "name = \"acme\"\n[defaults]\nrole_arn = \"arn:aws:iam::222222222222:role/Deployer\"\n",
        1,
    );
    let found = errors(&text);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].key, "defaults.role_arn");
    assert!(
        found[0].message.contains("has no `{account}`"),
        "{}",
        found[0].message
    );
    assert!(
        found[0]
            .hint
            .as_deref()
            .unwrap()
            .contains("arn:aws:iam::{account}:role/")
    );
    let text = VALID.replacen(
        "name = \"acme\"\n",
        "name = \"acme\"\n[defaults]\nrole_arn = \"{account}\"\n",
        1,
    );
    assert!(errors(&text)[0].message.contains("is not an IAM role ARN"));
}

#[test]
fn an_organization_id_is_checked() {
    let with = |id: &str| {
        VALID.replacen(
            "name = \"acme\"\n",
            &format!("name = \"acme\"\norganization_id = \"{id}\"\n"),
            1,
        )
    };
    let topology = parse(&with("o-a1b2c3d4e5")).unwrap().topology;
    assert_eq!(
        topology
            .organization_id
            .as_ref()
            .map(OrganizationId::as_str),
        Some("o-a1b2c3d4e5")
    );
    let found = errors(&with("a1b2c3d4e5"));
    assert_eq!(found[0].key, "organization_id");
    assert!(found[0].message.contains("is not an AWS Organizations id"));
}

#[test]
fn a_pipeline_stack_named_like_a_foundation_stack_is_refused() {
    for name in [
        "acme-deploy",
        "acme-primary",
        "acme-regional",
        "acme-pipeline-other",
    ] {
        let e = error_with("stack = \"service\"", &format!("stack = \"{name}\""));
        assert_eq!(e.key, "pipelines[0].stack");
        assert!(
            e.message.contains("one of this foundation's own stacks"),
            "{}",
            e.message
        );
        assert!(e.hint.is_some());
    }
    // another foundation's names, or names that only start alike, are the user's own
    for name in ["acme-deployer", "other-deploy", "acme"] {
        let text = VALID.replacen("stack = \"service\"", &format!("stack = \"{name}\""), 1);
        assert!(parse(&text).is_ok(), "{name}");
    }
}

#[test]
fn a_source_key_with_a_wildcard_or_variable_is_refused() {
    for key in [
        "*",
        "service/*.zip",
        "service/app?.zip",
        "${aws:username}/app.zip",
    ] {
        let e = error_with("key = \"service/app.zip\"", &format!("key = \"{key}\""));
        assert_eq!(e.key, "pipelines[0].sources[0].key");
        assert!(
            e.message.contains("IAM reads as a wildcard or a variable"),
            "{}",
            e.message
        );
    }
}

#[test]
fn managed_policies_that_change_iam_principals_are_warned_about() {
    let text = VALID.replacen("policy/PowerUserAccess", "policy/IAMFullAccess", 1);
    let parsed = parse(&text).unwrap();
    assert_eq!(parsed.warnings.len(), 1);
    assert!(
        parsed.warnings[0]
            .message
            .starts_with("IAMFullAccess lets the applications")
    );
    assert!(parse(VALID).unwrap().warnings.is_empty());
}

#[test]
fn artifact_retention_is_read_and_checked_like_the_build_buckets() {
    let t = parse(VALID).unwrap().topology;
    assert_eq!(t.build.artifact_noncurrent_version_expiration_days, 30);
    let text = VALID.replacen(
        "profile = \"build\"",
        "profile = \"build\"\nartifact_noncurrent_version_expiration_days = 90",
        1,
    );
    let t = parse(&text).unwrap().topology;
    assert_eq!(t.build.artifact_noncurrent_version_expiration_days, 90);
    assert_eq!(t.build.noncurrent_version_expiration_days, 30);
    for (value, message) in [
        ("0", "from 1 to 3650"),
        ("3651", "from 1 to 3650"),
        ("\"30\"", "a whole number of days"),
    ] {
        let e = error_with(
            "profile = \"build\"",
            &format!("profile = \"build\"\nartifact_noncurrent_version_expiration_days = {value}"),
        );
        assert_eq!(e.key, "build.artifact_noncurrent_version_expiration_days");
        assert!(e.message.contains(message), "{value}: {}", e.message);
        assert!(e.span.is_some());
    }
}

#[test]
fn a_permissions_boundary_is_a_policy_arn_shared_by_the_targets_of_an_account() {
    let with = |text: &str| {
        VALID.replacen(
            "profile = \"dev\"",
            &format!("profile = \"dev\"\npermissions_boundary = {text}"),
            1,
        )
    };
    let boundary = "arn:aws:iam::222222222222:policy/deploy-boundary";
    let t = parse(&with(&format!("\"{boundary}\""))).unwrap().topology;
    assert_eq!(t.targets[0].permissions_boundary.as_deref(), Some(boundary));
    assert_eq!(t.account_boundary(&t.targets[0].account), Some(boundary));
    assert_eq!(t.targets[1].permissions_boundary, None);

    let e = error_with(
        "profile = \"dev\"",
        "profile = \"dev\"\npermissions_boundary = \"deploy-boundary\"",
    );
    assert_eq!(e.key, "targets[0].permissions_boundary");
    assert!(e.hint.unwrap().contains("managed policy ARN"));
    let e = error_with(
        "profile = \"dev\"",
        "profile = \"dev\"\npermissions_boundary = true",
    );
    assert_eq!(e.key, "targets[0].permissions_boundary");

    // a second target in the same account must name the same boundary
    let text = with(&format!("\"{boundary}\""))
        .replacen(
            "account = \"333333333333\"",
            "account = \"222222222222\"",
            1,
        )
        .replacen(
            "role_arn = \"arn:aws:iam::333333333333:role/deployer\"",
            "profile = \"dev\"",
            1,
        );
    let errors = errors(&text);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].key, "targets[1].permissions_boundary");
    assert!(errors[0].message.contains("222222222222"));
}

#[test]
fn a_boundary_answers_the_warning_about_policies_that_change_iam() {
    let text = VALID.replacen(
        "policies = [\"arn:aws:iam::aws:policy/PowerUserAccess\"]",
        "policies = [\"arn:aws:iam::aws:policy/IAMFullAccess\"]",
        1,
    );
    let warnings = parse(&text).unwrap().warnings;
    assert_eq!(warnings.len(), 1);
    assert!(
        warnings[0]
            .hint
            .as_ref()
            .unwrap()
            .contains("permissions_boundary")
    );
    let bounded = text.replacen(
        "approval = true",
        "approval = true\npermissions_boundary = \"arn:aws:iam::333333333333:policy/boundary\"",
        1,
    );
    assert!(parse(&bounded).unwrap().warnings.is_empty());
}

/// The topology file as JSON, as a TOML language server sees it.
fn as_json(text: &str) -> serde_json::Value {
    serde_json::to_value(toml::from_str::<toml::Value>(text).unwrap()).unwrap()
}

#[test]
fn the_json_schema_accepts_what_the_parser_accepts_and_refuses_bad_shapes() {
    let validator = jsonschema::draft4::new(&schema()).unwrap();
    let valid = [
        include_str!("../../topology.example.toml").to_owned(),
        VALID.to_owned(),
        VALID.replacen(
            "profile = \"dev\"",
            "profile = \"dev\"\npermissions_boundary = \"arn:aws:iam::222222222222:policy/b\"",
            1,
        ),
        VALID.replacen(
            "profile = \"build\"",
            "profile = \"build\"\nnoncurrent_version_expiration_days = 7\nartifact_noncurrent_version_expiration_days = 90",
            1,
        ),
        VALID.replacen(
            "name = \"acme\"",
            "name = \"acme\"\norganization_id = \"o-a1b2c3d4e5\"\n[defaults]\nrole_arn = \"arn:aws:iam::{account}:role/r\"",
            1,
        ),
        VALID.replacen(
            "stack = \"service\"",
            "stack = \"service\"\nartifact_sync = \"native\"\ntemplate = \"t.yaml\"",
            1,
        ),
    ];
    for text in &valid {
        assert!(parse(text).is_ok(), "the parser refuses:\n{text}");
        let errors: Vec<String> = validator
            .iter_errors(&as_json(text))
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{errors:?}\n{text}");
    }
    let invalid = [
        // unknown keys, at every level
        ("name = \"acme\"", "name = \"acme\"\nnmae = \"x\""),
        (
            "region = \"us-east-1\"",
            "region = \"us-east-1\"\nregoin = \"x\"",
        ),
        ("profile = \"dev\"", "profile = \"dev\"\naproval = true"),
        ("stack = \"service\"", "stack = \"service\"\nstak = \"x\""),
        (
            "key = \"service/app.zip\" }",
            "key = \"service/app.zip\", kye = \"x\" }",
        ),
        // wrong types
        ("account = \"111111111111\"", "account = 111111111111"),
        ("regions = [\"eu-west-1\"]", "regions = \"eu-west-1\""),
        ("approval = true", "approval = \"yes\""),
        (
            "profile = \"build\"",
            "profile = \"build\"\nnoncurrent_version_expiration_days = \"30\"",
        ),
        (
            "stack = \"service\"",
            "stack = \"service\"\nartifact_sync = \"rsync\"",
        ),
        // missing keys
        ("name = \"acme\"\n", "\n"),
        ("region = \"us-east-1\"\n", "\n"),
        ("regions = [\"eu-west-1\"]\n", "\n"),
        ("stack = \"service\"\n", "\n"),
        ("key = \"service/app.zip\" }", "}"),
    ];
    for (from, to) in invalid {
        assert!(VALID.contains(from), "{from}");
        let text = VALID.replacen(from, to, 1);
        assert!(parse(&text).is_err(), "the parser accepts:\n{text}");
        assert!(
            !validator.is_valid(&as_json(&text)),
            "the schema accepts {to:?}:\n{text}"
        );
    }
}

#[test]
fn the_schema_and_the_parser_know_the_same_keys() {
    use super::validate::fields;
    let schema = schema();
    let properties = |value: &serde_json::Value| -> Vec<String> {
        let mut keys: Vec<String> = value["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        keys.sort();
        keys
    };
    let sorted = |fields: &[fields::Field]| {
        let mut keys: Vec<String> = fields::keys(fields)
            .iter()
            .map(|k| (*k).to_owned())
            .collect();
        keys.sort();
        keys
    };
    assert_eq!(properties(&schema), sorted(fields::TOP));
    assert_eq!(
        properties(&schema["properties"]["build"]),
        sorted(fields::BUILD)
    );
    assert_eq!(
        properties(&schema["properties"]["targets"]["items"]),
        sorted(fields::TARGET)
    );
    assert_eq!(
        properties(&schema["properties"]["pipelines"]["items"]["properties"]["sources"]["items"]),
        sorted(fields::SOURCE)
    );
    assert_eq!(schema["additionalProperties"], false);
}

mod units;
