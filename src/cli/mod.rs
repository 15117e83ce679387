//! Command-line definitions and one small file per command. Each command turns its flags into
//! an options struct and makes one call into the library.

mod apply;
mod common;
mod destroy;
mod extras;
mod graph;
mod plan;
mod policy;
mod render;
mod run;
mod show;
mod validate;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub(crate) use common::Failure;

/// Exit codes shared by every command.
pub(crate) mod exit {
    pub(crate) const SUCCESS: u8 = 0;
    pub(crate) const FAILURE: u8 = 1;
    pub(crate) const BAD_INPUT: u8 = 2;
    /// `plan --detailed-exitcode`: the plan has changes.
    pub(crate) const CHANGES: u8 = 2;
}

#[derive(Debug, Parser)]
#[command(
    name = "plinth",
    version,
    about = "Plan, apply and destroy the AWS foundation of cross-account, cross-region CodePipelines",
    long_about = "plinth reads one topology file, works out which CloudFormation stacks the foundation \
needs in every account and region and in which order, shows what would change, converges it, and \
tears it down.\n\nExit codes: 0 success, 1 a failure while operating, 2 bad usage or bad input; with \
`plan --detailed-exitcode`, 0 no changes, 1 any error, 2 changes."
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Args, Clone)]
pub(crate) struct TopologyArg {
    /// The topology file
    #[arg(
        short = 't',
        long = "topology",
        value_name = "FILE",
        default_value = "topology.toml",
        global = true
    )]
    pub(crate) topology: PathBuf,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Check the topology file and say what would be built
    Validate(validate::ValidateArgs),
    /// Show the stack graph: waves of (stack, pass) and why each waits for another
    Graph(graph::GraphArgs),
    /// Write every (stack, pass) template and a manifest to a folder
    Render(render::RenderArgs),
    /// Read every account and region and show what apply would change
    Plan(plan::PlanArgs),
    /// Draw a plan saved with `plinth plan --out FILE`, as plan drew it, or as JSON or Markdown
    Show(show::ShowArgs),
    /// Converge the foundation: create, update, replace and delete stacks in dependency order
    Apply(apply::ApplyArgs),
    /// Remove everything the foundation created, in every account and region
    Destroy(destroy::DestroyArgs),
    /// Print the IAM policy each of plinth's identities needs: plan's reads, and what apply and
    /// destroy add
    Policy(policy::PolicyArgs),
    /// Print the JSON Schema of the topology file, for editors and language servers
    Schema,
    /// Print the shell completion script for bash, zsh or fish
    Completions(extras::CompletionsArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub(crate) enum GraphFormat {
    Text,
    Dot,
    Mermaid,
}

pub(crate) fn run(cli: Cli) -> u8 {
    let style = crate::cli::common::style();
    let result = match cli.command {
        Command::Validate(args) => validate::run(args),
        Command::Graph(args) => graph::run(args),
        Command::Render(args) => render::run(args),
        Command::Plan(args) => plan::run(args),
        Command::Show(args) => show::run(args),
        Command::Apply(args) => apply::run(args),
        Command::Destroy(args) => destroy::run(args),
        Command::Policy(args) => policy::run(args),
        Command::Schema => Ok(extras::schema()),
        Command::Completions(args) => Ok(extras::completions(&args)),
    };
    match result {
        Ok(code) => code,
        Err(failure) => failure.report(&style),
    }
}
