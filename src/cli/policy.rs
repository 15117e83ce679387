//! `plinth policy`: the IAM policy each of plinth's identities needs for this topology. Reads no
//! AWS.

use clap::Args;
use plinth::{output, policy};

use super::{Failure, TopologyArg, common, exit};

#[derive(Debug, Args)]
pub(crate) struct PolicyArgs {
    #[command(flatten)]
    pub(crate) topology: TopologyArg,
    /// Print the policy documents as JSON on stdout (docs/permissions.md)
    #[arg(long)]
    pub(crate) json: bool,
}

pub(crate) fn run(args: PolicyArgs) -> Result<u8, Failure> {
    let loaded = common::load_topology(&args.topology.topology)?;
    let identities = policy::identities(&loaded.topology);
    if args.json {
        let value = policy::to_json(&loaded.topology, &identities);
        output::data(&serde_json::to_string_pretty(&value).expect("JSON serializes"));
    } else {
        output::say_block(&output::policy::render(
            &common::style(),
            &policy::foundation(&loaded.topology),
            &identities,
        ));
    }
    Ok(exit::SUCCESS)
}
