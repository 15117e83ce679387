//! What apply and destroy share: showing the plan, asking, running the executor with Ctrl-C
//! handling, and the closing summary.

use std::io::IsTerminal;
use std::sync::Arc;

use plinth::apply::{Cancel, Reporter};
use plinth::aws::Cloud;
use plinth::ops;
use plinth::output::views::RunSummary;
use plinth::output::{self, HumanView, JsonView, ProgressView};
use plinth::plan::{Mode, Plan};

use super::{Failure, exit};

#[derive(Debug, clap::Args)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "each bool is an independent command-line flag"
)]
pub(crate) struct RunArgs {
    /// Do not ask for confirmation
    #[arg(long, short = 'y')]
    pub(crate) yes: bool,
    /// Allow a plan that destroys a KMS key, a bucket and its objects, or a deploy role
    /// (needed with --yes; without it, apply asks separately)
    #[arg(long)]
    pub(crate) allow_destructive: bool,
    /// Emit the plan and every event as JSON lines on stdout
    #[arg(long)]
    pub(crate) json: bool,
    /// Show the unified diff of every template too, not only the resources that change
    #[arg(long)]
    pub(crate) diff: bool,
    /// How many stacks change at once in one account and region (CloudFormation's API limits
    /// are per account and region)
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub(crate) per_region: u16,
    /// How many stacks change at once in all (a guard; the per-region bound is the usual one)
    #[arg(long, value_name = "N", default_value_t = 1024, value_parser = clap::value_parser!(u16).range(1..=8192))]
    pub(crate) parallelism: u16,
    /// How long to wait for a stack that CloudFormation is changing (another run, or one that
    /// was interrupted) before giving up on it
    #[arg(long, value_name = "MINUTES", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) wait_timeout: u64,
    /// How long to keep trying a change that AWS refuses because a policy names a principal
    /// it cannot see yet (IAM is eventually consistent: a new role takes seconds, sometimes a
    /// minute, to become valid in bucket, key and trust policies)
    #[arg(long, value_name = "SECONDS", default_value_t = 120, value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub(crate) propagation_timeout: u64,
    /// Start every event line with its time (UTC), as plain lines instead of the live view; on
    /// by default when the `CI` environment variable is set (`--timestamps=false` turns it off)
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub(crate) timestamps: Option<bool>,
}

impl RunArgs {
    /// Whether event lines carry their time: as asked, else in CI.
    fn timestamps(&self) -> bool {
        self.timestamps.unwrap_or_else(|| {
            std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false" && v != "0")
        })
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Message(pub String);

/// Shows the plan. Returns false when there is nothing to do.
pub(crate) fn show(args: &RunArgs, plan: &Plan) -> bool {
    if args.json {
        output::data(&serde_json::json!({ "event": "plan", "plan": plan }).to_string());
    } else {
        let detail = output::plan::Detail {
            template_diff: args.diff,
        };
        output::say(&output::plan::render(&super::common::style(), plan, detail));
    }
    plinth::apply::has_work(plan)
}

/// Refuses a plan with findings; asks for confirmation unless `--yes`.
pub(crate) fn confirm(args: &RunArgs, plan: &Plan) -> Result<(), Failure> {
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
    let verb = verb(plan.mode);
    let terminal = std::io::stdin().is_terminal();
    match decide(plan, args.yes, args.allow_destructive, terminal) {
        Decision::Proceed => Ok(()),
        Decision::RefuseDestructive => Err(Failure::Error {
            error: Box::new(Message(format!(
                "refusing to {verb}: the plan destroys data (listed above), and --yes alone does not allow that; nothing was changed"
            ))),
            hint: Some(format!(
                "review what it destroys and run `plinth {verb} --yes --allow-destructive` to proceed"
            )),
            code: exit::FAILURE,
        }),
        Decision::RefuseWithoutTerminal => Err(Failure::Error {
            error: Box::new(Message(format!(
                "refusing to {verb} without confirmation: standard input is not a terminal"
            ))),
            hint: Some(format!(
                "review the plan above and run `plinth {verb} --yes` to proceed"
            )),
            code: exit::BAD_INPUT,
        }),
        Decision::Ask { destruction } => {
            let agreed = output::ask(&format!(
                "Do you want to {verb} these changes? Only 'yes' is accepted: "
            ))
            .as_deref()
                == Some("yes");
            let allowed = !destruction
                || !agreed
                || output::ask(
                    "This plan also destroys the keys, buckets or roles listed at its top. Only 'destroy' allows it: ",
                )
                .as_deref()
                    == Some("destroy");
            if agreed && allowed {
                Ok(())
            } else {
                Err(Failure::Error {
                    error: Box::new(Message(format!("{verb} cancelled; nothing was changed"))),
                    hint: None,
                    code: exit::FAILURE,
                })
            }
        }
    }
}

/// What confirming a plan takes.
#[derive(Debug, PartialEq, Eq)]
enum Decision {
    Proceed,
    /// `--yes` without `--allow-destructive` on a plan that destroys data.
    RefuseDestructive,
    /// No `--yes`, and no terminal to ask on.
    RefuseWithoutTerminal,
    /// Ask; and for an apply that destroys data, ask about that separately.
    Ask {
        destruction: bool,
    },
}

fn decide(plan: &Plan, yes: bool, allow_destructive: bool, terminal: bool) -> Decision {
    if yes {
        return if plan.destructive && !allow_destructive {
            Decision::RefuseDestructive
        } else {
            Decision::Proceed
        };
    }
    if !terminal {
        return Decision::RefuseWithoutTerminal;
    }
    // A destroy's one question is about destruction already.
    Decision::Ask {
        destruction: plan.destructive && plan.mode == Mode::Apply && !allow_destructive,
    }
}

fn verb(mode: Mode) -> &'static str {
    match mode {
        Mode::Apply => "apply",
        Mode::Destroy => "destroy",
    }
}

/// The view of the executor's events: JSON lines, a live view on a terminal, plain lines
/// otherwise (and with timestamps). Colour decides nothing here: `NO_COLOR` keeps the live view, without colour.
fn reporter(args: &RunArgs) -> Arc<dyn Reporter> {
    let style = super::common::style();
    let timestamps = args.timestamps();
    if args.json {
        Arc::new(JsonView)
    } else if std::io::stderr().is_terminal() && !timestamps {
        Arc::new(ProgressView::new(style))
    } else {
        Arc::new(HumanView { style, timestamps })
    }
}

/// Ctrl-C, listened for from the moment it is installed.
struct Interrupts {
    #[cfg(unix)]
    signal: tokio::signal::unix::Signal,
}

impl Interrupts {
    #[cfg(unix)]
    fn install() -> std::io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            signal: signal(SignalKind::interrupt())?,
        })
    }

    #[cfg(not(unix))]
    fn install() -> std::io::Result<Self> {
        Ok(Self {})
    }

    /// Waits for the next Ctrl-C; false when no more can come.
    async fn next(&mut self) -> bool {
        #[cfg(unix)]
        {
            self.signal.recv().await.is_some()
        }
        #[cfg(not(unix))]
        {
            tokio::signal::ctrl_c().await.is_ok()
        }
    }
}

/// Runs the plan; the first Ctrl-C stops new work, the second leaves at once.
pub(crate) async fn execute(
    args: &RunArgs,
    plan: &Plan,
    cloud: Arc<dyn Cloud>,
    topology: &plinth::topology::Topology,
) -> Result<u8, Failure> {
    let cancel = Arc::new(Cancel::default());
    // The handler is installed here, before any change starts: a Ctrl-C that came before a
    // spawned task first polled `ctrl_c()` would otherwise end plinth at once.
    let mut interrupts = Interrupts::install().map_err(Failure::operating)?;
    let signals = {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            if interrupts.next().await {
                cancel.cancel();
                if interrupts.next().await {
                    output::say(
                        "interrupted again: leaving now; stacks in flight go on in CloudFormation, and the next apply or destroy picks them up",
                    );
                    std::process::exit(130);
                }
            }
        })
    };
    let executed = ops::execute(
        plan,
        cloud,
        reporter(args),
        ops::Bounds {
            parallelism: usize::from(args.parallelism),
            per_region: usize::from(args.per_region),
            wait_timeout: std::time::Duration::from_secs(args.wait_timeout * 60),
            propagation_timeout: std::time::Duration::from_secs(args.propagation_timeout),
        },
        cancel,
    )
    .await;
    signals.abort();
    let summary = RunSummary::of(plan, &executed);
    if args.json {
        output::data(&summary.json());
    }
    if summary.succeeded_all {
        output::say(&summary.success(&super::common::style()));
        return Ok(exit::SUCCESS);
    }
    let failure = summary.failure();
    let mut hint = String::new();
    let denials = plinth::policy::denials(&failure);
    let identities = if denials.is_empty() {
        Vec::new()
    } else {
        plinth::policy::identities(topology)
    };
    for denial in denials {
        hint.push_str(&plinth::policy::explain(&identities, &denial));
        hint.push('\n');
    }
    hint.push_str(&format!(
        "what succeeded stays; fix the cause and run `plinth {}` again: it picks up from what is deployed",
        summary.verb
    ));
    Err(Failure::Error {
        error: Box::new(Message(failure)),
        hint: Some(hint),
        code: exit::FAILURE,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(mode: Mode, destructive: bool) -> Plan {
        let mut plan = plinth::plan::plan(
            &plinth::topology::parse(include_str!("../../topology.example.toml"))
                .expect("the example is valid")
                .topology,
            &plinth::plan::Deployed::default(),
        );
        plan.mode = mode;
        plan.destructive = destructive;
        plan
    }

    #[test]
    fn yes_alone_does_not_allow_destruction() {
        let destructive = plan(Mode::Apply, true);
        assert_eq!(
            decide(&destructive, true, false, true),
            Decision::RefuseDestructive
        );
        assert_eq!(
            decide(&destructive, true, false, false),
            Decision::RefuseDestructive
        );
        assert_eq!(decide(&destructive, true, true, false), Decision::Proceed);
        assert_eq!(
            decide(&plan(Mode::Apply, false), true, false, false),
            Decision::Proceed
        );
        let destroy = plan(Mode::Destroy, true);
        assert_eq!(
            decide(&destroy, true, false, true),
            Decision::RefuseDestructive
        );
        assert_eq!(decide(&destroy, true, true, false), Decision::Proceed);
    }

    #[test]
    fn on_a_terminal_an_apply_that_destroys_asks_about_it_separately() {
        assert_eq!(
            decide(&plan(Mode::Apply, true), false, false, true),
            Decision::Ask { destruction: true }
        );
        assert_eq!(
            decide(&plan(Mode::Apply, true), false, true, true),
            Decision::Ask { destruction: false }
        );
        assert_eq!(
            decide(&plan(Mode::Apply, false), false, false, true),
            Decision::Ask { destruction: false }
        );
        // destroy keeps its one question
        assert_eq!(
            decide(&plan(Mode::Destroy, true), false, false, true),
            Decision::Ask { destruction: false }
        );
        assert_eq!(
            decide(&plan(Mode::Apply, true), false, false, false),
            Decision::RefuseWithoutTerminal
        );
    }
}
