//! The `plinth` binary: parses flags, runs one command, maps its outcome to an exit code
//! (0 success, 1 a failure while operating, 2 bad usage or bad input; with
//! `plan --detailed-exitcode`, 0 no changes, 1 any error, 2 changes).

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // With --detailed-exitcode, 2 means "there are changes": every error, a usage error
    // included, exits 1 so that a CI job can tell the two apart.
    let detailed = std::env::args_os().any(|a| a == "--detailed-exitcode");
    let args = match cli::Cli::try_parse() {
        Ok(args) => args,
        Err(error) => {
            let _ = error.print();
            let code = match error.exit_code() {
                0 => 0,
                _ if detailed => cli::exit::FAILURE,
                code => u8::try_from(code).unwrap_or(cli::exit::BAD_INPUT),
            };
            return ExitCode::from(code);
        }
    };
    ExitCode::from(cli::run(args))
}
