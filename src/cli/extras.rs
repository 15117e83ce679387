//! `plinth schema` and `plinth completions SHELL`: what editors and shells read.

use clap::{Args, CommandFactory, ValueEnum};
use plinth::output;

use super::{Cli, exit};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum Shell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell to complete in
    #[arg(value_enum)]
    pub(crate) shell: Shell,
}

pub(crate) fn schema() -> u8 {
    output::data(
        &serde_json::to_string_pretty(&plinth::topology::schema())
            .expect("a schema of strings, numbers and JSON values serialises"),
    );
    exit::SUCCESS
}

pub(crate) fn completions(args: &CompletionsArgs) -> u8 {
    let shell = match args.shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "plinth", &mut script);
    output::data(String::from_utf8_lossy(&script).trim_end());
    exit::SUCCESS
}
