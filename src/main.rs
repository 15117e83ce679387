//! The `plinth` binary: parses flags, runs one command, maps its outcome to an exit code
//! (0 success, 1 a failure while operating, 2 bad usage or bad input).

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    ExitCode::from(cli::run(args))
}
