//! Drawings of a [`StackGraph`]: text waves, Graphviz DOT, Mermaid, and JSON data.

use std::fmt::Write as _;

use serde_json::json;

use super::{Node, Reason, StackGraph};

/// A node as the text drawing shows it: `name account region pass N`.
fn text_label(node: &Node) -> String {
    format!(
        "{} {} {} pass {}",
        node.stack.name, node.stack.account, node.stack.region, node.pass
    )
}

fn reason_kind(reason: &Reason) -> &'static str {
    match reason {
        Reason::Data { .. } => "data",
        Reason::Existence { .. } => "existence",
        Reason::EarlierPass => "pass",
    }
}

impl StackGraph {
    /// The waves as text: each node with what it waits for.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for (number, wave) in self.waves().iter().enumerate() {
            let _ = writeln!(out, "wave {}", number + 1);
            for &i in wave {
                let node = self.node(i);
                let _ = writeln!(out, "  {}", text_label(node));
                for p in self.predecessors(i) {
                    let _ = writeln!(out, "      after {}", text_label(self.node(p)));
                }
            }
        }
        out
    }

    /// The graph in Graphviz's DOT: a cluster per wave, each edge labelled with its reasons.
    pub fn to_dot(&self) -> String {
        let mut out = String::from("digraph plinth {\n  rankdir=TB;\n  node [shape=box];\n");
        for (number, wave) in self.waves().iter().enumerate() {
            let _ = writeln!(
                out,
                "  subgraph cluster_wave_{} {{\n    label=\"wave {}\";",
                number + 1,
                number + 1
            );
            for &i in wave {
                let n = self.node(i);
                let _ = writeln!(
                    out,
                    "    n{} [label=\"{}\\n{} {}\\npass {}\"];",
                    i.index(),
                    n.stack.name,
                    n.stack.account,
                    n.stack.region,
                    n.pass
                );
            }
            out.push_str("  }\n");
        }
        for (from, to, edge) in self.edges() {
            let kinds: Vec<&str> = edge.reasons.iter().map(reason_kind).collect();
            let _ = writeln!(
                out,
                "  n{} -> n{} [label=\"{}\"];",
                from.index(),
                to.index(),
                kinds.join(", ")
            );
        }
        out.push_str("}\n");
        out
    }

    /// The graph as a Mermaid flowchart: a subgraph per wave, each edge labelled.
    pub fn to_mermaid(&self) -> String {
        let mut out = String::from("flowchart TD\n");
        for (number, wave) in self.waves().iter().enumerate() {
            let _ = writeln!(
                out,
                "  subgraph wave{}[\"wave {}\"]",
                number + 1,
                number + 1
            );
            for &i in wave {
                let n = self.node(i);
                let _ = writeln!(
                    out,
                    "    n{}[\"{}<br/>{} {}<br/>pass {}\"]",
                    i.index(),
                    n.stack.name,
                    n.stack.account,
                    n.stack.region,
                    n.pass
                );
            }
            out.push_str("  end\n");
        }
        for (from, to, edge) in self.edges() {
            let kinds: Vec<&str> = edge.reasons.iter().map(reason_kind).collect();
            let _ = writeln!(
                out,
                "  n{} -->|{}| n{}",
                from.index(),
                kinds.join(", "),
                to.index()
            );
        }
        out
    }

    /// The graph as JSON: its waves of (stack, pass) and its edges with their reasons.
    pub fn to_json(&self) -> serde_json::Value {
        let waves: Vec<_> = self
            .waves()
            .iter()
            .enumerate()
            .map(|(number, wave)| {
                let nodes: Vec<_> = wave
                    .iter()
                    .map(|&i| {
                        let n = self.node(i);
                        json!({
                            "id": i.index(),
                            "stack": n.stack.name,
                            "key": n.stack.key,
                            "account": n.stack.account,
                            "region": n.stack.region,
                            "pass": n.pass,
                            "fragments": n.fragments,
                        })
                    })
                    .collect();
                json!({ "wave": number + 1, "nodes": nodes })
            })
            .collect();
        let edges: Vec<_> = self
            .edges()
            .into_iter()
            .map(|(from, to, edge)| json!({ "from": from.index(), "to": to.index(), "reasons": edge.reasons }))
            .collect();
        json!({ "waves": waves, "edges": edges })
    }
}
