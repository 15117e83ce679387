//! What apply and destroy share: showing the plan, asking, running the executor with Ctrl-C
//! handling, and the closing summary.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;

use plinth::apply::{Backoff, Cancel, ChangeResult, Executor, Outcome, Reporter};
use plinth::aws::Cloud;
use plinth::graph::StackKey;
use plinth::output::{self, HumanView, JsonView, ProgressView, Style};
use plinth::plan::{Mode, Plan};

use super::{Failure, exit};

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Do not ask for confirmation
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Emit the plan and every event as JSON lines on stdout
    #[arg(long)]
    pub json: bool,
    /// How many stacks change at once
    #[arg(long, value_name = "N", default_value_t = 32, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallelism: u16,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Message(pub String);

/// Shows the plan. Returns false when there is nothing to do.
pub fn show(style: &Style, args: &RunArgs, plan: &Plan) -> bool {
    if args.json {
        output::data(&serde_json::json!({ "event": "plan", "plan": plan }).to_string());
    } else {
        output::say(&output::plan::render(style, plan));
    }
    plinth::apply::has_work(plan)
}

/// Refuses a plan with findings; asks for confirmation unless `--yes`.
pub fn confirm(args: &RunArgs, plan: &Plan) -> Result<(), Failure> {
    if !plan.findings.is_empty() {
        return Err(Failure::Error {
            error: Box::new(Message(format!(
                "the plan has {} problem{} that would make it fail halfway; nothing was changed",
                plan.findings.len(),
                if plan.findings.len() == 1 { "" } else { "s" }
            ))),
            hint: Some("resolve the errors above and run it again".into()),
            code: exit::FAILURE,
        });
    }
    if args.yes {
        return Ok(());
    }
    let verb = match plan.mode {
        Mode::Apply => "apply",
        Mode::Destroy => "destroy",
    };
    if !std::io::stdin().is_terminal() {
        return Err(Failure::Error {
            error: Box::new(Message(format!(
                "refusing to {verb} without confirmation: standard input is not a terminal"
            ))),
            hint: Some(format!(
                "review the plan above and run `plinth {verb} --yes` to proceed"
            )),
            code: exit::BAD_INPUT,
        });
    }
    eprint!("Do you want to {verb} these changes? Only 'yes' is accepted: ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    if answer.trim() == "yes" {
        Ok(())
    } else {
        Err(Failure::Error {
            error: Box::new(Message(format!("{verb} cancelled; nothing was changed"))),
            hint: None,
            code: exit::FAILURE,
        })
    }
}

fn reporter(style: Style, args: &RunArgs) -> Arc<dyn Reporter> {
    if args.json {
        Arc::new(JsonView)
    } else if style.color && std::io::stderr().is_terminal() {
        Arc::new(ProgressView::new(style))
    } else {
        Arc::new(HumanView { style })
    }
}

/// Runs the plan; the first Ctrl-C stops new work, the second leaves at once.
pub async fn execute(
    style: Style,
    args: &RunArgs,
    plan: &Plan,
    cloud: Arc<dyn Cloud>,
    outputs: BTreeMap<StackKey, BTreeMap<String, String>>,
) -> Result<u8, Failure> {
    let cancel = Arc::new(Cancel::default());
    let signals = {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                cancel.cancel();
                if tokio::signal::ctrl_c().await.is_ok() {
                    output::say(
                        "interrupted again: leaving now; stacks in flight go on in CloudFormation, and the next apply or destroy picks them up",
                    );
                    std::process::exit(130);
                }
            }
        })
    };
    let executor = Executor {
        cloud,
        reporter: reporter(style, args),
        parallelism: usize::from(args.parallelism),
        backoff: Backoff::default(),
        cancel: cancel.clone(),
    };
    let outcome = executor.execute(plan, outputs).await;
    let mut orphan_error = None;
    if plan.mode == Mode::Destroy && outcome.succeeded() {
        orphan_error = executor
            .remove_orphan_buckets(&plan.orphan_buckets)
            .await
            .err();
    }
    signals.abort();
    summarise(&style, args, plan, &outcome, orphan_error.as_deref())
}

fn summarise(
    style: &Style,
    args: &RunArgs,
    plan: &Plan,
    outcome: &Outcome,
    orphan_error: Option<&str>,
) -> Result<u8, Failure> {
    // Stacks that needed nothing are not counted as changes.
    let succeeded = outcome
        .results
        .iter()
        .zip(&plan.changes)
        .filter(|(r, c)| {
            **r == ChangeResult::Succeeded && c.action != plinth::plan::Action::NoChange
        })
        .count();
    let failed: Vec<&str> = outcome
        .results
        .iter()
        .filter_map(|r| {
            if let ChangeResult::Failed(e) = r {
                Some(e.as_str())
            } else {
                None
            }
        })
        .collect();
    let skipped = outcome.count(|r| matches!(r, ChangeResult::Skipped(_)));
    let not_started = outcome.count(|r| *r == ChangeResult::NotStarted);
    let verb = match plan.mode {
        Mode::Apply => "apply",
        Mode::Destroy => "destroy",
    };
    if args.json {
        output::data(
            &serde_json::json!({
                "event": "summary",
                "succeeded": succeeded,
                "failed": failed,
                "skipped": skipped,
                "not_started": not_started,
                "interrupted": outcome.interrupted,
            })
            .to_string(),
        );
    }
    if outcome.succeeded() && orphan_error.is_none() {
        output::say(&style.bold(&format!(
            "{} complete: {succeeded} changes succeeded.",
            capitalise(verb)
        )));
        return Ok(exit::SUCCESS);
    }
    let mut text = format!(
        "{verb} {}: {succeeded} succeeded, {} failed, {skipped} skipped, {not_started} not started",
        if outcome.interrupted {
            "interrupted"
        } else {
            "failed"
        },
        failed.len()
    );
    for error in &failed {
        text.push_str(&format!("\n  failed: {error}"));
    }
    if let Some(error) = orphan_error {
        text.push_str(&format!("\n  failed: {error}"));
    }
    Err(Failure::Error {
        error: Box::new(Message(text)),
        hint: Some(format!(
            "what succeeded stays; fix the cause and run `plinth {verb}` again: it picks up from what is deployed"
        )),
        code: exit::FAILURE,
    })
}

fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().collect::<String>() + chars.as_str())
        .unwrap_or_default()
}
