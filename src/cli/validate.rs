//! `plinth validate`: check the topology and say what a fresh apply would build. Never touches AWS.

use clap::Args;
use plinth::{ops, output};

use super::{Failure, TopologyArg, common, exit};

#[derive(Debug, Args)]
pub(crate) struct ValidateArgs {
    #[command(flatten)]
    pub(crate) topology: TopologyArg,
}

pub(crate) fn run(args: ValidateArgs) -> Result<u8, Failure> {
    let loaded = common::load_topology(&args.topology.topology)?;
    let over = ops::limit_findings(&loaded.topology);
    if !over.is_empty() {
        output::say(&output::views::limit_errors(&common::style(), &over));
        return Err(Failure::Reported(exit::BAD_INPUT));
    }
    let graph = ops::fresh_graph(&loaded.topology);
    output::say(&output::views::validated(
        &common::style(),
        &args.topology.topology.display().to_string(),
        &loaded.topology,
        &graph,
    ));
    Ok(exit::SUCCESS)
}
