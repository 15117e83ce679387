//! Desired versus deployed: a pure function from a [`Topology`] and a [`Deployed`] snapshot to
//! a [`Plan`] of small [`Action`]s, in graph order, with text diffs. A plan is data: it can be
//! printed, saved as JSON, and applied exactly as shown.

pub(crate) mod access;
pub(crate) mod adopt;
mod deployed;
mod destructive;
mod diff;
pub(crate) mod drift;
pub(crate) mod imports;
mod repairs;
pub(crate) mod resources;
pub(crate) mod units;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use deployed::{
    Deployed, DeployedStack, Finding, StackInstance, StackState, StackStatus, StackSummary,
    existing,
};
pub(crate) use destructive::Destruction;
pub use imports::ImportedResource;

use crate::graph::StackGraph;
use crate::layout::{StackKey, StackKind, StackSpec};
use crate::templates::limits::{LimitKind, Measure};
use crate::templates::{self, Placeholder, RenderedNode, canonical_json};
use crate::topology::Topology;

/// The largest `TemplateBody` CloudFormation accepts, in bytes of the compact JSON plinth sends.
pub(crate) const TEMPLATE_BODY_LIMIT: usize = 51_200;
/// The largest template CloudFormation takes from S3 by `TemplateURL`.
pub(crate) const TEMPLATE_URL_LIMIT: usize = 1_000_000;

/// A template over the `TemplateBody` limit, uploaded before its change and passed by URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TemplateUpload {
    /// The build account, which owns the bucket and makes the call.
    pub(crate) account: crate::topology::AccountId,
    /// The bucket's region.
    pub(crate) region: crate::topology::Region,
    /// The build bucket.
    pub(crate) bucket: String,
    /// The object's key, one per stack and pass.
    pub(crate) key: String,
    /// The object's URL, as CloudFormation's `TemplateURL` takes it.
    pub(crate) url: String,
}

/// The version of the plan's JSON form; raised on any incompatible change.
pub(crate) const PLAN_FORMAT_VERSION: u32 = 1;

/// The version of plinth, as a saved plan records it.
pub(crate) const PLINTH_VERSION: &str = env!("CARGO_PKG_VERSION");

/// What happens to one (stack, pass).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Create the stack.
    Create,
    /// Update the stack to the planned template, parameters and tags.
    Update,
    /// Delete a stack that cannot be updated (a failed create) and create it again.
    Replace,
    /// Delete the stack.
    Delete,
    /// CloudFormation is changing the stack now (another run, or one that was interrupted):
    /// wait for it to settle, then re-read it and update it if it still differs.
    Wait,
    /// Leave the stack as it is (its drift, if any, is still repaired).
    NoChange,
}

impl Action {
    /// The action in words, as the plan shows it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Replace => "replace",
            Action::Delete => "delete",
            Action::Wait => "wait",
            Action::NoChange => "no change",
        }
    }
}

/// A template parameter: known now, or filled at apply time from an upstream stack's output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PlannedParameter {
    /// The template's parameter.
    pub(crate) name: String,
    /// `None` until the upstream stack exists: "known after apply".
    pub(crate) value: Option<String>,
    /// The upstream stack and output it comes from.
    pub(crate) from: Placeholder,
}

/// What the plan shows of an update: the template, parameter and tag differences.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub(crate) struct Diff {
    /// A unified diff of the canonical (sorted, pretty) JSON templates; empty when equal.
    pub(crate) template: String,
    /// Parameters that change: name, before, after (`None`: known after apply).
    pub(crate) parameters: Vec<(String, Option<String>, Option<String>)>,
    /// Tags that change: key, before, after.
    pub(crate) tags: Vec<(String, Option<String>, Option<String>)>,
}

impl Diff {
    /// Whether nothing differs.
    pub(crate) fn is_empty(&self) -> bool {
        self.template.is_empty() && self.parameters.is_empty() && self.tags.is_empty()
    }
}

/// One step of a plan: a (stack, pass) and what happens to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// The stack, its name and place.
    pub(crate) stack: StackSpec,
    /// The pass of the stack (1, or 2 for what names resources of a later wave).
    pub(crate) pass: u32,
    /// The wave it runs in: every change of a wave can run at once.
    pub wave: u32,
    /// What happens to it.
    pub action: Action,
    /// Why, when it is not obvious (a replace, a second pass, a delete).
    pub(crate) reason: Option<String>,
    /// Indices (into `Plan::changes`) of the changes this one waits for.
    pub after: Vec<usize>,
    /// The stack id, for a stack that exists.
    pub(crate) stack_id: Option<String>,
    /// The template to send (canonical JSON); absent for deletes and no-ops.
    pub(crate) template: Option<String>,
    /// The template's parameters, with their values or where they come from.
    pub(crate) parameters: Vec<PlannedParameter>,
    /// The stack-level tags to send.
    pub(crate) tags: BTreeMap<String, String>,
    /// What an update changes; `None` for a create, a delete or no change.
    pub(crate) diff: Option<Diff>,
    /// For a template over the `TemplateBody` limit: where apply uploads it.
    #[serde(default)]
    pub(crate) template_upload: Option<TemplateUpload>,
    /// Properties of the stack's resources changed behind CloudFormation's back, each with the
    /// call that puts it back; on the stack's last pass only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) drift: Vec<drift::Drift>,
    /// What the change does to each resource of the stack: added, changed, replaced, removed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) resources: Vec<resources::ResourceChange>,
    /// For a StackSet: what happens to its instances.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) instances: Option<units::Instances>,
    /// Resources that exist outside any stack under names the stack declares: apply imports
    /// them into the stack first, then creates the rest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) import: Option<imports::Import>,
}

impl Change {
    /// The stack's label, with the pass unless the stack is deleted.
    pub(crate) fn label(&self) -> String {
        if self.action == Action::Delete {
            self.stack.to_string()
        } else {
            self.stack.pass_label(self.pass)
        }
    }
}

/// How many stacks each action touches (a stack with two passes counts once).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Summary {
    /// Stacks to create.
    pub(crate) create: usize,
    /// Stacks to update.
    pub(crate) update: usize,
    /// Stacks to delete and create again.
    pub(crate) replace: usize,
    /// Stacks to delete.
    pub(crate) delete: usize,
    /// Stacks CloudFormation is changing now, which apply waits for.
    #[serde(default)]
    pub(crate) wait: usize,
    /// Stacks that stay as they are.
    pub unchanged: usize,
    /// Resource properties that differ from their templates (counted with the stacks above).
    #[serde(default)]
    pub(crate) drifted: usize,
    /// Resources outside any stack that apply imports (counted with the stacks above).
    #[serde(default)]
    pub(crate) imported: usize,
    /// Stacks of the original foundation that apply releases or deletes.
    #[serde(default)]
    pub(crate) adopting: usize,
}

impl Summary {
    /// Whether apply would do anything: a stack to change, wait for, or repair.
    pub fn has_changes(&self) -> bool {
        self.create
            + self.update
            + self.replace
            + self.delete
            + self.wait
            + self.drifted
            + self.adopting
            > 0
    }
}

/// Whether a plan converges the foundation or tears it down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Converge the foundation to the topology.
    Apply,
    /// Remove everything of the foundation.
    Destroy,
}

/// What apply or destroy will do, stack by stack, with everything a reviewer needs to judge it.
#[must_use]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// The version of this JSON form ([`PLAN_FORMAT_VERSION`]).
    pub(crate) format_version: u32,
    /// The version of plinth that made the plan: a saved plan is applied and shown only by the
    /// same version, whose templates and rules it holds.
    #[serde(default)]
    pub(crate) plinth_version: String,
    /// Whether it converges or destroys.
    pub mode: Mode,
    /// The foundation's name.
    pub(crate) foundation: String,
    /// Every (stack, pass) and what happens to it, in graph order.
    pub changes: Vec<Change>,
    /// Buckets with plinth's names that no stack holds (left by a failed setup); destroy empties
    /// and deletes them.
    pub(crate) orphan_buckets: Vec<OrphanBucket>,
    /// Problems that would make apply fail; a plan with findings cannot be applied.
    pub findings: Vec<Finding>,
    /// Things worth knowing that do not stop apply.
    #[serde(default)]
    pub(crate) warnings: Vec<String>,
    /// The fullest documents against AWS's limits, fullest first.
    #[serde(default)]
    pub(crate) limits: Vec<Measure>,
    /// What each stack looked like when planned: `account/region/name` to `status@changed_at`
    /// (or `absent`). Applying a saved plan refuses when these no longer match.
    pub(crate) fingerprints: BTreeMap<String, String>,
    /// The counts of the summary line.
    pub summary: Summary,
    /// Whether the plan destroys a key, a bucket or a deploy role: `apply --yes` and
    /// `destroy --yes` then need `--allow-destructive`.
    #[serde(default)]
    pub destructive: bool,
    /// What it destroys, and what follows.
    #[serde(default)]
    pub(crate) destructions: Vec<Destruction>,
    /// Who gains or loses access to what, per account and role.
    #[serde(default)]
    pub(crate) access: Vec<access::AccessChange>,
    /// Which accounts the targets by organizational unit resolved to, who joined and who left.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) organization: Option<units::OrganizationAccounts>,
    /// With StackSets: the record of the accounts they serve, written when apply ends well.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) record: Option<units::RecordWrite>,
    /// With `[adopt]`: what becomes of each stack of the original foundation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) adoption: Option<adopt::Adoption>,
}

/// A bucket with one of plinth's names that no stack holds.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) struct OrphanBucket {
    /// The account that holds it.
    pub(crate) account: crate::topology::AccountId,
    /// Its region.
    pub(crate) region: crate::topology::Region,
    /// Its name.
    pub(crate) bucket: String,
}

impl Plan {
    /// Counts stacks (not passes) by the most significant thing that happens to them.
    fn summarise(changes: &[Change]) -> Summary {
        let mut per_stack: BTreeMap<(String, String, String), Action> = BTreeMap::new();
        let rank = |a: Action| match a {
            Action::NoChange => 0,
            Action::Wait => 1,
            Action::Update => 2,
            Action::Create => 3,
            Action::Replace => 4,
            Action::Delete => 5,
        };
        for c in changes {
            let key = (
                c.stack.account.to_string(),
                c.stack.region.to_string(),
                c.stack.name.clone(),
            );
            let entry = per_stack.entry(key).or_insert(c.action);
            if rank(c.action) > rank(*entry) {
                *entry = c.action;
            }
        }
        let mut s = Summary::default();
        for action in per_stack.values() {
            match action {
                Action::Create => s.create += 1,
                Action::Update => s.update += 1,
                Action::Replace => s.replace += 1,
                Action::Delete => s.delete += 1,
                Action::Wait => s.wait += 1,
                Action::NoChange => s.unchanged += 1,
            }
        }
        s.drifted = changes.iter().map(|c| c.drift.len()).sum();
        s.imported = changes
            .iter()
            .filter_map(|c| c.import.as_ref())
            .map(|i| i.resources.len())
            .sum();
        s
    }

    /// `Plan: N to create, N to update, … N unchanged.`, as the views end with it.
    pub(crate) fn summary_line(&self) -> String {
        let s = &self.summary;
        let replace = if s.replace > 0 {
            format!("{} to replace, ", s.replace)
        } else {
            String::new()
        };
        let wait = if s.wait > 0 {
            format!("{} to wait for, ", s.wait)
        } else {
            String::new()
        };
        let drifted = if s.drifted > 0 {
            format!(", {} drifted", s.drifted)
        } else {
            String::new()
        };
        let adopting = match s.adopting {
            0 => String::new(),
            1 => ", 1 original stack to adopt".to_owned(),
            n => format!(", {n} original stacks to adopt"),
        };
        let imported = match s.imported {
            0 => String::new(),
            1 => ", 1 resource to import".to_owned(),
            n => format!(", {n} resources to import"),
        };
        format!(
            "Plan: {} to create, {} to update, {replace}{} to delete, {wait}{} unchanged{drifted}{imported}{adopting}.",
            s.create, s.update, s.delete, s.unchanged
        )
    }

    /// The plan as its JSON document (docs/plan-json.md).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self)
            .expect("a plan of strings, numbers and JSON values serialises")
    }

    /// A plan from its JSON document.
    pub(crate) fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }
}

fn fingerprint(stack: Option<&DeployedStack>) -> String {
    match stack {
        Some(s) => format!("{}@{}", s.summary.status, s.summary.changed_at),
        None => "absent".to_owned(),
    }
}

fn place(spec: &StackSpec) -> String {
    format!("{}/{}/{}", spec.account, spec.region, spec.name)
}

/// The logical ids a template keeps when its stack is deleted (`DeletionPolicy: Retain`).
pub(crate) fn retained(template: &Value) -> BTreeSet<String> {
    template["Resources"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, r)| r["DeletionPolicy"] == "Retain")
        .map(|(logical, _)| logical.clone())
        .collect()
}

/// How many of the fullest documents a plan shows against their limits.
const FULLEST: usize = 5;

/// Every limited size of the rendered templates: the findings for those over AWS's limits, and
/// the fullest documents (policies and template bodies), fullest first.
pub(crate) fn limits(
    topology: &Topology,
    rendered: &[RenderedNode],
) -> (Vec<Finding>, Vec<Measure>) {
    let mut all: Vec<Measure> = rendered
        .iter()
        .flat_map(|node| {
            templates::limits::measure(
                &node.stack.pass_label(node.pass),
                node.stack.region.as_str(),
                &node.template.body(),
            )
        })
        .collect();
    let findings = all
        .iter()
        .filter(|m| m.exceeded() && m.kind != LimitKind::TemplateBody)
        .map(|measure| Finding::LimitExceeded {
            way_out: way_out(topology, measure.kind),
            measure: measure.clone(),
        })
        .collect();
    all.retain(|m| {
        !matches!(
            m.kind,
            LimitKind::Resources | LimitKind::Outputs | LimitKind::Parameters
        )
    });
    all.sort_by(|a, b| b.share().total_cmp(&a.share()));
    // one line per document: its last pass is the fullest
    let mut seen = BTreeSet::new();
    all.retain(|m| {
        let stack = m
            .stack
            .rsplit_once(" pass ")
            .map_or(m.stack.as_str(), |(s, _)| s);
        seen.insert((stack.to_owned(), m.kind, m.resource.clone()))
    });
    all.truncate(FULLEST);
    (findings, all)
}

fn way_out(topology: &Topology, kind: LimitKind) -> String {
    match kind {
        LimitKind::BucketPolicy | LimitKind::KeyPolicy if topology.organization_id.is_none() => {
            "set `organization_id` so that the grants name the organization, not every target account (see docs/foundation.md)".into()
        }
        LimitKind::BucketPolicy | LimitKind::KeyPolicy => {
            "split the targets over two foundations".into()
        }
        LimitKind::TrustPolicy | LimitKind::InlinePolicies | LimitKind::ManagedPolicy => {
            "deploy to this account from fewer pipelines or regions, or split the foundation".into()
        }
        LimitKind::TemplateBody
        | LimitKind::Resources
        | LimitKind::Outputs
        | LimitKind::Parameters => "split the pipeline's targets over several pipelines".into(),
    }
}

/// The fingerprints of what a plan depends on, from a fresh snapshot.
pub(crate) fn fingerprints(
    specs: impl IntoIterator<Item = StackSpec>,
    deployed: &Deployed,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for spec in specs {
        out.insert(place(&spec), fingerprint(deployed.find(&spec)));
    }
    for stack in &deployed.stacks {
        out.insert(place(&stack.spec), fingerprint(Some(stack)));
    }
    // The original foundation's stacks: the release a saved plan makes was planned from them.
    for old in &deployed.old_stacks {
        out.insert(
            format!("{}/{}/{}", old.account, old.region, old.summary.name),
            format!("{}@{}", old.summary.status, old.summary.changed_at),
        );
    }
    out
}

/// The plan that converges what is deployed to the topology.
pub fn plan(topology: &Topology, deployed: &Deployed) -> Plan {
    let topology = &topology.with_bucket_names(deployed.bucket_names(topology));
    let specs = crate::layout::stacks(topology);
    let existing: BTreeSet<StackKey> = specs
        .iter()
        .filter(|s| {
            deployed
                .find(s)
                .is_some_and(|d| d.summary.status.resources_exist() && !d.awaits_its_outputs())
        })
        .map(|s| s.key.clone())
        .collect();
    let graph = StackGraph::build(topology, &existing);
    let outputs = deployed.outputs_of(&specs);
    let rendered = templates::render_graph(topology, &graph);
    let mut findings = deployed.findings.clone();
    findings.extend(topology.unheld_pipeline_accounts().into_iter().map(
        |(pipeline, target, account)| {
            if topology.management.as_ref() == Some(&account) {
                Finding::ManagementAccountListed {
                    pipeline,
                    target,
                    account,
                }
            } else {
                Finding::UnitAccountMissing {
                    pipeline,
                    target,
                    account,
                }
            }
        },
    ));
    let (over, mut fullest) = limits(topology, &rendered);
    findings.extend(over);
    // A template over the TemplateBody limit goes by URL (or is a finding of its own).
    for measure in &mut fullest {
        if measure.kind == LimitKind::TemplateBody && measure.size > TEMPLATE_BODY_LIMIT {
            measure.limit = TEMPLATE_URL_LIMIT;
        }
    }
    fullest.sort_by(|a, b| b.share().total_cmp(&a.share()));

    let mut index_of: BTreeMap<(StackKey, u32), usize> = BTreeMap::new();
    let mut changes: Vec<Change> = Vec::new();
    let mut previous_template: BTreeMap<StackKey, String> = BTreeMap::new();
    for node in &rendered {
        let body = node.template.body();
        let bytes = body.to_string().len();
        // A template over the TemplateBody limit goes by URL from the build bucket: in the
        // build account (CloudFormation reads it with the caller's credentials), once the
        // bucket exists (the primary stack is there, or the stack is a pipeline, which waits for
        // it).
        let primary_there = deployed
            .find(&crate::layout::stacks(topology)[0])
            .is_some_and(|d| d.summary.status.resources_exist());
        let template_upload = (bytes > TEMPLATE_BODY_LIMIT
            && bytes <= TEMPLATE_URL_LIMIT
            && node.stack.account == topology.build.account
            && (primary_there || node.stack.key.kind() == StackKind::Pipeline))
            .then(|| {
                let key = crate::layout::template_object_key(&node.stack, node.pass);
                let bucket = topology.build_bucket();
                TemplateUpload {
                    account: topology.build.account.clone(),
                    region: topology.build.region.clone(),
                    url: crate::layout::object_url(&bucket, &topology.build.region, &key),
                    bucket,
                    key,
                }
            });
        if bytes > TEMPLATE_BODY_LIMIT && template_upload.is_none() {
            findings.push(Finding::TemplateTooLarge {
                stack: node.stack.name.clone(),
                bytes,
            });
        }
        let template = canonical_json(&body);
        let parameters: Vec<PlannedParameter> = node
            .template
            .placeholders
            .iter()
            .map(|p| PlannedParameter {
                name: p.parameter.clone(),
                value: outputs
                    .get(&p.stack)
                    .and_then(|o| o.get(&p.output))
                    .cloned(),
                from: p.clone(),
            })
            .collect();
        let current = deployed.find(&node.stack);
        let (action, reason, diff) = if node.pass > 1 {
            let before = previous_template
                .get(&node.stack.key)
                .cloned()
                .unwrap_or_default();
            (
                Action::Update,
                Some(
                    "second pass: adds what names resources created in an earlier wave".to_owned(),
                ),
                Some(Diff {
                    template: diff::unified(&before, &template),
                    ..Diff::default()
                }),
            )
        } else {
            match current {
                None => (Action::Create, None, None),
                Some(stack) => match stack.state() {
                    StackState::NeedsReplacement => (
                        Action::Replace,
                        Some(format!(
                            "the stack is {}{}; CloudFormation cannot update it, so it is deleted and created again",
                            stack.summary.status,
                            stack
                                .last_failure
                                .as_deref()
                                .or(stack.summary.status_reason.as_deref())
                                .map(|r| format!(" ({r})"))
                                .unwrap_or_default()
                        )),
                        None,
                    ),
                    StackState::InProgress
                        if stack.summary.status == StackStatus::DeleteInProgress =>
                    {
                        (
                            Action::Create,
                            Some(format!(
                                "the stack is {}: apply waits for the delete to finish, then creates it",
                                stack.summary.status
                            )),
                            None,
                        )
                    }
                    StackState::InProgress => {
                        let diff = diff::between(stack, &template, &parameters, &node.tags);
                        let then = if diff.is_empty() {
                            "then re-reads it and updates it only if it still differs"
                        } else {
                            "then updates it as shown"
                        };
                        (
                            Action::Wait,
                            Some(format!(
                                "CloudFormation is changing the stack ({}): apply waits for it to settle, {then}",
                                stack.summary.status
                            )),
                            (!diff.is_empty()).then_some(diff),
                        )
                    }
                    state => {
                        let diff = diff::between(stack, &template, &parameters, &node.tags);
                        let rollback = state == StackState::UpdateRollbackFailed;
                        let why = stack
                            .last_failure
                            .as_deref()
                            .map(|r| format!(" ({r})"))
                            .unwrap_or_default();
                        if diff.is_empty() && !rollback {
                            (Action::NoChange, None, None)
                        } else if rollback {
                            let reason = format!(
                                "the stack is UPDATE_ROLLBACK_FAILED{why}: its rollback is continued first"
                            );
                            (Action::Update, Some(reason), Some(diff))
                        } else if stack.summary.status == StackStatus::UpdateRollbackComplete {
                            let reason = format!(
                                "its last update failed and was rolled back{why}; apply tries it again"
                            );
                            (Action::Update, Some(reason), Some(diff))
                        } else {
                            (Action::Update, None, Some(diff))
                        }
                    }
                },
            }
        };
        let import = if node.pass == 1 && matches!(action, Action::Create | Action::Replace) {
            imports::import(&body, &deployed.outside_of(&node.stack))
        } else {
            None
        };
        let mut resource_changes = if action == Action::NoChange {
            Vec::new()
        } else {
            let before: Option<Value> = if node.pass > 1 {
                previous_template
                    .get(&node.stack.key)
                    .and_then(|t| serde_json::from_str(t).ok())
            } else if action == Action::Replace {
                None
            } else {
                current.and_then(|s| s.template.clone())
            };
            resources::between(
                before.as_ref(),
                &body,
                &node.stack.account,
                &node.stack.region,
            )
        };
        if let Some(import) = &import {
            for change in &mut resource_changes {
                if import
                    .resources
                    .iter()
                    .any(|r| r.logical_id == change.logical_id)
                {
                    change.action = resources::ResourceAction::Import;
                }
            }
        }
        previous_template.insert(node.stack.key.clone(), template.clone());
        let graph_index = graph
            .find(&node.stack.key, node.pass)
            .expect("rendered from the graph");
        let after = graph
            .predecessors(graph_index)
            .into_iter()
            .filter_map(|p| {
                let n = graph.node(p);
                index_of.get(&(n.stack.key.clone(), n.pass)).copied()
            })
            .collect();
        index_of.insert((node.stack.key.clone(), node.pass), changes.len());
        // A StackSet keeps its template: an update of its instances alone puts it again.
        let keeps_template = matches!(
            action,
            Action::Create | Action::Update | Action::Replace | Action::Wait
        ) || node.stack.key.kind() == StackKind::StackSet;
        changes.push(Change {
            stack: node.stack.clone(),
            pass: node.pass,
            wave: node.wave,
            action,
            reason,
            after,
            stack_id: current.map(|s| s.summary.id.clone()),
            template: keeps_template.then_some(template),
            parameters,
            tags: node.tags.clone(),
            diff,
            template_upload: template_upload.filter(|_| keeps_template),
            drift: Vec::new(),
            resources: resource_changes,
            instances: None,
            import,
        });
    }
    repairs::attach_drift(&mut changes, &rendered, deployed);
    repairs::defer_grants_to_created_roles(&mut changes);

    // Stacks of this foundation that the topology no longer implies.
    let wanted: BTreeSet<String> = specs.iter().map(place).collect();
    let converge: Vec<usize> = (0..changes.len()).collect();
    let last_wave = changes.iter().map(|c| c.wave).max().unwrap_or(0);
    let mut removals: Vec<&DeployedStack> = deployed
        .stacks
        .iter()
        .filter(|s| !wanted.contains(&place(&s.spec)))
        .collect();
    removals.sort_by_key(|s| (s.spec.key.kind() != StackKind::Pipeline, place(&s.spec)));
    let mut pipeline_deletes = Vec::new();
    for stack in removals {
        let is_pipeline = stack.spec.key.kind() == StackKind::Pipeline;
        // Pipelines go first; other stacks once everything that might still name them is updated.
        let after = if is_pipeline {
            Vec::new()
        } else {
            converge.iter().chain(&pipeline_deletes).copied().collect()
        };
        if is_pipeline {
            pipeline_deletes.push(changes.len());
        }
        changes.push(deletion(
            stack,
            if is_pipeline { 1 } else { last_wave + 1 },
            after,
            Some("no longer in the topology"),
        ));
    }
    units::plan_instances(topology, &mut changes, deployed);
    let adoption = adopt::plan(topology, &deployed.old_stacks);
    let mut summary = Plan::summarise(&changes);
    summary.adopting = adoption
        .iter()
        .flat_map(|a| &a.stacks)
        .filter(|s| s.changes_something())
        .count();
    let destructions = destructive::destructions(&changes, deployed);
    let access = access::changes(topology, &changes, deployed);
    Plan {
        format_version: PLAN_FORMAT_VERSION,
        plinth_version: PLINTH_VERSION.to_owned(),
        mode: Mode::Apply,
        foundation: topology.name.to_string(),
        changes,
        orphan_buckets: Vec::new(),
        findings,
        warnings: dropped_account_warnings(topology, deployed),
        limits: fullest,
        fingerprints: fingerprints(specs, deployed),
        summary,
        destructive: !destructions.is_empty(),
        destructions,
        access,
        organization: units::accounts(topology, deployed),
        record: units::record_write(topology, deployed),
        adoption,
    }
}

fn dropped_account_warnings(topology: &Topology, deployed: &Deployed) -> Vec<String> {
    let dropped = deployed.dropped_accounts.iter().map(|account| {
        let why = if topology.has_units() {
            "is no longer a target (it left its organizational unit, is excluded, or lost its entry)"
        } else {
            "is no longer in the topology"
        };
        format!(
            "account {account} {why}, so plinth cannot reach its {}-deploy stack; \
             to remove it, destroy it with the account still listed, or delete the stack in that account",
            topology.name
        )
    });
    let superseded = deployed
        .superseded_deploy_stacks
        .iter()
        .filter_map(|account| {
            let unit = topology.stack_set_of(account)?;
            let set = StackKey::StackSet {
                target: unit.name.clone(),
            }
            .stack_name(&topology.name);
            Some(format!(
                "account {account} now gets its deploy roles from StackSet {set}, but the last apply gave it plinth's own deploy stack {name}-deploy \
                 (deploy_roles = \"stacks\"), which plinth no longer reaches; delete that stack in the account \
                 (`aws cloudformation delete-stack --stack-name {name}-deploy --region {region}`), or the set's instance there fails on the same role names",
                name = topology.name,
                region = topology.build.region,
            ))
        });
    dropped.chain(superseded).collect()
}

fn deletion(stack: &DeployedStack, wave: u32, after: Vec<usize>, reason: Option<&str>) -> Change {
    Change {
        stack: stack.spec.clone(),
        pass: 1,
        wave,
        action: Action::Delete,
        reason: reason.map(str::to_owned),
        after,
        stack_id: Some(stack.summary.id.clone()),
        template: None,
        parameters: Vec::new(),
        tags: stack.summary.tags.clone(),
        diff: None,
        template_upload: None,
        drift: Vec::new(),
        resources: resources::between(
            stack.template.as_ref(),
            &Value::Null,
            &stack.spec.account,
            &stack.spec.region,
        )
        .into_iter()
        .filter(|r| r.action == resources::ResourceAction::Remove)
        .collect(),
        instances: None,
        import: None,
    }
}

/// The plan that removes everything of the foundation: pipelines first, then the deploy
/// stacks, then the stacks that hold buckets and keys; then buckets left outside any stack.
pub(crate) fn destroy(topology: &Topology, deployed: &Deployed) -> Plan {
    let mut stacks: Vec<&DeployedStack> = deployed.stacks.iter().collect();
    let order = |kind: StackKind| match kind {
        StackKind::Pipeline => 0,
        StackKind::Deploy | StackKind::StackSet => 1,
        StackKind::Primary | StackKind::Regional => 2,
    };
    stacks.sort_by_key(|s| (order(s.spec.key.kind()), place(&s.spec)));
    let mut changes: Vec<Change> = Vec::new();
    let mut earlier: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for stack in stacks {
        let rank = order(stack.spec.key.kind());
        let after: Vec<usize> = earlier
            .range(..rank)
            .flat_map(|(_, v)| v.iter().copied())
            .collect();
        earlier.entry(rank).or_default().push(changes.len());
        changes.push(deletion(stack, rank + 1, after, None));
    }
    units::plan_instances(topology, &mut changes, deployed);
    let summary = Plan::summarise(&changes);
    let access = access::changes(topology, &changes, deployed);
    let mut warnings = dropped_account_warnings(topology, deployed);
    warnings.extend(deployed.old_stacks.iter().map(|old| {
        format!(
            "{} in {} {} is the original foundation's, not plinth's: destroy leaves it{}",
            old.summary.name,
            old.account,
            old.region,
            if old.importers.is_empty() {
                String::new()
            } else {
                format!(
                    " (other stacks import its exports: {})",
                    old.importers.keys().cloned().collect::<Vec<_>>().join(", ")
                )
            }
        )
    }));
    for change in changes.iter().filter(|c| c.action == Action::Delete) {
        let Some(template) = deployed
            .find(&change.stack)
            .and_then(|s| s.template.as_ref())
        else {
            continue;
        };
        for logical in retained(template) {
            warnings.push(format!(
                "{logical} of {} ({} {}) is retained when its stack is deleted (DeletionPolicy Retain: the stack was made by an import and not updated since): destroy leaves it, with its contents",
                change.stack.name, change.stack.account, change.stack.region
            ));
        }
    }
    warnings.extend(deployed.adopted_outside.iter().map(|b| {
        format!(
            "bucket {} in {} {} keeps its objects outside any stack (an adoption stopped before plinth imported it): destroy leaves it",
            b.bucket, b.account, b.region
        )
    }));
    let mut destructions = destructive::destructions(&changes, deployed);
    destructions.extend(deployed.orphan_buckets.iter().map(|b| Destruction {
        stack: String::new(),
        account: b.account.clone(),
        region: b.region.clone(),
        resource_type: "AWS::S3::Bucket".into(),
        name: b.bucket.clone(),
        consequence: "the bucket, outside any stack, is emptied (every object version and delete marker) and deleted; its objects cannot be recovered".into(),
    }));
    Plan {
        format_version: PLAN_FORMAT_VERSION,
        plinth_version: PLINTH_VERSION.to_owned(),
        mode: Mode::Destroy,
        foundation: topology.name.to_string(),
        changes,
        orphan_buckets: deployed.orphan_buckets.clone(),
        findings: Vec::new(),
        warnings,
        limits: Vec::new(),
        fingerprints: fingerprints(Vec::new(), deployed),
        summary,
        // A destroy is destructive by nature, even of a foundation that holds nothing yet.
        destructive: true,
        access,
        destructions,
        organization: units::accounts(topology, deployed),
        record: None,
        adoption: None,
    }
}

#[cfg(test)]
mod tests;

/// How what is deployed differs from what a saved plan was made against: one line per stack.
pub(crate) fn stale(plan: &Plan, deployed: &Deployed) -> Vec<String> {
    let now = fingerprints(plan.changes.iter().map(|c| c.stack.clone()), deployed);
    let mut out = Vec::new();
    for (place, then) in &plan.fingerprints {
        let current = now.get(place).map_or("absent", String::as_str);
        if current != then {
            out.push(format!("{place}: was {then}, is now {current}"));
        }
    }
    for (place, current) in &now {
        if !plan.fingerprints.contains_key(place) {
            out.push(format!("{place}: was not there, is now {current}"));
        }
    }
    out
}
