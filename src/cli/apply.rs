use clap::Args;

use super::{Failure, TopologyArg, exit};

#[derive(Debug, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub topology: TopologyArg,
}

pub fn run(_args: ApplyArgs) -> Result<u8, Failure> {
    plinth::output::say("error: `plinth apply` is not built yet");
    Ok(exit::FAILURE)
}
