//! What the commands share: loading the topology, reporting failures, the runtime.

use std::path::Path;

use plinth::ops::{self, LoadError, Loaded, SavedPlanError, WriteError};
use plinth::output::{self, Style};

use super::exit;

pub(crate) fn style() -> Style {
    Style::detect()
}

/// How `plan` and `show` draw a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// For a person, on stderr
    Human,
    /// The plan's JSON document, on stdout (docs/plan-json.md)
    Json,
    /// GitHub-flavoured Markdown for a pull-request comment, on stdout
    Markdown,
}

/// Draws a plan as `plan` and `show` both do.
pub(crate) fn draw_plan(plan: &plinth::plan::Plan, format: Format, template_diff: bool) {
    match format {
        Format::Json => output::data(&plan.to_json()),
        Format::Markdown => output::data(&output::markdown::render(plan)),
        Format::Human => output::say(&output::plan::render(
            &style(),
            plan,
            output::plan::Detail { template_diff },
        )),
    }
}

/// A command's failure, reported once with its exit code.
pub(crate) enum Failure {
    /// Already reported (topology diagnostics): only the exit code remains.
    Reported(u8),
    /// An error chain with an optional hint.
    Error {
        error: Box<dyn std::error::Error>,
        hint: Option<String>,
        code: u8,
    },
}

impl Failure {
    pub(crate) fn operating(error: impl std::error::Error + 'static) -> Self {
        Failure::Error {
            error: Box::new(error),
            hint: None,
            code: exit::FAILURE,
        }
    }

    /// The same failure, ending with another exit code.
    #[must_use]
    pub(crate) fn with_code(self, code: u8) -> Self {
        match self {
            Failure::Reported(_) => Failure::Reported(code),
            Failure::Error { error, hint, .. } => Failure::Error { error, hint, code },
        }
    }

    pub(crate) fn report(self, style: &Style) -> u8 {
        match self {
            Failure::Reported(code) => code,
            Failure::Error { error, hint, code } => {
                output::say(&output::error_chain(style, error.as_ref(), hint.as_deref()));
                code
            }
        }
    }
}

impl From<plinth::aws::snapshot::ReadError> for Failure {
    fn from(error: plinth::aws::snapshot::ReadError) -> Self {
        Failure::Error {
            hint: error.hint(),
            error: Box::new(error),
            code: exit::FAILURE,
        }
    }
}

impl From<SavedPlanError> for Failure {
    fn from(error: SavedPlanError) -> Self {
        Failure::Error {
            hint: error.hint(),
            code: if error.is_bad_input() {
                exit::BAD_INPUT
            } else {
                exit::FAILURE
            },
            error: Box::new(error),
        }
    }
}

impl From<WriteError> for Failure {
    fn from(error: WriteError) -> Self {
        Failure::operating(error)
    }
}

/// Reads and validates the topology, printing warnings; on bad input prints every problem and
/// fails with exit code 2. Never touches AWS.
pub(crate) fn load_topology(path: &Path) -> Result<Loaded, Failure> {
    let style = style();
    match ops::load_topology(path) {
        Ok(loaded) => {
            output::say_block(&output::views::diagnostics(
                &style,
                "warning",
                &loaded.path,
                &loaded.text,
                &loaded.warnings,
            ));
            Ok(loaded)
        }
        Err(error @ LoadError::Invalid { .. }) => {
            if let LoadError::Invalid {
                path,
                text,
                errors,
                warnings,
            } = &error
            {
                output::say_block(&output::views::diagnostics(
                    &style, "warning", path, text, warnings,
                ));
                output::say_block(&output::views::diagnostics(
                    &style, "error", path, text, errors,
                ));
            }
            output::say(&format!("{} {error}", style.red(&style.bold("error:"))));
            Err(Failure::Reported(exit::BAD_INPUT))
        }
        Err(error) => Err(Failure::Error {
            hint: error.hint(),
            error: Box::new(error),
            code: exit::BAD_INPUT,
        }),
    }
}

/// Flags of every command that reads AWS.
#[derive(Debug, clap::Args)]
pub(crate) struct ReadArgs {
    /// How many AWS reads run at once
    #[arg(long, value_name = "N", default_value_t = 16)]
    pub(crate) read_concurrency: usize,
    /// Skip reading the live settings of buckets, keys and roles: faster, but changes made
    /// outside CloudFormation (drift) go unseen and unrepaired
    #[arg(long)]
    pub(crate) no_drift: bool,
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(Failure::operating)
}

/// Reads what is deployed and plans, then says how much reading took.
pub(crate) async fn read_and_plan(
    topology: &plinth::topology::Topology,
    args: &ReadArgs,
    mode: plinth::plan::Mode,
) -> Result<ops::Planned, Failure> {
    let read = ops::ReadOptions {
        concurrency: args.read_concurrency,
        drift: !args.no_drift,
    };
    let planned = match ops::read_and_plan(topology, read, mode).await {
        Ok(planned) => planned,
        Err(error) => {
            let hint = match error.denial() {
                Some(denial) => Some(plinth::policy::explain(
                    &plinth::policy::identities(topology),
                    &denial,
                )),
                None => error.hint(),
            };
            return Err(Failure::Error {
                hint,
                error: Box::new(error),
                code: exit::FAILURE,
            });
        }
    };
    output::say(&output::views::read_stats(&style(), &planned.stats));
    Ok(planned)
}
