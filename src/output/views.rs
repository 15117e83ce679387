//! The views of the commands other than the plan and the executor's events: the topology's
//! diagnostics, validate's summary, how much reading AWS took, and the closing summary of apply
//! and destroy. Each returns text (or JSON) for the command to write; none writes itself.

use std::fmt::Write as _;

use serde_json::json;

use super::Style;
use crate::apply::ChangeResult;
use crate::graph::StackGraph;
use crate::layout;
use crate::ops::{Executed, ReadStats};
use crate::plan::{Action, Mode, Plan};
use crate::topology::{Diagnostic, Rendered, Topology};

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Diagnostics of one severity (`error` or `warning`), each with the lines it points at.
pub fn diagnostics(
    style: &Style,
    severity: &str,
    file: &str,
    source: &str,
    diagnostics: &[Diagnostic],
) -> String {
    let mut out = String::new();
    for diagnostic in diagnostics {
        let text = Rendered {
            severity,
            file,
            source,
            diagnostic,
        }
        .to_string();
        let painted = match severity {
            "error" => text.replacen("error:", &style.red(&style.bold("error:")), 1),
            _ => text.replacen("warning:", &style.yellow(&style.bold("warning:")), 1),
        };
        let _ = writeln!(out, "{}\n", painted.trim_end());
    }
    out
}

/// What `plinth validate` says of a topology whose templates would pass AWS's limits.
pub fn limit_errors(style: &Style, findings: &[crate::plan::Finding]) -> String {
    let mut out = String::new();
    for finding in findings {
        let _ = writeln!(out, "{} {finding}", style.red(&style.bold("error:")));
    }
    let _ = write!(
        out,
        "{} the topology is valid, but {} of its documents would pass AWS's limits; nothing was sent to AWS",
        style.red(&style.bold("error:")),
        findings.len()
    );
    out
}

/// What `plinth validate` says of a valid topology.
pub fn validated(style: &Style, file: &str, topology: &Topology, graph: &StackGraph) -> String {
    let stacks = layout::stacks(topology);
    let accounts = topology.target_accounts().len();
    let regions = topology.regions().len();
    let mut out = format!(
        "{} {file} is valid: foundation `{}`, build account {} in {}, {} target{} in {accounts} account{} and {regions} region{}, {} pipeline{}\n",
        style.green("ok:"),
        topology.name,
        topology.build.account,
        topology.build.region,
        topology.targets.len(),
        plural(topology.targets.len()),
        plural(accounts),
        plural(regions),
        topology.pipelines.len(),
        plural(topology.pipelines.len()),
    );
    for unit in &topology.units {
        if topology.stack_sets() {
            let _ = writeln!(
                out,
                "target `{}` names organizational unit {}: its accounts get their deploy roles from StackSet {}, whose auto-deployment reaches every account of the unit",
                unit.name,
                unit.unit,
                layout::StackKey::StackSet {
                    target: unit.name.clone()
                }
                .stack_name(&topology.name)
            );
        } else {
            let _ = writeln!(
                out,
                "target `{}` names organizational unit {}: its accounts are read from AWS Organizations when plinth plans, so the stacks below leave them out",
                unit.name, unit.unit
            );
        }
    }
    let _ = write!(
        out,
        "a fresh apply builds {} stacks in {} waves:",
        stacks.len(),
        graph.waves().len()
    );
    for stack in &stacks {
        let _ = write!(
            out,
            "\n  {:<32} {} {}",
            stack.name, stack.account, stack.region
        );
    }
    out
}

/// The line that says how much reading AWS took.
pub fn read_stats(style: &Style, stats: &ReadStats) -> String {
    style.dim(&format!(
        "read {} stack{} in {} account{} and {} region{} with {} API calls in {:.1}s",
        stats.stacks,
        plural(stats.stacks),
        stats.accounts,
        plural(stats.accounts),
        stats.regions,
        plural(stats.regions),
        stats.calls,
        stats.seconds
    ))
}

/// How a run ended, counted.
pub struct RunSummary {
    /// `apply` or `destroy`.
    pub verb: &'static str,
    /// Changes that did something (stacks that needed nothing are not counted).
    pub(crate) succeeded: usize,
    /// Each failed change, in a line.
    pub(crate) failed: Vec<String>,
    /// Destroy's removal of buckets outside any stack, or apply's record of the StackSets'
    /// accounts, when it failed.
    pub(crate) orphan_error: Option<String>,
    /// Changes not started because one they wait for did not succeed.
    pub(crate) skipped: usize,
    /// Changes not started because the run was interrupted.
    pub(crate) not_started: usize,
    /// Whether Ctrl-C stopped the run.
    pub(crate) interrupted: bool,
    /// Whether everything succeeded.
    pub succeeded_all: bool,
}

impl RunSummary {
    /// The counts of a run of a plan.
    pub fn of(plan: &Plan, executed: &Executed) -> Self {
        let outcome = &executed.outcome;
        let succeeded = outcome
            .results
            .iter()
            .zip(&plan.changes)
            .filter(|(r, c)| {
                **r == ChangeResult::Succeeded
                    && (c.action != Action::NoChange || !c.drift.is_empty())
            })
            .count();
        let failed: Vec<String> = outcome
            .results
            .iter()
            .filter_map(|r| match r {
                ChangeResult::Failed(e) => Some(e.to_string()),
                _ => None,
            })
            .collect();
        Self {
            verb: match plan.mode {
                Mode::Apply => "apply",
                Mode::Destroy => "destroy",
            },
            succeeded,
            failed,
            orphan_error: executed
                .orphan_error
                .as_ref()
                .map(ToString::to_string)
                .or_else(|| {
                    executed
                        .record_error
                        .as_ref()
                        .map(|e| format!("recording which accounts the StackSets serve: {e}"))
                })
                .or_else(|| {
                    executed
                        .adoption_error
                        .as_ref()
                        .map(|e| format!("adopting the original foundation: {e}"))
                }),
            skipped: outcome.count(|r| matches!(r, ChangeResult::Skipped(_))),
            not_started: outcome.count(|r| *r == ChangeResult::NotStarted),
            interrupted: outcome.interrupted,
            succeeded_all: executed.succeeded(),
        }
    }

    /// The JSON line of `--json` runs.
    pub fn json(&self) -> String {
        json!({
            "event": "summary",
            "succeeded": self.succeeded,
            "failed": self.failed,
            "skipped": self.skipped,
            "not_started": self.not_started,
            "interrupted": self.interrupted,
        })
        .to_string()
    }

    /// The closing line of a run that succeeded.
    pub fn success(&self, style: &Style) -> String {
        let mut verb = self.verb.to_owned();
        verb[..1].make_ascii_uppercase();
        style.bold(&format!(
            "{verb} complete: {} changes succeeded.",
            self.succeeded
        ))
    }

    /// What went wrong in a run that did not succeed.
    pub fn failure(&self) -> String {
        let mut text = format!(
            "{} {}: {} succeeded, {} failed, {} skipped, {} not started",
            self.verb,
            if self.interrupted {
                "interrupted"
            } else {
                "failed"
            },
            self.succeeded,
            self.failed.len(),
            self.skipped,
            self.not_started
        );
        for error in self.failed.iter().chain(&self.orphan_error) {
            let _ = write!(text, "\n  failed: {error}");
        }
        text
    }
}
