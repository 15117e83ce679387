//! plinth's integration tests, in one binary: the command line without AWS (`cli`), and plan,
//! apply, destroy and pipelines against the project's patched moto server (`plan`, `apply`,
//! `pipeline`), each test on its own emulator started by `common`.

#![expect(
    clippy::unwrap_used,
    reason = "a failed unwrap in a test is the failure report, with its place"
)]
#![expect(
    clippy::print_stderr,
    reason = "a failing test prints the emulator's log for its reader"
)]

mod adopt;
mod apply;
mod cli;
mod common;
mod consistency;
mod drift;
mod organization;
mod orgs;
mod pipeline;
mod plan;
mod policy;
mod security;
mod stack_sets;
mod waiting;
