//! `plinth show PLAN`: draw a saved plan as `plinth plan` drew it, or as JSON or Markdown. Reads
//! no AWS and needs no credentials.

use std::path::PathBuf;

use clap::Args;
use plinth::ops;

use super::common::{self, Format};
use super::{Failure, exit};

#[derive(Debug, Args)]
pub(crate) struct ShowArgs {
    /// A plan saved with `plinth plan --out FILE`
    #[arg(value_name = "PLAN")]
    pub(crate) plan: PathBuf,
    /// How to draw it: `human` (as `plinth plan`, on stderr), `json` (the saved document, on
    /// stdout) or `markdown` (for a pull-request comment, on stdout)
    #[arg(long, value_enum, default_value_t = Format::Human, conflicts_with = "json")]
    pub(crate) format: Format,
    /// The same as `--format json`
    #[arg(long)]
    pub(crate) json: bool,
    /// Show the unified diff of every template too, not only the resources that change
    #[arg(long)]
    pub(crate) diff: bool,
}

pub(crate) fn run(args: ShowArgs) -> Result<u8, Failure> {
    // A plan that cannot be shown is an error of this command's whole job: exit 1.
    let plan = ops::load_plan(&args.plan).map_err(|e| Failure::from(e).with_code(exit::FAILURE))?;
    let format = if args.json { Format::Json } else { args.format };
    common::draw_plan(&plan, format, args.diff);
    Ok(exit::SUCCESS)
}
