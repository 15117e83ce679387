//! What the commands share: loading the topology, reporting failures.

use std::path::Path;

use plinth::output::{self, Style};
use plinth::topology::{self, Diagnostic, Rendered, Topology};

use super::exit;

pub fn style() -> Style {
    Style::detect()
}

/// A command's failure, reported once with its exit code.
pub enum Failure {
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
    pub fn operating(error: impl std::error::Error + 'static) -> Self {
        Failure::Error {
            error: Box::new(error),
            hint: None,
            code: exit::FAILURE,
        }
    }

    pub fn report(self, style: &Style) -> u8 {
        match self {
            Failure::Reported(code) => code,
            Failure::Error { error, hint, code } => {
                output::say(&output::error_chain(style, error.as_ref(), hint.as_deref()));
                code
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read the topology file {path}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("the topology file {path} is not UTF-8 text (invalid byte at offset {offset})")]
    NotUtf8 { path: String, offset: usize },
}

fn print_diagnostics(
    style: &Style,
    severity: &str,
    file: &str,
    source: &str,
    diagnostics: &[Diagnostic],
) {
    for diagnostic in diagnostics {
        let text = Rendered {
            severity,
            file,
            source,
            diagnostic,
        }
        .to_string();
        let painted = match severity {
            "error" => text.replacen("error:", &style.red(&style.bold("error:")), 1),
            _ => text.replacen("warning:", &style.yellow(&style.bold("warning:")), 1),
        };
        output::say(painted.trim_end());
        output::say("");
    }
}

/// Reads and validates the topology, printing warnings; on bad input prints every problem and
/// fails with exit code 2. Never touches AWS.
pub fn load_topology(path: &Path) -> Result<Topology, Failure> {
    let style = style();
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| {
        let hint = match source.kind() {
            std::io::ErrorKind::NotFound => Some(format!(
                "pass the file with `-t FILE`, or copy topology.example.toml to {shown} and edit it"
            )),
            _ => None,
        };
        Failure::Error {
            error: Box::new(LoadError::Read {
                path: shown.clone(),
                source,
            }),
            hint,
            code: exit::BAD_INPUT,
        }
    })?;
    let text = String::from_utf8(bytes).map_err(|e| Failure::Error {
        error: Box::new(LoadError::NotUtf8 {
            path: shown.clone(),
            offset: e.utf8_error().valid_up_to(),
        }),
        hint: Some("save the file as UTF-8".into()),
        code: exit::BAD_INPUT,
    })?;
    match topology::parse(&text) {
        Ok(parsed) => {
            print_diagnostics(&style, "warning", &shown, &text, &parsed.warnings);
            Ok(parsed.topology)
        }
        Err(invalid) => {
            print_diagnostics(&style, "warning", &shown, &text, &invalid.warnings);
            print_diagnostics(&style, "error", &shown, &text, &invalid.errors);
            let count = invalid.errors.len();
            output::say(&format!(
                "{} {shown} has {count} problem{}; nothing was sent to AWS",
                style.red(&style.bold("error:")),
                if count == 1 { "" } else { "s" }
            ));
            Err(Failure::Reported(exit::BAD_INPUT))
        }
    }
}

/// Flags of every command that reads AWS.
#[derive(Debug, clap::Args)]
pub struct ReadArgs {
    /// How many AWS reads run at once
    #[arg(long, value_name = "N", default_value_t = 16)]
    pub read_concurrency: usize,
}

pub fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(Failure::operating)
}

fn read_failure(error: plinth::aws::snapshot::ReadError) -> Failure {
    let hint = error.hint();
    Failure::Error {
        error: Box::new(error),
        hint,
        code: exit::FAILURE,
    }
}

/// Confirms every account's identity, reads what is deployed and plans.
pub async fn read_and_plan(
    topology: &Topology,
    args: &ReadArgs,
    mode: plinth::plan::Mode,
) -> Result<
    (
        plinth::plan::Plan,
        plinth::plan::Deployed,
        std::sync::Arc<plinth::aws::sdk::SdkCloud>,
    ),
    Failure,
> {
    use plinth::aws::Cloud as _;
    let started = std::time::Instant::now();
    let cloud = std::sync::Arc::new(plinth::aws::sdk::SdkCloud::connect(topology).await);
    plinth::aws::snapshot::preflight(cloud.as_ref(), topology)
        .await
        .map_err(read_failure)?;
    let deployed = plinth::aws::snapshot::read(cloud.as_ref(), topology, args.read_concurrency)
        .await
        .map_err(read_failure)?;
    let plan = match mode {
        plinth::plan::Mode::Apply => plinth::plan::plan(topology, &deployed),
        plinth::plan::Mode::Destroy => plinth::plan::destroy(topology, &deployed),
    };
    let style = style();
    output::say(&style.dim(&format!(
        "read {} stack{} in {} account{} and {} region{} with {} API calls in {:.1}s",
        deployed.stacks.len(),
        if deployed.stacks.len() == 1 { "" } else { "s" },
        topology.accounts().len(),
        if topology.accounts().len() == 1 {
            ""
        } else {
            "s"
        },
        topology.regions().len(),
        if topology.regions().len() == 1 {
            ""
        } else {
            "s"
        },
        cloud.calls(),
        started.elapsed().as_secs_f64()
    )));
    Ok((plan, deployed, cloud))
}

#[derive(Debug, thiserror::Error)]
pub enum PlanFileError {
    #[error("cannot write the plan to {path}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot read the plan file {path}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a plan saved by this version of plinth")]
    Parse {
        path: String,
        source: serde_json::Error,
    },
}

pub fn save_plan(path: &Path, plan: &plinth::plan::Plan) -> Result<(), Failure> {
    std::fs::write(path, plan.to_json()).map_err(|source| {
        Failure::operating(PlanFileError::Write {
            path: path.display().to_string(),
            source,
        })
    })
}

pub fn load_plan(path: &Path) -> Result<plinth::plan::Plan, Failure> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| Failure::Error {
        error: Box::new(PlanFileError::Read {
            path: shown.clone(),
            source,
        }),
        hint: None,
        code: exit::BAD_INPUT,
    })?;
    plinth::plan::Plan::from_json(&text).map_err(|source| Failure::Error {
        error: Box::new(PlanFileError::Parse {
            path: shown,
            source,
        }),
        hint: Some("save a new plan with `plinth plan --out FILE`".into()),
        code: exit::BAD_INPUT,
    })
}
