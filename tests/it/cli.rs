//! The command line without AWS: help, validation errors as a person sees them, graph and render.

use std::process::Command;

fn plinth(args: &[&str], dir: &std::path::Path) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_plinth"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("AWS_PROFILE")
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

const EXAMPLE: &str = include_str!("../../topology.example.toml");

#[test]
fn help_lists_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, _) = plinth(&["--help"], dir.path());
    assert_eq!(code, 0);
    for command in [
        "validate", "graph", "render", "plan", "show", "apply", "destroy",
    ] {
        assert!(stdout.contains(command), "{command}: {stdout}");
    }
}

#[test]
fn validation_errors_show_every_problem_with_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let broken = EXAMPLE
        .replacen("account = \"222222222222\"", "account = 22222222222", 1)
        .replacen("regions = [\"us-west-2\"]", "regions = [\"us-west\"]", 1)
        .replacen("approval = true", "aproval = true", 1)
        .replacen(
            "targets = [\"development\", \"testing\", \"production\"]",
            "targets = [\"development\", \"testin\", \"production\"]",
            1,
        );
    fs_err::write(dir.path().join("topology.toml"), broken).unwrap();
    let (code, stdout, stderr) = plinth(&["validate"], dir.path());
    assert_eq!(code, 2);
    assert!(stdout.is_empty());
    insta::assert_snapshot!(stderr);
}

#[test]
fn validate_of_a_unit_target_stays_offline_and_says_its_accounts_are_read_when_planning() {
    let dir = tempfile::tempdir().unwrap();
    let text = EXAMPLE.replacen(
        "# Optional: the pipelines",
        "[organization]\naccount = \"999999999999\"\nprofile = \"management\"\n\n\
         [[targets]]\nname = \"workloads\"\norganizational_unit = \"ou-ab12-cd34ef56\"\n\
         regions = [\"us-east-1\"]\nrole_arn = \"arn:aws:iam::{account}:role/deployer\"\n\n\
         # Optional: the pipelines",
        1,
    );
    fs_err::write(dir.path().join("topology.toml"), text).unwrap();
    // No AWS configuration at all: validate must not need it.
    let (code, _, stderr) = plinth(&["validate"], dir.path());
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("target `workloads` names organizational unit ou-ab12-cd34ef56: its accounts are read from AWS Organizations when plinth plans"),
        "{stderr}"
    );
}

#[test]
fn administrator_access_is_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let text = EXAMPLE.replacen("policy/PowerUserAccess", "policy/AdministratorAccess", 1);
    fs_err::write(dir.path().join("topology.toml"), text).unwrap();
    let (code, _, stderr) = plinth(&["validate"], dir.path());
    assert_eq!(code, 0);
    assert!(
        stderr.starts_with("warning: targets[0].policies[0]: AdministratorAccess gives"),
        "{stderr}"
    );
}

#[test]
fn empty_missing_and_non_utf8_files_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, stderr) = plinth(&["validate"], dir.path());
    assert_eq!(code, 2);
    assert!(
        stderr.contains("error: cannot read the topology file topology.toml"),
        "{stderr}"
    );
    assert!(
        stderr.contains("hint: pass the file with `-t FILE`"),
        "{stderr}"
    );

    fs_err::write(dir.path().join("empty.toml"), "\n").unwrap();
    let (code, _, stderr) = plinth(&["plan", "-t", "empty.toml"], dir.path());
    assert_eq!(code, 2);
    assert!(
        stderr.contains("error: the topology file is empty"),
        "{stderr}"
    );

    fs_err::write(dir.path().join("latin1.toml"), b"name = \"caf\xe9\"\n").unwrap();
    let (code, _, stderr) = plinth(&["apply", "-t", "latin1.toml", "--yes"], dir.path());
    assert_eq!(code, 2);
    assert!(
        stderr.contains("is not UTF-8 text (invalid byte at offset 11)"),
        "{stderr}"
    );
}

#[test]
fn graph_draws_waves_as_text_dot_mermaid_and_json() {
    let dir = tempfile::tempdir().unwrap();
    fs_err::write(dir.path().join("topology.toml"), EXAMPLE).unwrap();
    let (code, text, _) = plinth(&["graph"], dir.path());
    assert_eq!(code, 0);
    insta::assert_snapshot!(text);
    let (_, dot, _) = plinth(&["graph", "--format", "dot"], dir.path());
    assert!(dot.starts_with("digraph plinth {"));
    let (_, mermaid, _) = plinth(&["graph", "--format", "mermaid"], dir.path());
    assert!(mermaid.starts_with("flowchart TD"));
    let (_, json, _) = plinth(&["graph", "--json"], dir.path());
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["waves"].as_array().unwrap().len(), 4);
}

#[test]
fn render_writes_every_template_and_a_manifest() {
    let dir = tempfile::tempdir().unwrap();
    fs_err::write(dir.path().join("topology.toml"), EXAMPLE).unwrap();
    let (code, _, stderr) = plinth(&["render", "--out", "out"], dir.path());
    assert_eq!(code, 0, "{stderr}");
    let manifest: serde_json::Value = serde_json::from_str(
        &fs_err::read_to_string(dir.path().join("out/manifest.json")).unwrap(),
    )
    .unwrap();
    let templates = manifest["templates"].as_array().unwrap();
    assert_eq!(templates.len(), 10);
    for entry in templates {
        let file = dir.path().join("out").join(entry["file"].as_str().unwrap());
        let body: serde_json::Value =
            serde_json::from_str(&fs_err::read_to_string(file).unwrap()).unwrap();
        assert!(body["Resources"].is_object());
        assert_eq!(entry["tags"]["plinth:foundation"], "acme");
    }
    let deploy = templates
        .iter()
        .find(|t| t["stack"] == "acme-deploy")
        .unwrap();
    assert_eq!(
        deploy["placeholders"].as_array().unwrap().len(),
        3,
        "one key ARN per region"
    );
}

#[test]
fn with_detailed_exitcode_every_error_exits_1_and_2_means_changes() {
    let dir = tempfile::tempdir().unwrap();
    fs_err::write(
        dir.path().join("topology.toml"),
        EXAMPLE.replacen("account = \"222222222222\"", "account = 22222222222", 1),
    )
    .unwrap();
    // bad input: 2 as for every command, 1 when 2 would read as "changes"
    let (code, _, stderr) = plinth(&["plan"], dir.path());
    assert_eq!(code, 2, "{stderr}");
    let (code, _, stderr) = plinth(&["plan", "--detailed-exitcode"], dir.path());
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("account"), "{stderr}");
    // a missing file and a usage error alike
    let (code, _, _) = plinth(
        &["plan", "--detailed-exitcode", "-t", "missing.toml"],
        dir.path(),
    );
    assert_eq!(code, 1);
    let (code, _, stderr) = plinth(
        &["plan", "--detailed-exitcode", "--no-such-flag"],
        dir.path(),
    );
    assert_eq!(code, 1, "{stderr}");
    let (code, _, _) = plinth(&["plan", "--no-such-flag"], dir.path());
    assert_eq!(code, 2);
}

#[test]
fn the_schema_and_completions_are_printed_for_editors_and_shells() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, _) = plinth(&["schema"], dir.path());
    assert_eq!(code, 0);
    let schema: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(schema["$schema"], "http://json-schema.org/draft-04/schema#");
    assert_eq!(
        schema["required"],
        serde_json::json!(["name", "build", "targets"])
    );
    for shell in ["bash", "zsh", "fish"] {
        let (code, stdout, stderr) = plinth(&["completions", shell], dir.path());
        assert_eq!(code, 0, "{stderr}");
        for word in ["plinth", "apply", "allow-destructive", "no-drift"] {
            assert!(stdout.contains(word), "{shell}: {word}");
        }
    }
    let (code, _, _) = plinth(&["completions", "powershell"], dir.path());
    assert_eq!(code, 2);
}

#[test]
fn help_shows_every_option_with_its_default() {
    let dir = tempfile::tempdir().unwrap();
    let (_, stdout, _) = plinth(&["apply", "--help"], dir.path());
    // help wraps its lines to the terminal: read it as one line
    let stdout = stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    for text in [
        "[default: topology.toml]",
        "[default: 16]",
        "[default: 8]",
        "[default: 1024]",
        "[default: 60]",
        "--allow-destructive",
        "--no-drift",
        "--diff",
    ] {
        assert!(stdout.contains(text), "{text}:\n{stdout}");
    }
}

#[test]
fn every_plinth_command_of_the_ci_examples_is_one_plinth_takes() {
    let dir = tempfile::tempdir().unwrap();
    let mut seen = 0;
    for example in [
        include_str!("../../examples/ci/github-actions.yml"),
        include_str!("../../examples/ci/buildspec.yml"),
    ] {
        for line in example.lines() {
            let line = line
                .trim()
                .trim_start_matches("- ")
                .trim_start_matches("run: ");
            let Some(command) = line.strip_prefix("plinth ") else {
                continue;
            };
            let args: Vec<String> = command
                .split('>')
                .next()
                .unwrap()
                .split_whitespace()
                .map(|a| a.trim_matches('"').replace("$plan", "plan.json"))
                .collect();
            // Parsed up to `--help`: a flag plinth does not know fails before it.
            let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
            args.push("--help");
            let (code, _, stderr) = plinth(&args, dir.path());
            assert_eq!(code, 0, "plinth {command}: {stderr}");
            seen += 1;
        }
    }
    assert!(seen >= 8, "found {seen} plinth commands");
}
