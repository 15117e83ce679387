//! `plinth plan`: read every account and region and show what apply would change.

use std::path::PathBuf;

use clap::Args;
use plinth::{ops, output};

use super::{Failure, TopologyArg, common, exit};

#[derive(Debug, Args)]
pub(crate) struct PlanArgs {
    #[command(flatten)]
    pub(crate) topology: TopologyArg,
    #[command(flatten)]
    pub(crate) read: common::ReadArgs,
    /// How to draw the plan: `human` (on stderr), `json` (on stdout; schema: docs/plan-json.md)
    /// or `markdown` (GitHub-flavoured, for a pull-request comment, on stdout)
    #[arg(long, value_enum, default_value_t = common::Format::Human, conflicts_with = "json")]
    pub(crate) format: common::Format,
    /// The same as `--format json`
    #[arg(long)]
    pub(crate) json: bool,
    /// Show the unified diff of every template too, not only the resources that change
    #[arg(long)]
    pub(crate) diff: bool,
    /// Save the plan to FILE, for `plinth apply FILE`
    #[arg(long, value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,
    /// Exit 0 when there is nothing to change, 2 when there are changes (drift included), 1 on any
    /// error, bad input included
    #[arg(long)]
    pub(crate) detailed_exitcode: bool,
}

pub(crate) fn run(args: PlanArgs) -> Result<u8, Failure> {
    let detailed = args.detailed_exitcode;
    match plan(args) {
        // 2 means "there are changes" here: every error exits 1, bad input included.
        Err(failure) if detailed => Err(failure.with_code(exit::FAILURE)),
        other => other,
    }
}

fn plan(args: PlanArgs) -> Result<u8, Failure> {
    let loaded = common::load_topology(&args.topology.topology)?;
    let runtime = common::runtime()?;
    let planned = runtime.block_on(common::read_and_plan(
        &loaded.topology,
        &args.read,
        plinth::plan::Mode::Apply,
    ))?;
    let plan = planned.plan;
    let format = if args.json {
        common::Format::Json
    } else {
        args.format
    };
    common::draw_plan(&plan, format, args.diff);
    if let Some(path) = &args.out {
        ops::save_plan(path, &plan)?;
        output::say(&format!(
            "saved the plan to {}; apply it with `plinth apply {}`",
            path.display(),
            path.display()
        ));
    }
    if !plan.findings.is_empty() {
        return Ok(exit::FAILURE);
    }
    Ok(if args.detailed_exitcode && plan.summary.has_changes() {
        exit::CHANGES
    } else {
        exit::SUCCESS
    })
}
