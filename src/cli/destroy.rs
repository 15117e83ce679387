use clap::Args;

use super::{Failure, TopologyArg, exit};

#[derive(Debug, Args)]
pub struct DestroyArgs {
    #[command(flatten)]
    pub topology: TopologyArg,
}

pub fn run(_args: DestroyArgs) -> Result<u8, Failure> {
    plinth::output::say("error: `plinth destroy` is not built yet");
    Ok(exit::FAILURE)
}
