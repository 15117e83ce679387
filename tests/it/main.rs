//! plinth's integration tests, in one binary: the command line without AWS (`cli`), and plan,
//! apply, destroy and pipelines against the project's patched moto server (`plan`, `apply`,
//! `pipeline`), each test on its own emulator started by `common`.

mod apply;
mod cli;
mod common;
mod pipeline;
mod plan;
