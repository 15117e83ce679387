//! The operations the commands run, as library calls: load a topology file, render every
//! template with its manifest, read what is deployed and plan, accept a saved plan, and carry a
//! plan out. Each command parses its flags and makes one of these calls; what a person sees is
//! drawn by [`crate::output`]. This is where the pure core meets files and AWS.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::apply::{Backoff, Cancel, Executor, OrphanBucketError, Outcome, Reporter};
use crate::aws::Cloud;
use crate::aws::sdk::SdkCloud;
use crate::aws::snapshot::{self, ReadError};
use crate::graph::StackGraph;
use crate::plan::{self, Deployed, Mode, Plan};
use crate::templates::{self, RenderedNode, canonical_json};
use crate::topology::{self, Diagnostic, Topology};

/// Why a topology file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read the topology file {path}")]
    Read {
        /// The file, as the user named it.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not UTF-8 text.
    #[error("the topology file {path} is not UTF-8 text (invalid byte at offset {offset})")]
    NotUtf8 {
        /// The file, as the user named it.
        path: String,
        /// Where the first byte that is not UTF-8 is.
        offset: usize,
    },
    /// The text has problems; each is a located diagnostic.
    #[error("{path} has {} problem{}; nothing was sent to AWS", errors.len(), if errors.len() == 1 { "" } else { "s" })]
    Invalid {
        /// The file, as the user named it.
        path: String,
        /// The file's text, which the diagnostics point into.
        text: String,
        /// The problems that make it invalid.
        errors: Vec<Diagnostic>,
        /// What is worth knowing but valid.
        warnings: Vec<Diagnostic>,
    },
}

impl LoadError {
    /// What the user can do about it, when there is something to say.
    pub fn hint(&self) -> Option<String> {
        match self {
            LoadError::Read { path, source } if source.kind() == std::io::ErrorKind::NotFound => {
                Some(format!(
                    "pass the file with `-t FILE`, or copy topology.example.toml to {path} and edit it"
                ))
            }
            LoadError::NotUtf8 { .. } => Some("save the file as UTF-8".into()),
            _ => None,
        }
    }
}

/// A valid topology with the text it came from, for views that point into it.
#[derive(Debug)]
pub struct Loaded {
    /// The validated topology.
    pub topology: Topology,
    /// The file, as the user named it.
    pub path: String,
    /// The file's text, which the warnings point into.
    pub text: String,
    /// What validation found worth knowing (a powerful managed policy, say).
    pub warnings: Vec<Diagnostic>,
}

/// Reads and validates a topology file. Never touches AWS.
pub fn load_topology(path: &Path) -> Result<Loaded, LoadError> {
    let shown = path.display().to_string();
    let bytes = fs_err::read(path).map_err(|source| LoadError::Read {
        path: shown.clone(),
        source,
    })?;
    let text = String::from_utf8(bytes).map_err(|e| LoadError::NotUtf8 {
        path: shown.clone(),
        offset: e.utf8_error().valid_up_to(),
    })?;
    match topology::parse(&text) {
        Ok(parsed) => Ok(Loaded {
            topology: parsed.topology,
            path: shown,
            text,
            warnings: parsed.warnings,
        }),
        Err(invalid) => Err(LoadError::Invalid {
            path: shown,
            text,
            errors: invalid.errors,
            warnings: invalid.warnings,
        }),
    }
}

/// The stack graph of a fresh apply.
pub fn fresh_graph(topology: &Topology) -> StackGraph {
    StackGraph::build(topology, &BTreeSet::new())
}

/// What a fresh apply's templates hold over AWS's limits: each would make apply fail halfway.
pub fn limit_findings(topology: &Topology) -> Vec<plan::Finding> {
    let graph = fresh_graph(topology);
    plan::limits(topology, &templates::render_graph(topology, &graph)).0
}

/// Every (stack, pass) template of a fresh apply, as files to write, and their manifest.
pub struct RenderedSet {
    /// File name and canonical JSON text of each template, in wave order.
    pub templates: Vec<(String, String)>,
    /// Each template's stack, account, region, pass, tags and placeholders (`manifest.json`).
    pub(crate) manifest: Value,
}

/// Every (stack, pass) template of a fresh apply of the topology, and their manifest.
pub fn render_all(topology: &Topology) -> RenderedSet {
    let graph = fresh_graph(topology);
    let mut templates = Vec::new();
    let mut entries = Vec::new();
    for node in templates::render_graph(topology, &graph) {
        let file = template_file_name(&node);
        templates.push((file.clone(), canonical_json(&node.template.body())));
        entries.push(json!({
            "file": file,
            "stack": node.stack.name,
            "key": node.stack.key,
            "account": node.stack.account,
            "region": node.stack.region,
            "pass": node.pass,
            "wave": node.wave,
            "tags": node.tags,
            "placeholders": node.template.placeholders,
        }));
    }
    RenderedSet {
        templates,
        manifest: json!({ "foundation": topology.name, "templates": entries }),
    }
}

fn template_file_name(node: &RenderedNode) -> String {
    format!(
        "{}-{}-{}.pass{}.json",
        node.stack.name, node.stack.account, node.stack.region, node.pass
    )
}

/// A file plinth could not write.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {path}")]
pub struct WriteError {
    /// The file.
    pub(crate) path: String,
    /// Why.
    pub(crate) source: std::io::Error,
}

/// Writes a rendered set and its `manifest.json` to a folder (created if missing).
pub fn write_rendered(set: &RenderedSet, folder: &Path) -> Result<(), WriteError> {
    let write = |path: PathBuf, text: &str| {
        fs_err::write(&path, text).map_err(|source| WriteError {
            path: path.display().to_string(),
            source,
        })
    };
    fs_err::create_dir_all(folder).map_err(|source| WriteError {
        path: folder.display().to_string(),
        source,
    })?;
    for (file, text) in &set.templates {
        write(folder.join(file), text)?;
    }
    write(folder.join("manifest.json"), &canonical_json(&set.manifest))
}

/// How much reading AWS took.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReadStats {
    /// Stacks of the foundation found.
    pub(crate) stacks: usize,
    /// Accounts read.
    pub(crate) accounts: usize,
    /// Regions read.
    pub(crate) regions: usize,
    /// AWS API calls made.
    pub(crate) calls: u64,
    /// Wall-clock seconds the reads took.
    pub(crate) seconds: f64,
}

/// A plan with the snapshot it was made from and the clients that read it.
pub struct Planned {
    /// The plan.
    pub plan: Plan,
    /// What was deployed when it was made, to check a saved plan against.
    pub deployed: Deployed,
    /// The clients that read it, which apply goes on with.
    pub cloud: Arc<dyn Cloud>,
    /// How much the reads took.
    pub stats: ReadStats,
}

/// Resolves the topology's organizational units to accounts (reading AWS Organizations through
/// `[organization]`), connects to every account, confirms each one's identity, reads what is
/// deployed and plans.
pub async fn read_and_plan(
    topology: &Topology,
    read: ReadOptions,
    mode: Mode,
) -> Result<Planned, ReadError> {
    let started = Instant::now();
    let resolved;
    let topology = if topology.has_units() {
        let organization = SdkCloud::connect_organization(topology).await;
        resolved = resolve_units(&organization, topology, read.concurrency).await?;
        &resolved
    } else {
        topology
    };
    let cloud: Arc<dyn Cloud> = Arc::new(SdkCloud::connect(topology).await);
    plan_with(cloud, topology, read, mode, started).await
}

/// The topology with its organizational units resolved to the accounts they hold now (the
/// topology itself when it names none).
pub(crate) async fn resolve_units(
    cloud: &dyn Cloud,
    topology: &Topology,
    concurrency: usize,
) -> Result<Topology, ReadError> {
    if !topology.has_units() {
        return Ok(topology.clone());
    }
    let management = snapshot::read_management(cloud, topology).await?;
    let membership = snapshot::read_membership(cloud, topology, concurrency).await?;
    Ok(topology.resolve(&membership, management.as_ref()))
}

/// How plinth reads AWS before it plans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadOptions {
    /// How many reads run at once.
    pub concurrency: usize,
    /// Whether to read the live settings of buckets, keys and roles to find drift.
    pub drift: bool,
}

/// [`read_and_plan`] on the given clients.
pub(crate) async fn plan_with(
    cloud: Arc<dyn Cloud>,
    topology: &Topology,
    read: ReadOptions,
    mode: Mode,
    started: Instant,
) -> Result<Planned, ReadError> {
    let read_concurrency = read.concurrency;
    snapshot::preflight(cloud.as_ref(), topology, read_concurrency).await?;
    let mut deployed = snapshot::read(cloud.as_ref(), topology, read_concurrency).await?;
    if read.drift && mode == Mode::Apply {
        snapshot::read_live(cloud.as_ref(), topology, &mut deployed, read_concurrency).await?;
    }
    let plan = match mode {
        Mode::Apply => plan::plan(topology, &deployed),
        Mode::Destroy => plan::destroy(topology, &deployed),
    };
    let stats = ReadStats {
        stacks: deployed.stacks.len(),
        accounts: topology.accounts().len(),
        regions: topology.regions().len(),
        calls: cloud.calls(),
        seconds: started.elapsed().as_secs_f64(),
    };
    Ok(Planned {
        plan,
        deployed,
        cloud,
        stats,
    })
}

/// Why a saved plan cannot be applied.
#[derive(Debug, thiserror::Error)]
pub enum SavedPlanError {
    /// The plan is a destroy plan, or of another foundation.
    #[error(
        "the saved plan is a {mode:?} plan of foundation `{foundation}`, not an apply plan of `{expected}`"
    )]
    Mismatch {
        /// The saved plan's mode.
        mode: Mode,
        /// The foundation the saved plan is of.
        foundation: String,
        /// The topology's foundation.
        expected: String,
    },
    /// What is deployed changed since the plan was made.
    #[error("what is deployed changed since the plan was saved; nothing was changed:\n  {}", .changes.join("\n  "))]
    Stale {
        /// One line per stack that changed: where, what it was, what it is.
        changes: Vec<String>,
    },
    /// The plan file could not be read.
    #[error("cannot read the plan file {path}")]
    Read {
        /// The file, as the user named it.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is damaged, or not a plan.
    #[error("{path} is not a plan plinth can read: it is damaged, or not a plan ({written_by})")]
    Parse {
        /// The file, as the user named it.
        path: String,
        /// Which plinth wrote it, as far as the file says.
        written_by: String,
        /// Where the JSON is damaged or not a plan.
        source: serde_json::Error,
    },
    /// The plan was made by another plinth version, or is in another plan format.
    #[error(
        "{path} was saved by {written_by} (plan format {format}); this is plinth {} (plan format {}), which applies and shows only plans of its own version",
        crate::plan::PLINTH_VERSION,
        crate::plan::PLAN_FORMAT_VERSION
    )]
    Version {
        /// The file, as the user named it.
        path: String,
        /// The plinth that wrote it.
        written_by: String,
        /// The plan format it is in.
        format: String,
    },
}

impl SavedPlanError {
    /// What the user can do about it, when there is something to say.
    pub fn hint(&self) -> Option<String> {
        match self {
            SavedPlanError::Stale { .. } => {
                Some("run `plinth plan --out FILE` again and review the new plan".into())
            }
            SavedPlanError::Parse { .. } | SavedPlanError::Version { .. } => {
                Some("save a new plan with this plinth: `plinth plan --out FILE`".into())
            }
            _ => None,
        }
    }

    /// Whether the error is in what the user gave (rather than in what is deployed).
    pub fn is_bad_input(&self) -> bool {
        !matches!(self, SavedPlanError::Stale { .. })
    }
}

/// Reads a plan saved by `plinth plan --out`, refusing one of another plinth version or plan
/// format, and a damaged one.
pub fn load_plan(path: &Path) -> Result<Plan, SavedPlanError> {
    let shown = path.display().to_string();
    let text = fs_err::read_to_string(path).map_err(|source| SavedPlanError::Read {
        path: shown.clone(),
        source,
    })?;
    // The versions first, from the file as plain JSON: a plan of another version may not have
    // this version's shape, and its reader deserves to hear which version wrote it.
    let raw: Option<serde_json::Value> = serde_json::from_str(&text).ok();
    let field = |name: &str| {
        raw.as_ref()
            .and_then(|v| v.get(name).cloned())
            .map(|v| match v {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            })
    };
    let written_by = field("plinth_version").filter(|v| !v.is_empty());
    let format = field("format_version");
    let same_format = format.as_deref() == Some(&plan::PLAN_FORMAT_VERSION.to_string());
    if raw.is_some() && (!same_format || written_by.as_deref() != Some(plan::PLINTH_VERSION)) {
        if let Some(format) = format {
            return Err(SavedPlanError::Version {
                path: shown,
                written_by: written_by.map_or_else(
                    || "a plinth that did not record its version".to_owned(),
                    |v| format!("plinth {v}"),
                ),
                format,
            });
        }
    }
    Plan::from_json(&text).map_err(|source| SavedPlanError::Parse {
        path: shown,
        written_by: written_by.map_or_else(
            || "it names no plinth version".to_owned(),
            |v| format!("it says plinth {v} wrote it"),
        ),
        source,
    })
}

/// Saves a plan as JSON, for `plinth apply FILE` and `plinth show FILE`.
pub fn save_plan(path: &Path, plan: &Plan) -> Result<(), WriteError> {
    fs_err::write(path, plan.to_json()).map_err(|source| WriteError {
        path: path.display().to_string(),
        source,
    })
}

/// The saved plan, if it is an apply plan of this foundation made against what is deployed now.
pub fn accept_saved(
    saved: Plan,
    topology: &Topology,
    deployed: &Deployed,
) -> Result<Plan, SavedPlanError> {
    if saved.mode != Mode::Apply || saved.foundation != topology.name.as_str() {
        return Err(SavedPlanError::Mismatch {
            mode: saved.mode,
            foundation: saved.foundation,
            expected: topology.name.to_string(),
        });
    }
    let changes = plan::stale(&saved, deployed);
    if changes.is_empty() {
        Ok(saved)
    } else {
        Err(SavedPlanError::Stale { changes })
    }
}

/// How a run of the executor ended, with destroy's removal of buckets left outside any stack.
pub struct Executed {
    /// What happened to each change.
    pub(crate) outcome: Outcome,
    /// Destroy's removal of buckets outside any stack, when it failed.
    pub(crate) orphan_error: Option<OrphanBucketError>,
    /// Writing the record of the StackSets' accounts, when it failed.
    pub(crate) record_error: Option<crate::aws::AwsError>,
    /// The adoption of the original foundation's stacks, when a step of it failed.
    pub(crate) adoption_error: Option<crate::apply::AdoptionError>,
}

impl Executed {
    /// Whether every change, and what followed them, succeeded.
    pub(crate) fn succeeded(&self) -> bool {
        self.outcome.succeeded()
            && self.orphan_error.is_none()
            && self.record_error.is_none()
            && self.adoption_error.is_none()
    }
}

/// Writes the record of the accounts the StackSets serve, when the plan carries one (it
/// differs from the one read).
pub async fn write_record(plan: &Plan, cloud: &dyn Cloud) -> Result<(), crate::aws::AwsError> {
    let Some(record) = &plan.record else {
        return Ok(());
    };
    cloud
        .s3(&record.account)?
        .put_object(&record.bucket, &record.region, &record.key, &record.body)
        .await
}

/// The executor's bounds.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// Changes at once in all (a guard).
    pub parallelism: usize,
    /// Changes at once in one account and region.
    pub per_region: usize,
    /// How long a change waits for a stack that CloudFormation is changing.
    pub wait_timeout: Duration,
    /// How long a change refused for a principal IAM has not yet propagated is tried again.
    pub propagation_timeout: Duration,
}

/// Carries out a plan; for a destroy that succeeded, removes the buckets left outside any stack.
pub async fn execute(
    plan: &Plan,
    cloud: Arc<dyn Cloud>,
    reporter: Arc<dyn Reporter>,
    bounds: Bounds,
    cancel: Arc<Cancel>,
) -> Executed {
    let executor = Executor {
        cloud,
        reporter,
        per_region: bounds.per_region,
        parallelism: bounds.parallelism,
        backoff: Backoff::default(),
        wait_timeout: bounds.wait_timeout,
        propagation_timeout: bounds.propagation_timeout,
        cancel,
    };
    // The original foundation's stacks let go of what moves before plinth's stacks import it.
    if let Some(adoption) = plan.adoption.as_ref().filter(|_| plan.mode == Mode::Apply) {
        if let Err(error) = executor.release_old_stacks(adoption).await {
            return Executed {
                outcome: crate::apply::Outcome::not_started(plan),
                orphan_error: None,
                record_error: None,
                adoption_error: Some(error),
            };
        }
    }
    let outcome = executor.execute(plan).await;
    let mut orphan_error = None;
    let mut record_error = None;
    let mut adoption_error = None;
    if plan.mode == Mode::Apply && outcome.succeeded() {
        record_error = write_record(plan, executor.cloud.as_ref()).await.err();
        if let Some(adoption) = &plan.adoption {
            adoption_error = executor.delete_old_stacks(adoption).await.err();
        }
    }
    if plan.mode == Mode::Destroy && outcome.succeeded() {
        orphan_error = executor
            .remove_orphan_buckets(&plan.orphan_buckets)
            .await
            .err();
    }
    Executed {
        outcome,
        orphan_error,
        record_error,
        adoption_error,
    }
}
