//! `plinth apply [PLAN]`: plan (or check a saved plan against what is deployed), show, ask, converge.

use std::path::PathBuf;

use clap::Args;
use plinth::output;
use plinth::plan::Mode;

use super::run::{self, Message, RunArgs};
use super::{Failure, TopologyArg, common, exit};

#[derive(Debug, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub topology: TopologyArg,
    #[command(flatten)]
    pub read: common::ReadArgs,
    #[command(flatten)]
    pub run: RunArgs,
    /// A plan saved with `plinth plan --out FILE`: apply exactly that plan
    #[arg(value_name = "PLAN")]
    pub plan: Option<PathBuf>,
}

pub fn run(args: ApplyArgs) -> Result<u8, Failure> {
    let topology = common::load_topology(&args.topology.topology)?;
    let saved = args.plan.as_deref().map(common::load_plan).transpose()?;
    let style = common::style();
    let runtime = common::runtime()?;
    runtime.block_on(async {
        let (fresh, deployed, cloud) = common::read_and_plan(&topology, &args.read, Mode::Apply).await?;
        let plan = match saved {
            None => fresh,
            Some(saved) => {
                if saved.mode != Mode::Apply || saved.foundation != topology.name.as_str() {
                    return Err(Failure::Error {
                        error: Box::new(Message(format!(
                            "the saved plan is a {:?} plan of foundation `{}`, not an apply plan of `{}`",
                            saved.mode, saved.foundation, topology.name
                        ))),
                        hint: None,
                        code: exit::BAD_INPUT,
                    });
                }
                let stale = plinth::plan::stale(&saved, &deployed);
                if !stale.is_empty() {
                    return Err(Failure::Error {
                        error: Box::new(Message(format!(
                            "what is deployed changed since the plan was saved; nothing was changed:\n  {}",
                            stale.join("\n  ")
                        ))),
                        hint: Some("run `plinth plan --out FILE` again and review the new plan".into()),
                        code: exit::FAILURE,
                    });
                }
                saved
            }
        };
        if !run::show(&style, &args.run, &plan) {
            output::say("Nothing to do: the foundation matches the topology.");
            return Ok(exit::SUCCESS);
        }
        run::confirm(&args.run, &plan)?;
        let outputs = deployed.outputs_of(&plinth::graph::stacks(&topology));
        run::execute(style, &args.run, &plan, cloud, outputs).await
    })
}
