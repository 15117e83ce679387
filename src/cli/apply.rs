//! `plinth apply [PLAN]`: plan (or check a saved plan against what is deployed), show, ask, converge.

use std::path::PathBuf;

use clap::Args;
use plinth::ops;
use plinth::output;
use plinth::plan::Mode;

use super::run::{self, RunArgs};
use super::{Failure, TopologyArg, common, exit};

#[derive(Debug, Args)]
pub(crate) struct ApplyArgs {
    #[command(flatten)]
    pub(crate) topology: TopologyArg,
    #[command(flatten)]
    pub(crate) read: common::ReadArgs,
    #[command(flatten)]
    pub(crate) run: RunArgs,
    /// A plan saved with `plinth plan --out FILE`: apply exactly that plan
    #[arg(value_name = "PLAN")]
    pub(crate) plan: Option<PathBuf>,
}

pub(crate) fn run(args: ApplyArgs) -> Result<u8, Failure> {
    let loaded = common::load_topology(&args.topology.topology)?;
    let saved = args.plan.as_deref().map(ops::load_plan).transpose()?;
    let runtime = common::runtime()?;
    runtime.block_on(async {
        let planned = common::read_and_plan(&loaded.topology, &args.read, Mode::Apply).await?;
        let plan = match saved {
            None => planned.plan,
            Some(saved) => ops::accept_saved(saved, &loaded.topology, &planned.deployed)?,
        };
        if !run::show(&args.run, &plan) {
            // Accounts joined or left a unit served by a StackSet: nothing to deploy, but the
            // record of who was served moves on, so that the next plan says it no more.
            if let Err(error) = ops::write_record(&plan, planned.cloud.as_ref()).await {
                output::say(&format!(
                    "warning: could not record which accounts the StackSets serve: {error}"
                ));
            }
            output::say("Nothing to do: the foundation matches the topology.");
            return Ok(exit::SUCCESS);
        }
        run::confirm(&args.run, &plan)?;
        run::execute(&args.run, &plan, planned.cloud, &loaded.topology).await
    })
}
