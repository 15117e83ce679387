//! `plinth graph`: the stack graph of a fresh apply, as text waves, DOT, Mermaid or JSON.

use std::collections::BTreeSet;

use clap::Args;
use plinth::graph::StackGraph;
use plinth::output;

use super::{Failure, GraphFormat, TopologyArg, common, exit};

#[derive(Debug, Args)]
pub struct GraphArgs {
    #[command(flatten)]
    pub topology: TopologyArg,
    /// How to draw the graph
    #[arg(long, value_enum, default_value_t = GraphFormat::Text)]
    pub format: GraphFormat,
    /// Print the graph as JSON data
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
}

/// The graph of a fresh apply: what `plinth plan` shows once it has read what is deployed.
pub fn run(args: GraphArgs) -> Result<u8, Failure> {
    let topology = common::load_topology(&args.topology.topology)?;
    let graph = StackGraph::build(&topology, &BTreeSet::new());
    let text = if args.json {
        serde_json::to_string_pretty(&graph.to_json()).unwrap_or_default()
    } else {
        match args.format {
            GraphFormat::Text => graph.to_text(),
            GraphFormat::Dot => graph.to_dot(),
            GraphFormat::Mermaid => graph.to_mermaid(),
        }
    };
    output::data(&text);
    Ok(exit::SUCCESS)
}
