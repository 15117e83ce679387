//! `plinth render --out DIR`: every (stack, pass) template and a manifest, written to a folder.

use std::path::PathBuf;

use clap::Args;
use plinth::{ops, output};

use super::{Failure, TopologyArg, common, exit};

#[derive(Debug, Args)]
pub(crate) struct RenderArgs {
    #[command(flatten)]
    pub(crate) topology: TopologyArg,
    /// The folder to write the templates and manifest.json to (created if missing)
    #[arg(long, value_name = "DIR")]
    pub(crate) out: PathBuf,
}

pub(crate) fn run(args: RenderArgs) -> Result<u8, Failure> {
    let loaded = common::load_topology(&args.topology.topology)?;
    let set = ops::render_all(&loaded.topology);
    ops::write_rendered(&set, &args.out)?;
    output::say(&format!(
        "wrote {} templates and manifest.json to {}",
        set.templates.len(),
        args.out.display()
    ));
    Ok(exit::SUCCESS)
}
