//! `plinth graph`: the stack graph of a fresh apply, as text waves, DOT, Mermaid or JSON.

use clap::Args;
use plinth::{ops, output};

use super::{Failure, GraphFormat, TopologyArg, common, exit};

#[derive(Debug, Args)]
pub(crate) struct GraphArgs {
    #[command(flatten)]
    pub(crate) topology: TopologyArg,
    /// How to draw the graph
    #[arg(long, value_enum, default_value_t = GraphFormat::Text)]
    pub(crate) format: GraphFormat,
    /// Print the graph as JSON data
    #[arg(long, conflicts_with = "format")]
    pub(crate) json: bool,
}

/// The graph of a fresh apply: what `plinth plan` shows once it has read what is deployed.
pub(crate) fn run(args: GraphArgs) -> Result<u8, Failure> {
    let loaded = common::load_topology(&args.topology.topology)?;
    let graph = ops::fresh_graph(&loaded.topology);
    let text = if args.json {
        output::pretty_json(&graph.to_json())
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
