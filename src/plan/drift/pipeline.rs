//! A pipeline's definition, as CodePipeline reports it and as the template declares it.
//!
//! Both sides are brought into one shape ([`PipelineDefinition`]): the role, the type, the
//! execution mode, the artifact stores, the stages and their actions, the variables, and the
//! triggers (which plinth's templates never declare, so any is drift). CodePipeline
//! fills in defaults the template leaves out (a run order of 1, empty artifact lists, an empty
//! configuration, an action's region); those are filled in on the declared side too, so that an
//! untouched pipeline compares equal. Stages are compared in order (their order is the
//! pipeline's order), actions by name within their stage.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Context, Found, Repair, key_id, scalar};

/// A pipeline's definition, in the parts plinth's templates declare.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PipelineDefinition {
    /// The pipeline's name.
    pub(crate) name: String,
    /// The ARN of its service role.
    pub(crate) role_arn: String,
    /// `V1` or `V2`; `None` when CodePipeline does not say (a V1 pipeline).
    pub(crate) pipeline_type: Option<String>,
    /// `SUPERSEDED`, `QUEUED` or `PARALLEL`; `None` for CodePipeline's default, `SUPERSEDED`.
    pub(crate) execution_mode: Option<String>,
    /// Pipeline-level variables: name to default value.
    pub(crate) variables: BTreeMap<String, Option<String>>,
    /// The triggers, each as its provider and source action; a template that declares triggers
    /// is not compared.
    pub(crate) triggers: Vec<String>,
    /// Region to store.
    pub(crate) artifact_stores: BTreeMap<String, ArtifactStore>,
    /// Its stages, in order.
    pub(crate) stages: Vec<Stage>,
}

/// An S3 artifact store and the KMS key its artifacts are encrypted with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub(crate) struct ArtifactStore {
    /// The bucket.
    pub(crate) bucket: String,
    /// The key's id or ARN, as given; `None` when CodePipeline's default key is used.
    pub(crate) key: Option<String>,
}

/// One stage of a pipeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub(crate) struct Stage {
    /// Its name (a target's, for a deployment stage).
    pub(crate) name: String,
    /// Its actions, compared by name.
    pub(crate) actions: Vec<PipelineAction>,
}

/// One action of a stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub(crate) struct PipelineAction {
    /// Its name, unique in its stage.
    pub(crate) name: String,
    /// `Source`, `Build`, `Deploy`, `Invoke`, `Approval`.
    pub(crate) category: String,
    /// `AWS` for plinth's actions.
    pub(crate) owner: String,
    /// `S3`, `CloudFormation`, `Lambda`, `Manual`.
    pub(crate) provider: String,
    /// The action type's version.
    pub(crate) version: String,
    /// Its configuration, each value as text.
    pub(crate) configuration: BTreeMap<String, String>,
    /// The artifacts it reads.
    pub(crate) input_artifacts: Vec<String>,
    /// The artifacts it writes.
    pub(crate) output_artifacts: Vec<String>,
    /// The role it runs as; `None` for the pipeline's own.
    pub(crate) role_arn: Option<String>,
    /// The region the action runs in; `None` for the pipeline's own.
    pub(crate) region: Option<String>,
    /// Its place in the stage: actions of one run order run together.
    pub(crate) run_order: i64,
    /// The namespace its output variables are published under.
    pub(crate) namespace: Option<String>,
}

impl PipelineDefinition {
    /// The definition a template's `AWS::CodePipeline::Pipeline` properties declare, with
    /// CodePipeline's defaults filled in; `None` when something cannot be resolved.
    pub(crate) fn declared(properties: &Value, context: &Context<'_>) -> Option<Self> {
        let p = context.resolve(properties)?;
        let text = |v: &Value| v.as_str().map(str::to_owned);
        let mut artifact_stores = BTreeMap::new();
        if let Some(stores) = p["ArtifactStores"].as_array() {
            for store in stores {
                artifact_stores.insert(text(&store["Region"])?, store_of(&store["ArtifactStore"])?);
            }
        }
        if p["ArtifactStore"].is_object() {
            artifact_stores.insert(context.region.to_string(), store_of(&p["ArtifactStore"])?);
        }
        let stages = p["Stages"]
            .as_array()?
            .iter()
            .map(|stage| {
                Some(Stage {
                    name: text(&stage["Name"])?,
                    actions: stage["Actions"]
                        .as_array()?
                        .iter()
                        .map(action_of)
                        .collect::<Option<_>>()?,
                })
            })
            .collect::<Option<_>>()?;
        if !p["Triggers"].is_null() {
            return None;
        }
        let variables = match &p["Variables"] {
            Value::Null => BTreeMap::new(),
            Value::Array(list) => list
                .iter()
                .map(|v| Some((text(&v["Name"])?, v.get("DefaultValue").map(scalar))))
                .collect::<Option<_>>()?,
            _ => return None,
        };
        Some(Self {
            name: text(&p["Name"])?,
            role_arn: text(&p["RoleArn"])?,
            pipeline_type: text(&p["PipelineType"]),
            execution_mode: text(&p["ExecutionMode"]),
            variables,
            triggers: Vec::new(),
            artifact_stores,
            stages,
        })
    }

    fn action_count(&self) -> usize {
        self.stages.iter().map(|s| s.actions.len()).sum()
    }

    fn describe(&self) -> String {
        let stages = self.stages.len();
        let actions = self.action_count();
        format!(
            "{stages} stage{}, {actions} action{}",
            plural(stages),
            plural(actions)
        )
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// `none`, `1 trigger`, `2 triggers`.
fn count(n: usize, what: &str) -> String {
    match n {
        0 => "none".to_owned(),
        n => format!("{n} {what}{}", plural(n)),
    }
}

/// The execution mode of a pipeline that names none.
pub(crate) const DEFAULT_EXECUTION_MODE: &str = "SUPERSEDED";

fn store_of(store: &Value) -> Option<ArtifactStore> {
    Some(ArtifactStore {
        bucket: store["Location"].as_str()?.to_owned(),
        key: store["EncryptionKey"]["Id"].as_str().map(str::to_owned),
    })
}

fn names(list: &Value) -> Option<Vec<String>> {
    match list {
        Value::Null => Some(Vec::new()),
        Value::Array(items) => items
            .iter()
            .map(|i| i["Name"].as_str().map(str::to_owned))
            .collect(),
        _ => None,
    }
}

fn action_of(action: &Value) -> Option<PipelineAction> {
    let id = &action["ActionTypeId"];
    let text = |v: &Value| v.as_str().map(str::to_owned);
    let configuration = match &action["Configuration"] {
        Value::Null => BTreeMap::new(),
        Value::Object(map) => map.iter().map(|(k, v)| (k.clone(), scalar(v))).collect(),
        _ => return None,
    };
    let run_order = match &action["RunOrder"] {
        Value::Null => 1,
        Value::Number(n) => n.as_i64()?,
        Value::String(s) => s.parse().ok()?,
        _ => return None,
    };
    Some(PipelineAction {
        name: text(&action["Name"])?,
        category: text(&id["Category"])?,
        owner: text(&id["Owner"])?,
        provider: text(&id["Provider"])?,
        version: scalar(&id["Version"]),
        configuration,
        input_artifacts: names(&action["InputArtifacts"])?,
        output_artifacts: names(&action["OutputArtifacts"])?,
        role_arn: text(&action["RoleArn"]),
        region: text(&action["Region"]),
        run_order,
        namespace: text(&action["Namespace"]),
    })
}

impl Found<'_> {
    /// The pipeline's role, type, execution mode, variables, triggers, artifact stores and
    /// stages; each that differs is one drift, all repaired by one `UpdatePipeline` with the
    /// declared definition.
    pub(super) fn pipeline(
        &mut self,
        live: &PipelineDefinition,
        properties: &Value,
        context: &Context<'_>,
    ) {
        let Some(declared) = PipelineDefinition::declared(properties, context) else {
            return;
        };
        let home = context.region.as_str();
        let repair = Repair::UpdatePipeline {
            definition: declared.clone(),
        };
        if live.role_arn != declared.role_arn {
            self.push(
                "RoleArn",
                live.role_arn.clone(),
                declared.role_arn.clone(),
                repair.clone(),
            );
        }
        if let Some(wanted) = &declared.pipeline_type {
            let have = live.pipeline_type.as_deref().unwrap_or("V1");
            if have != wanted {
                self.push(
                    "PipelineType",
                    have.to_owned(),
                    wanted.clone(),
                    repair.clone(),
                );
            }
        }
        let mode = |m: &Option<String>| m.clone().unwrap_or_else(|| DEFAULT_EXECUTION_MODE.into());
        if mode(&live.execution_mode) != mode(&declared.execution_mode) {
            self.push(
                "ExecutionMode",
                mode(&live.execution_mode),
                mode(&declared.execution_mode),
                repair.clone(),
            );
        }
        let variables = keyed_changes(
            "Variables",
            &live.variables,
            &declared.variables,
            |v| v.clone().unwrap_or_else(|| "no default".into()),
            PartialEq::eq,
        );
        if !variables.is_empty() {
            self.push_with(
                "Variables",
                count(live.variables.len(), "variable"),
                count(declared.variables.len(), "variable"),
                variables,
                repair.clone(),
            );
        }
        if live.triggers != declared.triggers {
            self.push_with(
                "Triggers",
                count(live.triggers.len(), "trigger"),
                count(declared.triggers.len(), "trigger"),
                live.triggers
                    .iter()
                    .map(|t| format!("- Triggers/{t}"))
                    .collect(),
                repair.clone(),
            );
        }
        let stores = keyed_changes(
            "ArtifactStores",
            &live.artifact_stores,
            &declared.artifact_stores,
            |s| match &s.key {
                Some(key) => format!("{} (key {key})", s.bucket),
                None => format!("{} (CodePipeline's default key)", s.bucket),
            },
            |a, b| {
                a.bucket == b.bucket && a.key.as_deref().map(key_id) == b.key.as_deref().map(key_id)
            },
        );
        if !stores.is_empty() {
            let regions = |s: &BTreeMap<String, ArtifactStore>| {
                let list: Vec<&str> = s.keys().map(String::as_str).collect();
                if list.is_empty() {
                    "none".to_owned()
                } else {
                    list.join(", ")
                }
            };
            self.push_with(
                "ArtifactStores",
                regions(&live.artifact_stores),
                regions(&declared.artifact_stores),
                stores,
                repair.clone(),
            );
        }
        let stages = stage_changes(&live.stages, &declared.stages, home);
        if !stages.is_empty() {
            self.push_with(
                "Stages",
                live.describe(),
                declared.describe(),
                stages,
                repair,
            );
        }
    }
}

/// The entries of two maps that differ, as `+ PREFIX/key: …` (declared only), `~ PREFIX/key:
/// live …, declared …` and `- PREFIX/key: …` (live only).
fn keyed_changes<V>(
    prefix: &str,
    live: &BTreeMap<String, V>,
    declared: &BTreeMap<String, V>,
    describe: impl Fn(&V) -> String,
    same: impl Fn(&V, &V) -> bool,
) -> Vec<String> {
    let mut lines = Vec::new();
    for (key, want) in declared {
        match live.get(key) {
            None => lines.push(format!("+ {prefix}/{key}: {}", describe(want))),
            Some(have) if !same(have, want) => lines.push(format!(
                "~ {prefix}/{key}: live {}, declared {}",
                describe(have),
                describe(want)
            )),
            Some(_) => {}
        }
    }
    for (key, have) in live {
        if !declared.contains_key(key) {
            lines.push(format!("- {prefix}/{key}: {}", describe(have)));
        }
    }
    lines
}

fn stage_changes(live: &[Stage], declared: &[Stage], home: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let live_names: Vec<&str> = live.iter().map(|s| s.name.as_str()).collect();
    let declared_names: Vec<&str> = declared.iter().map(|s| s.name.as_str()).collect();
    for stage in declared {
        match live.iter().find(|s| s.name == stage.name) {
            None => lines.push(format!("+ Stages/{}", stage.name)),
            Some(have) => {
                action_changes(&mut lines, &stage.name, &have.actions, &stage.actions, home);
            }
        }
    }
    for stage in live {
        if !declared_names.contains(&stage.name.as_str()) {
            lines.push(format!("- Stages/{}", stage.name));
        }
    }
    let common = |names: &[&str], other: &[&str]| -> Vec<String> {
        names
            .iter()
            .filter(|n| other.contains(n))
            .map(|n| (*n).to_owned())
            .collect()
    };
    let (live_order, declared_order) = (
        common(&live_names, &declared_names),
        common(&declared_names, &live_names),
    );
    if live_order != declared_order {
        lines.push(format!(
            "~ stage order: live {}, declared {}",
            live_order.join(", "),
            declared_order.join(", ")
        ));
    }
    lines
}

fn action_changes(
    lines: &mut Vec<String>,
    stage: &str,
    live: &[PipelineAction],
    declared: &[PipelineAction],
    home: &str,
) {
    let live_names: BTreeSet<&str> = live.iter().map(|a| a.name.as_str()).collect();
    for action in declared {
        let path = format!("Stages/{stage}/Actions/{}", action.name);
        match live.iter().find(|a| a.name == action.name) {
            None => lines.push(format!("+ {path}")),
            Some(have) => {
                for (field, was, wanted) in field_changes(have, action, home) {
                    lines.push(format!("~ {path}/{field}: live {was}, declared {wanted}"));
                }
            }
        }
    }
    let declared_names: BTreeSet<&str> = declared.iter().map(|a| a.name.as_str()).collect();
    for name in live_names.difference(&declared_names) {
        lines.push(format!("- Stages/{stage}/Actions/{name}"));
    }
}

/// The fields of one action that differ: (field, live, declared).
fn field_changes(
    live: &PipelineAction,
    declared: &PipelineAction,
    home: &str,
) -> Vec<(String, String, String)> {
    let shown = |v: Option<&str>| v.map_or_else(|| "unset".to_owned(), str::to_owned);
    let list = |v: &[String]| {
        if v.is_empty() {
            "none".to_owned()
        } else {
            v.join(", ")
        }
    };
    let type_id =
        |a: &PipelineAction| format!("{}/{}/{}/{}", a.category, a.owner, a.provider, a.version);
    let mut out = Vec::new();
    let mut field = |name: &str, was: String, wanted: String| {
        if was != wanted {
            out.push((name.to_owned(), was, wanted));
        }
    };
    field("ActionTypeId", type_id(live), type_id(declared));
    field(
        "Region",
        live.region.as_deref().unwrap_or(home).to_owned(),
        declared.region.as_deref().unwrap_or(home).to_owned(),
    );
    field(
        "RoleArn",
        shown(live.role_arn.as_deref()),
        shown(declared.role_arn.as_deref()),
    );
    field(
        "RunOrder",
        live.run_order.to_string(),
        declared.run_order.to_string(),
    );
    field(
        "InputArtifacts",
        list(&live.input_artifacts),
        list(&declared.input_artifacts),
    );
    field(
        "OutputArtifacts",
        list(&live.output_artifacts),
        list(&declared.output_artifacts),
    );
    field(
        "Namespace",
        shown(live.namespace.as_deref()),
        shown(declared.namespace.as_deref()),
    );
    let keys: BTreeSet<&String> = live
        .configuration
        .keys()
        .chain(declared.configuration.keys())
        .collect();
    for key in keys {
        field(
            &format!("Configuration/{key}"),
            shown(live.configuration.get(key).map(String::as_str)),
            shown(declared.configuration.get(key).map(String::as_str)),
        );
    }
    out
}
