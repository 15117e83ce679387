//! `plinth validate`: check the topology and say what a fresh apply would build. Never touches AWS.

use std::collections::BTreeSet;

use clap::Args;
use plinth::graph::StackGraph;
use plinth::output;

use super::{Failure, TopologyArg, common, exit};

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub topology: TopologyArg,
}

pub fn run(args: ValidateArgs) -> Result<u8, Failure> {
    let topology = common::load_topology(&args.topology.topology)?;
    let style = common::style();
    let graph = StackGraph::build(&topology, &BTreeSet::new());
    let stacks = plinth::graph::stacks(&topology);
    output::say(&format!(
        "{} {} is valid: foundation `{}`, build account {} in {}, {} target{} in {} account{} and {} region{}, {} pipeline{}",
        style.green("ok:"),
        args.topology.topology.display(),
        topology.name,
        topology.build.account,
        topology.build.region,
        topology.targets.len(),
        plural(topology.targets.len()),
        topology.target_accounts().len(),
        plural(topology.target_accounts().len()),
        topology.regions().len(),
        plural(topology.regions().len()),
        topology.pipelines.len(),
        plural(topology.pipelines.len()),
    ));
    output::say(&format!(
        "a fresh apply builds {} stacks in {} waves:",
        stacks.len(),
        graph.waves().len()
    ));
    for stack in &stacks {
        output::say(&format!(
            "  {:<32} {} {}",
            stack.name, stack.account, stack.region
        ));
    }
    Ok(exit::SUCCESS)
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
