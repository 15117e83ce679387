//! The stack graph: which (stack, pass) runs after which, and why.
//!
//! Nodes are (stack, pass); edges carry their reason: an output one stack needs from another
//! (data), or a principal that must exist before a policy may name it (existence). Passes are
//! derived, not hard-coded: every stack is made of *fragments* (its core, the artifact-bucket
//! grants for one account, the sync function), each with its own requirements. A fragment whose
//! requirements are not met by the time its stack's core runs is moved to a later pass of the
//! same stack. For a fresh foundation that yields the waves of `foundation.md`: three without
//! pipelines, four with. Pure: no I/O.

mod render;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use petgraph::graph::{DiGraph, NodeIndex};
use serde::{Deserialize, Serialize};

use crate::layout::{self, StackKey, StackSpec, artifact_stack};
use crate::topology::{AccountId, Region, Topology};

/// A part of a stack's template that can be applied in a later pass than the rest.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "fragment", rename_all = "snake_case")]
pub(crate) enum Fragment {
    /// Everything that needs nothing that the stack's own pass cannot already have.
    Core,
    /// The artifact sync function and its role, which may read the primary artifacts (primary stack).
    Sync,
    /// The sync function's permission to write one region's artifact bucket with its key.
    SyncTo {
        /// The region written to.
        region: Region,
    },
    /// Artifact-bucket statements granting one target account's deploy roles.
    Grants {
        /// The account whose roles are granted.
        account: AccountId,
    },
}

/// Why one node must wait for another.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub(crate) enum Reason {
    /// A value from the other stack's outputs.
    Data {
        /// The output, with its region.
        output: String,
    },
    /// A principal (or a grant to it) that must exist before this stack names it.
    Existence {
        /// The principal, in words.
        principal: String,
    },
    /// The earlier pass of the same stack.
    EarlierPass,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Data { output } => write!(f, "needs output {output}"),
            Reason::Existence { principal } => write!(f, "needs {principal} to exist"),
            Reason::EarlierPass => f.write_str("earlier pass"),
        }
    }
}

/// A stack with its fragments and what each requires.
type StackParts = (StackSpec, Vec<(Fragment, Vec<Requirement>)>);

struct Requirement {
    on: (StackKey, Fragment),
    reason: Reason,
}

fn requirement(stack: StackKey, fragment: Fragment, reason: Reason) -> Requirement {
    Requirement {
        on: (stack, fragment),
        reason,
    }
}

/// The fragment of an artifact stack that grants an account's deploy roles: one per account
/// when the grants name the roles (so each waits for its roles to exist), the core itself when
/// they name the organization (which needs no role to exist).
fn grants_of(topology: &Topology, account: &AccountId) -> Fragment {
    if topology.organization_id.is_some() {
        Fragment::Core
    } else {
        Fragment::Grants {
            account: account.clone(),
        }
    }
}

/// The fragments a stack is made of.
fn fragments(topology: &Topology, key: &StackKey) -> Vec<Fragment> {
    let grants = || {
        topology
            .target_accounts()
            .into_iter()
            .map(|account| grants_of(topology, &account))
            .filter(|f| *f != Fragment::Core)
    };
    match key {
        StackKey::Primary => [Fragment::Core, Fragment::Sync]
            .into_iter()
            .chain(
                topology
                    .regional_regions()
                    .into_iter()
                    .map(|region| Fragment::SyncTo { region }),
            )
            .chain(grants())
            .collect(),
        StackKey::Regional { .. } => std::iter::once(Fragment::Core).chain(grants()).collect(),
        StackKey::Deploy { .. } | StackKey::Pipeline { .. } | StackKey::StackSet { .. } => {
            vec![Fragment::Core]
        }
    }
}

fn requirements(topology: &Topology, key: &StackKey, fragment: &Fragment) -> Vec<Requirement> {
    let key_arn = |region: &Region| {
        requirement(
            artifact_stack(topology, region),
            Fragment::Core,
            Reason::Data {
                output: format!("ArtifactKeyArn ({region})"),
            },
        )
    };
    let roles_of = |account: &AccountId| Reason::Existence {
        principal: format!("the deploy roles of account {account}"),
    };
    match (key, fragment) {
        (StackKey::Primary | StackKey::Regional { .. }, Fragment::Core) => Vec::new(),
        (StackKey::Primary, Fragment::Sync) => Vec::new(),
        (StackKey::Primary, Fragment::SyncTo { region }) => vec![key_arn(region)],
        (_, Fragment::Grants { account }) => vec![requirement(
            StackKey::Deploy {
                account: account.clone(),
            },
            Fragment::Core,
            roles_of(account),
        )],
        (StackKey::Deploy { .. } | StackKey::StackSet { .. }, _) => {
            topology.regions().iter().map(key_arn).collect()
        }
        (StackKey::Pipeline { pipeline }, _) => {
            let Some(pipeline) = topology.pipelines.iter().find(|p| &p.name == pipeline) else {
                return Vec::new();
            };
            let reach = layout::pipeline_reach(topology, pipeline);
            // Sorted, so that edges are added in the same order whatever the topology's order.
            let regions: BTreeSet<&Region> = reach.regions.iter().collect();
            let accounts: BTreeSet<&AccountId> = reach.accounts.iter().collect();
            let mut out: Vec<Requirement> = regions.iter().map(|r| key_arn(r)).collect();
            if reach.uses_sync {
                out.push(requirement(
                    StackKey::Primary,
                    Fragment::Sync,
                    Reason::Data {
                        output: "SyncFunctionArn".into(),
                    },
                ));
                for region in regions.iter().filter(|r| **r != &topology.build.region) {
                    out.push(requirement(
                        StackKey::Primary,
                        Fragment::SyncTo {
                            region: (*region).clone(),
                        },
                        Reason::Existence {
                            principal: format!("the sync function's access to {region}"),
                        },
                    ));
                }
            }
            for account in accounts {
                out.push(requirement(
                    layout::deploy_roles_holder(topology, account),
                    Fragment::Core,
                    roles_of(account),
                ));
                for region in &regions {
                    out.push(requirement(
                        artifact_stack(topology, region),
                        grants_of(topology, account),
                        Reason::Existence {
                            principal: format!(
                                "the artifact grants for account {account} ({region})"
                            ),
                        },
                    ));
                }
            }
            out
        }
        (StackKey::Regional { .. }, Fragment::Sync | Fragment::SyncTo { .. }) => Vec::new(),
    }
}

/// One (stack, pass) of the graph.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Node {
    /// The stack.
    pub(crate) stack: StackSpec,
    /// The pass, from 1.
    pub(crate) pass: u32,
    /// The wave it runs in, from 1: one more than the latest wave it waits for.
    pub(crate) wave: u32,
    /// The fragments this pass adds (the template of a pass holds those of every pass up to it).
    pub(crate) fragments: Vec<Fragment>,
}

/// Why one node waits for another: every reason, since one edge can carry several.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Edge {
    /// The reasons, in order.
    pub(crate) reasons: Vec<Reason>,
}

/// The (stack, pass) graph of a topology.
#[derive(Debug, Clone)]
pub struct StackGraph {
    graph: DiGraph<Node, Edge>,
}

impl StackGraph {
    /// Builds the graph. `existing` names stacks that are deployed and healthy: a fragment that
    /// needs only those can go into its stack's first pass.
    pub(crate) fn build(topology: &Topology, existing: &BTreeSet<StackKey>) -> Self {
        let specs = layout::stacks(topology);
        let in_graph: BTreeSet<&StackKey> = specs.iter().map(|s| &s.key).collect();
        // Requirements on stacks outside the graph, or already deployed, need no ordering.
        let pending = |r: &Requirement| {
            in_graph.contains(&r.on.0) && !(r.on.1 == Fragment::Core && existing.contains(&r.on.0))
        };
        let all: Vec<StackParts> = specs
            .iter()
            .map(|spec| {
                let parts = fragments(topology, &spec.key)
                    .into_iter()
                    .map(|f| {
                        let reqs = requirements(topology, &spec.key, &f);
                        (f, reqs)
                    })
                    .collect();
                (spec.clone(), parts)
            })
            .collect();

        // The wave of the node holding each fragment; raised until nothing moves. The fragment
        // graph is acyclic, so this settles within as many rounds as there are fragments.
        let mut wave: BTreeMap<(StackKey, Fragment), u32> = BTreeMap::new();
        let mut pass_of: BTreeMap<(StackKey, Fragment), u32> = BTreeMap::new();
        let rounds = all.iter().map(|(_, p)| p.len()).sum::<usize>() + 1;
        for _ in 0..rounds {
            let mut changed = false;
            for (spec, parts) in &all {
                let ready = |reqs: &[Requirement]| {
                    reqs.iter()
                        .filter(|r| pending(r))
                        .map(|r| wave.get(&r.on).copied().unwrap_or(1))
                        .max()
                };
                let core_wave = parts
                    .iter()
                    .filter(|(f, _)| *f == Fragment::Core)
                    .filter_map(|(_, reqs)| ready(reqs))
                    .max()
                    .map_or(1, |w| w + 1);
                let mut later = Vec::new();
                let mut placed = Vec::new();
                for (fragment, reqs) in parts {
                    match (fragment, ready(reqs)) {
                        (Fragment::Core, _) | (_, None) => placed.push((fragment, core_wave, 1)),
                        (_, Some(w)) if w < core_wave => placed.push((fragment, core_wave, 1)),
                        (_, Some(w)) => later.push((fragment, w + 1)),
                    }
                }
                let second = later.iter().map(|(_, w)| *w).max();
                placed.extend(later.iter().map(|(f, _)| (*f, second.unwrap_or(0), 2)));
                for (fragment, w, pass) in placed {
                    let key = (spec.key.clone(), fragment.clone());
                    if wave.get(&key) != Some(&w) {
                        changed = true;
                        wave.insert(key.clone(), w);
                    }
                    pass_of.insert(key, pass);
                }
            }
            if !changed {
                break;
            }
        }

        let mut graph = DiGraph::new();
        let mut index: BTreeMap<(StackKey, u32), NodeIndex> = BTreeMap::new();
        for (spec, parts) in &all {
            for pass in [1, 2] {
                let fragments: Vec<Fragment> = parts
                    .iter()
                    .map(|(f, _)| f)
                    .filter(|f| pass_of[&(spec.key.clone(), (*f).clone())] == pass)
                    .cloned()
                    .collect();
                if fragments.is_empty() {
                    continue;
                }
                let node_wave = wave[&(spec.key.clone(), fragments[0].clone())];
                let node = Node {
                    stack: spec.clone(),
                    pass,
                    wave: node_wave,
                    fragments,
                };
                index.insert((spec.key.clone(), pass), graph.add_node(node));
            }
        }
        let add_edge =
            |graph: &mut DiGraph<Node, Edge>, from: NodeIndex, to: NodeIndex, reason: Reason| {
                match graph.find_edge(from, to) {
                    Some(e) => {
                        let reasons = &mut graph[e].reasons;
                        if !reasons.contains(&reason) {
                            reasons.push(reason);
                            reasons.sort();
                        }
                    }
                    None => {
                        graph.add_edge(
                            from,
                            to,
                            Edge {
                                reasons: vec![reason],
                            },
                        );
                    }
                }
            };
        for (spec, parts) in &all {
            if let Some(&second) = index.get(&(spec.key.clone(), 2)) {
                add_edge(
                    &mut graph,
                    index[&(spec.key.clone(), 1)],
                    second,
                    Reason::EarlierPass,
                );
            }
            for (fragment, reqs) in parts {
                let to = index[&(
                    spec.key.clone(),
                    pass_of[&(spec.key.clone(), fragment.clone())],
                )];
                for r in reqs.iter().filter(|r| pending(r)) {
                    let from = index[&(r.on.0.clone(), pass_of[&r.on])];
                    add_edge(&mut graph, from, to, r.reason.clone());
                }
            }
        }
        StackGraph { graph }
    }

    /// The node at an index.
    pub(crate) fn node(&self, index: NodeIndex) -> &Node {
        &self.graph[index]
    }

    #[cfg(test)]
    /// Every node's index.
    pub(crate) fn indices(&self) -> impl Iterator<Item = NodeIndex> + '_ {
        self.graph.node_indices()
    }

    /// The nodes a node waits for.
    pub(crate) fn predecessors(&self, index: NodeIndex) -> Vec<NodeIndex> {
        let mut out: Vec<_> = self
            .graph
            .neighbors_directed(index, petgraph::Direction::Incoming)
            .collect();
        out.sort();
        out
    }

    /// Every edge: the node waited for, the node that waits, and why.
    pub(crate) fn edges(&self) -> Vec<(NodeIndex, NodeIndex, &Edge)> {
        use petgraph::visit::EdgeRef;
        self.graph
            .edge_references()
            .map(|e| (e.source(), e.target(), e.weight()))
            .collect()
    }

    #[cfg(test)]
    /// Whether no node waits for itself through others (it never does: a test holds it).
    pub(crate) fn is_acyclic(&self) -> bool {
        !petgraph::algo::is_cyclic_directed(&self.graph)
    }

    /// Node indices grouped by wave, in wave order; inside a wave in stack order.
    pub(crate) fn waves(&self) -> Vec<Vec<NodeIndex>> {
        let mut by_wave: BTreeMap<u32, Vec<NodeIndex>> = BTreeMap::new();
        for i in self.graph.node_indices() {
            by_wave.entry(self.graph[i].wave).or_default().push(i);
        }
        by_wave.into_values().collect()
    }

    /// The node of a stack's pass.
    pub(crate) fn find(&self, key: &StackKey, pass: u32) -> Option<NodeIndex> {
        self.graph
            .node_indices()
            .find(|&i| self.graph[i].stack.key == *key && self.graph[i].pass == pass)
    }

    /// The fragments a stack's template holds after the given pass.
    pub(crate) fn fragments_through(&self, key: &StackKey, pass: u32) -> Vec<Fragment> {
        let mut out: Vec<Fragment> = self
            .graph
            .node_weights()
            .filter(|n| n.stack.key == *key && n.pass <= pass)
            .flat_map(|n| n.fragments.iter().cloned())
            .collect();
        out.sort();
        out
    }

    #[cfg(test)]
    /// The number of passes of a stack.
    pub(crate) fn passes(&self, key: &StackKey) -> u32 {
        self.graph
            .node_weights()
            .filter(|n| n.stack.key == *key)
            .map(|n| n.pass)
            .max()
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests;
