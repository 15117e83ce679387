//! CloudFormation templates, one module per stack kind, built as typed values and serialised
//! deterministically: the same topology always renders byte-identical JSON.
//!
//! Values that exist only once an upstream stack exists (the artifact key ARNs, the sync
//! function's ARN) are template parameters; each is a `Placeholder` that names the stack and
//! output that fills it. Everything else (bucket names, role ARNs) is derived from the topology.
//! Least privilege is part of the design: every statement names its actions and resources; the
//! only `*` resources are CodePipeline's job-result actions and key policies, where `*` means
//! "this key". Pure: no I/O.

pub mod code;
mod deploy;
pub(crate) mod limits;
mod pipeline;
pub(crate) mod policy;
mod primary;
pub(crate) mod schemas;
mod storage;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::graph::{Fragment, StackGraph};
use crate::layout::{StackKey, StackSpec};
use crate::topology::{Region, Topology};

/// The artifact sync function's source, embedded at build time.
pub const ARTIFACT_SYNC_SOURCE: &str = include_str!("artifact_sync.py");
#[cfg(test)]
/// CloudFormation's limit for inline function code (`Code.ZipFile`).
pub(crate) const INLINE_CODE_LIMIT: usize = 4096;

/// A value that a template takes as a parameter and that a later step fills from a real output.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) struct Placeholder {
    /// The template's parameter.
    pub(crate) parameter: String,
    /// The stack whose output fills it.
    pub(crate) stack: StackKey,
    /// That output's name.
    pub(crate) output: String,
}

/// A template under construction and, once built, as rendered.
#[derive(Debug, Clone, Default)]
pub(crate) struct Template {
    /// The template's `Description`.
    pub(crate) description: String,
    /// Its parameters, each filled from an upstream stack's output.
    pub(crate) placeholders: Vec<Placeholder>,
    /// Its resources by logical id.
    pub(crate) resources: BTreeMap<String, Value>,
    /// Its outputs by name.
    pub(crate) outputs: BTreeMap<String, Value>,
}

impl Template {
    fn new(description: String) -> Self {
        Self {
            description,
            ..Self::default()
        }
    }

    fn resource(&mut self, logical_id: &str, value: Value) {
        self.resources.insert(logical_id.to_owned(), value);
    }

    fn output(&mut self, name: &str, description: &str, value: Value) {
        self.outputs.insert(
            name.to_owned(),
            json!({ "Description": description, "Value": value }),
        );
    }

    /// A parameter filled from another stack's output; returns a `Ref` to it.
    fn placeholder(&mut self, parameter: String, stack: StackKey, output: &str) -> Value {
        let placeholder = Placeholder {
            parameter: parameter.clone(),
            stack,
            output: output.to_owned(),
        };
        if !self.placeholders.contains(&placeholder) {
            self.placeholders.push(placeholder);
            self.placeholders.sort();
        }
        json!({ "Ref": parameter })
    }

    /// The template document.
    pub(crate) fn body(&self) -> Value {
        let mut body = Map::new();
        body.insert("AWSTemplateFormatVersion".into(), json!("2010-09-09"));
        body.insert("Description".into(), json!(self.description));
        if !self.placeholders.is_empty() {
            let parameters: Map<String, Value> = self
                .placeholders
                .iter()
                .map(|p| {
                    (
                        p.parameter.clone(),
                        json!({
                            "Type": "String",
                            "Description": format!("Filled by plinth from output {} of the {} stack", p.output, p.stack.describe()),
                        }),
                    )
                })
                .collect();
            body.insert("Parameters".into(), Value::Object(parameters));
        }
        body.insert(
            "Resources".into(),
            Value::Object(self.resources.clone().into_iter().collect()),
        );
        if !self.outputs.is_empty() {
            body.insert(
                "Outputs".into(),
                Value::Object(self.outputs.clone().into_iter().collect()),
            );
        }
        Value::Object(body)
    }
}

/// Serialises JSON with sorted keys and two-space indentation: the canonical form that plinth
/// renders, diffs and compares.
/// The value with every object's keys in order, so that equal documents have one text.
pub(crate) fn sorted_keys(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let sorted: BTreeMap<&String, Value> =
                map.iter().map(|(k, v)| (k, sorted_keys(v))).collect();
            Value::Object(sorted.into_iter().map(|(k, v)| (k.clone(), v)).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted_keys).collect()),
        other => other.clone(),
    }
}

/// JSON with sorted keys, pretty and ending in a newline: the form plans diff and show, so that
/// two equal templates are the same text.
pub(crate) fn canonical_json(value: &Value) -> String {
    let mut text =
        serde_json::to_string_pretty(&sorted_keys(value)).expect("a JSON value serialises");
    text.push('\n');
    text
}

/// Output names that other stacks read.
pub(crate) mod outputs {
    /// The artifact key of a primary or regional stack, which deploy stacks and pipelines name.
    pub(crate) const ARTIFACT_KEY_ARN: &str = "ArtifactKeyArn";
    /// The artifact bucket of a primary or regional stack.
    pub(crate) const ARTIFACT_BUCKET: &str = "ArtifactBucketName";
    /// The build bucket, of the primary stack.
    pub(crate) const BUILD_BUCKET: &str = "BuildBucketName";
    /// The sync function, of the primary stack, which pipelines invoke.
    pub(crate) const SYNC_FUNCTION_ARN: &str = "SyncFunctionArn";
    /// The primary stack's record of the foundation's regions.
    pub(crate) const FOUNDATION_REGIONS: &str = "FoundationRegions";
    /// The primary stack's record of the target accounts with deploy stacks.
    pub(crate) const FOUNDATION_ACCOUNTS: &str = "FoundationAccounts";
    /// A deploy stack's pipeline role.
    pub(crate) const PIPELINE_ROLE_ARN: &str = "PipelineRoleArn";
    /// A deploy stack's CloudFormation role.
    pub(crate) const CLOUDFORMATION_ROLE_ARN: &str = "CloudFormationRoleArn";
    /// A pipeline stack's CodePipeline.
    pub(crate) const PIPELINE_NAME: &str = "PipelineName";
}

/// A `Ref` to the artifact key of a region, from inside a template: the key itself when the
/// template is the stack that holds it, a placeholder otherwise.
fn artifact_key(
    template: &mut Template,
    topology: &Topology,
    here: &StackKey,
    region: &Region,
) -> Value {
    let holder = crate::layout::artifact_stack(topology, region);
    if holder == *here {
        json!({ "Fn::GetAtt": ["ArtifactKey", "Arn"] })
    } else {
        template.placeholder(
            format!("ArtifactKeyArn{}", region.camel()),
            holder,
            outputs::ARTIFACT_KEY_ARN,
        )
    }
}

/// Renders the template of a stack holding the given fragments.
pub(crate) fn render(topology: &Topology, stack: &StackSpec, fragments: &[Fragment]) -> Template {
    match &stack.key {
        StackKey::Primary | StackKey::Regional { .. } => {
            primary::render(topology, stack, fragments)
        }
        StackKey::Deploy { account } => deploy::render(topology, account),
        StackKey::StackSet { target } => deploy::render_stack_set(topology, target),
        StackKey::Pipeline { pipeline } => pipeline::render(topology, pipeline),
    }
}

/// A (stack, pass) of the graph with its template.
#[derive(Debug, Clone)]
pub(crate) struct RenderedNode {
    /// The stack.
    pub(crate) stack: StackSpec,
    /// Its pass.
    pub(crate) pass: u32,
    /// The wave the pass runs in.
    pub(crate) wave: u32,
    /// The template of the pass: the fragments of every pass up to it.
    pub(crate) template: Template,
    /// The stack-level tags.
    pub(crate) tags: BTreeMap<String, String>,
}

/// Renders every node of the graph, in wave order.
pub(crate) fn render_graph(topology: &Topology, graph: &StackGraph) -> Vec<RenderedNode> {
    graph
        .waves()
        .into_iter()
        .flatten()
        .map(|index| {
            let node = graph.node(index);
            let fragments = graph.fragments_through(&node.stack.key, node.pass);
            RenderedNode {
                stack: node.stack.clone(),
                pass: node.pass,
                wave: node.wave,
                template: render(topology, &node.stack, &fragments),
                tags: crate::layout::tags(topology, &node.stack.key),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
