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
    #[arg(long, conflicts_with = "cloudformation")]
    pub(crate) json: bool,
    /// Print a CloudFormation template that makes one identity's documents managed policies of
    /// its account: `build`, `organization`, a target's name or an account id
    #[arg(long, value_name = "IDENTITY")]
    pub(crate) cloudformation: Option<String>,
}

pub(crate) fn run(args: PolicyArgs) -> Result<u8, Failure> {
    let loaded = common::load_topology(&args.topology.topology)?;
    let identities = policy::identities(&loaded.topology);
    let foundation = policy::foundation(&loaded.topology);
    if let Some(which) = &args.cloudformation {
        let Some(identity) = policy::find(&identities, which) else {
            let names: Vec<&str> = identities.iter().map(|i| i.name.as_str()).collect();
            return Err(Failure::Error {
                error: format!("no identity `{which}` in this topology").into(),
                hint: Some(format!(
                    "name one of: {} (or its account id)",
                    names.join(", ")
                )),
                code: exit::BAD_INPUT,
            });
        };
        let template = policy::cloudformation(&foundation, identity);
        output::data(&serde_json::to_string_pretty(&template).expect("JSON serializes"));
    } else if args.json {
        let value = policy::to_json(&loaded.topology, &identities);
        output::data(&serde_json::to_string_pretty(&value).expect("JSON serializes"));
    } else {
        output::say_block(&output::policy::render(
            &common::style(),
            &foundation,
            &identities,
        ));
    }
    Ok(exit::SUCCESS)
}
