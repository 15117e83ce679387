//! plinth against an emulator in asynchronous mode, where stacks stay in progress as they do in
//! AWS, and in fault mode, where requests are throttled or fail: runs that are killed,
//! interrupted or run at the same time as another must converge when run again.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};

use crate::apply::{TARGETS, all_stacks, assert_converged, assert_nothing_left};
use crate::common::{Emulator, path_str, standard};

/// Stacks stay in progress for two seconds, three when they hold a KMS key: long enough for a
/// run started right after another is killed to see them in progress.
const ASYNC: &[&str] = &["--stack-seconds", "2", "--key-stack-seconds", "3"];
const REGIONS: &[&str] = &["us-east-1", "us-west-2", "eu-west-1"];

/// Starts plinth with `args` and reads its stderr until a line satisfies `until`; returns the
/// child (still running) and what it printed so far.
fn run_until(
    emulator: &Emulator,
    args: &[&str],
    until: impl Fn(&str) -> bool,
) -> (Child, Vec<String>) {
    let mut child = emulator
        .command(args)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut seen = Vec::new();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let done = until(&line);
        seen.push(line);
        if done {
            // keep draining, so that the child never blocks on a full pipe
            std::thread::spawn(move || for _ in lines {});
            return (child, seen);
        }
    }
    let status = child.wait().unwrap();
    panic!("plinth ended ({status}) before the awaited line: {seen:#?}");
}

fn kill(mut child: Child) {
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    assert_eq!(status.code(), None, "killed, not ended by itself");
}

/// No stack of the foundation is failed or rolled back.
async fn assert_no_damaged_stack(emulator: &Emulator) {
    for account in std::iter::once(&crate::common::BUILD).chain(TARGETS) {
        for region in REGIONS {
            let cfn = aws_sdk_cloudformation::Client::new(&emulator.sdk(account, region).await);
            for stack in cfn.describe_stacks().send().await.unwrap().stacks() {
                let status = stack.stack_status().unwrap().as_str();
                assert!(
                    !status.contains("FAILED") && !status.contains("ROLLBACK"),
                    "{account} {region} {}: {status}",
                    stack.stack_name().unwrap()
                );
            }
        }
    }
}

/// A deploy stack's create was accepted: CloudFormation reports it in progress.
fn mid_wave_two(line: &str) -> bool {
    line.contains("acme-deploy") && line.contains(": CREATE_IN_PROGRESS")
}

#[tokio::test(flavor = "multi_thread")]
async fn an_apply_killed_while_stacks_are_in_progress_is_converged_by_the_next_at_once() {
    let emulator = Emulator::start_with(ASYNC);
    let file = emulator.write("topology.toml", &standard());
    let (child, _) = run_until(
        &emulator,
        &["apply", "-t", path_str(&file), "--yes"],
        mid_wave_two,
    );
    kill(child);
    // at once: the stacks the killed run started are still in progress (without the drift
    // reads, which would give them time to finish before the next apply looks)
    let plan = emulator.plinth(&["plan", "-t", path_str(&file), "--no-drift"]);
    plan.expect(0);
    plan.assert_stderr("* wait    acme-deploy");
    plan.assert_stderr("CloudFormation is changing the stack (CREATE_IN_PROGRESS)");
    let run = emulator.plinth(&["apply", "-t", path_str(&file), "--yes", "--no-drift"]);
    run.expect(0);
    run.assert_stderr("CREATE_COMPLETE");
    assert_converged(&emulator, &TARGETS[..3], REGIONS).await;
    assert_no_damaged_stack(&emulator).await;
    emulator
        .plinth(&["plan", "-t", path_str(&file), "--detailed-exitcode"])
        .expect(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_destroy_right_after_a_killed_apply_leaves_nothing() {
    let emulator = Emulator::start_with(ASYNC);
    let file = emulator.write("topology.toml", &standard());
    let (child, _) = run_until(
        &emulator,
        &["apply", "-t", path_str(&file), "--yes"],
        mid_wave_two,
    );
    kill(child);
    let run = emulator.plinth(&[
        "destroy",
        "-t",
        path_str(&file),
        "--yes",
        "--allow-destructive",
    ]);
    run.expect(0);
    assert_nothing_left(&emulator).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn two_applies_at_once_damage_nothing_and_a_third_converges() {
    let emulator = Emulator::start_with(ASYNC);
    let file = emulator.write("topology.toml", &standard());
    let args = ["apply", "-t", path_str(&file), "--yes"];
    let first = emulator
        .command(&args)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let second = emulator
        .command(&args)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let outputs = [
        first.wait_with_output().unwrap(),
        second.wait_with_output().unwrap(),
    ];
    for output in &outputs {
        assert!(
            output.status.success(),
            "both runs converge alongside each other: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    assert_no_damaged_stack(&emulator).await;
    emulator
        .plinth(&["apply", "-t", path_str(&file), "--yes"])
        .expect(0);
    assert_converged(&emulator, &TARGETS[..3], REGIONS).await;
    emulator
        .plinth(&["plan", "-t", path_str(&file), "--detailed-exitcode"])
        .expect(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_ctrl_c_leaves_at_once() {
    let emulator = Emulator::start_with(ASYNC);
    let file = emulator.write("topology.toml", &standard());
    let (child, _) = run_until(&emulator, &["apply", "-t", path_str(&file), "--yes"], |l| {
        l.contains(": CREATE_IN_PROGRESS")
    });
    let pid = child.id().to_string();
    for _ in 0..2 {
        let sent = std::process::Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap();
        assert!(sent.success());
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130));
    // what was in flight goes on in CloudFormation; the next apply picks it up
    emulator
        .plinth(&["apply", "-t", path_str(&file), "--yes"])
        .expect(0);
    assert_converged(&emulator, &TARGETS[..3], REGIONS).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_plan_and_destroy_hold_under_throttling_and_server_errors() {
    let emulator = Emulator::start_with(&[
        "--throttle-share",
        "0.1",
        "--error-share",
        "0.05",
        "--seed",
        "3",
    ]);
    let file = emulator.write("topology.toml", &standard());
    emulator
        .plinth(&["apply", "-t", path_str(&file), "--yes"])
        .expect(0);
    emulator
        .plinth(&["plan", "-t", path_str(&file), "--detailed-exitcode"])
        .expect(0);
    emulator
        .plinth(&[
            "destroy",
            "-t",
            path_str(&file),
            "--yes",
            "--allow-destructive",
        ])
        .expect(0);
    let stacks = all_stacks(&emulator).await;
    assert!(stacks.is_empty(), "{stacks:?}");
}
