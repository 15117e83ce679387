//! `plinth render --out DIR`: every (stack, pass) template and a manifest, written to a folder.

use std::collections::BTreeSet;
use std::path::PathBuf;

use clap::Args;
use plinth::graph::StackGraph;
use plinth::output;
use plinth::templates::{self, canonical_json};
use serde_json::json;

use super::{Failure, TopologyArg, common, exit};

#[derive(Debug, Args)]
pub struct RenderArgs {
    #[command(flatten)]
    pub topology: TopologyArg,
    /// The folder to write the templates and manifest.json to (created if missing)
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot write {path}")]
struct WriteError {
    path: String,
    source: std::io::Error,
}

pub fn run(args: RenderArgs) -> Result<u8, Failure> {
    let topology = common::load_topology(&args.topology.topology)?;
    let graph = StackGraph::build(&topology, &BTreeSet::new());
    let write = |path: PathBuf, text: &str| {
        std::fs::write(&path, text).map_err(|source| {
            Failure::operating(WriteError {
                path: path.display().to_string(),
                source,
            })
        })
    };
    std::fs::create_dir_all(&args.out).map_err(|source| {
        Failure::operating(WriteError {
            path: args.out.display().to_string(),
            source,
        })
    })?;
    let mut manifest = Vec::new();
    for node in templates::render_graph(&topology, &graph) {
        let file = template_file_name(&node);
        write(args.out.join(&file), &canonical_json(&node.template.body()))?;
        manifest.push(json!({
            "file": file,
            "stack": node.stack.name,
            "key": node.stack.key,
            "account": node.stack.account,
            "region": node.stack.region,
            "pass": node.pass,
            "wave": node.wave,
            "tags": node.tags,
            "placeholders": node.template.placeholders,
        }));
    }
    let count = manifest.len();
    write(
        args.out.join("manifest.json"),
        &canonical_json(&json!({ "foundation": topology.name, "templates": manifest })),
    )?;
    output::say(&format!(
        "wrote {count} templates and manifest.json to {}",
        args.out.display()
    ));
    Ok(exit::SUCCESS)
}

fn template_file_name(node: &templates::RenderedNode) -> String {
    format!(
        "{}-{}-{}.pass{}.json",
        node.stack.name, node.stack.account, node.stack.region, node.pass
    )
}
