use clap::Args;

use super::{Failure, TopologyArg, exit};

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub topology: TopologyArg,
}

pub fn run(_args: PlanArgs) -> Result<u8, Failure> {
    plinth::output::say("error: `plinth plan` is not built yet");
    Ok(exit::FAILURE)
}
