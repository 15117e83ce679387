//! `plinth destroy`: a plan of deletes for everything the foundation has, shown, asked, carried out.

use clap::Args;
use plinth::output;
use plinth::plan::Mode;

use super::run::{self, RunArgs};
use super::{Failure, TopologyArg, common, exit};

#[derive(Debug, Args)]
pub(crate) struct DestroyArgs {
    #[command(flatten)]
    pub(crate) topology: TopologyArg,
    #[command(flatten)]
    pub(crate) read: common::ReadArgs,
    #[command(flatten)]
    pub(crate) run: RunArgs,
}

pub(crate) fn run(args: DestroyArgs) -> Result<u8, Failure> {
    let loaded = common::load_topology(&args.topology.topology)?;
    let runtime = common::runtime()?;
    runtime.block_on(async {
        let planned = common::read_and_plan(&loaded.topology, &args.read, Mode::Destroy).await?;
        if !run::show(&args.run, &planned.plan) {
            output::say("Nothing to destroy.");
            return Ok(exit::SUCCESS);
        }
        run::confirm(&args.run, &planned.plan)?;
        run::execute(&args.run, &planned.plan, planned.cloud, &loaded.topology).await
    })
}
