//! Text diffs of templates, parameters and tags, via `similar`.

use std::collections::BTreeMap;

use similar::TextDiff;

use super::{DeployedStack, Diff, PlannedParameter};
use crate::templates::canonical_json;

/// A unified diff of two texts; empty when they are equal.
pub(crate) fn unified(before: &str, after: &str) -> String {
    if before == after {
        return String::new();
    }
    TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(3)
        .header("deployed", "planned")
        .to_string()
}

/// What differs between a deployed stack and the planned template, parameters and tags.
pub(crate) fn between(
    stack: &DeployedStack,
    template: &str,
    parameters: &[PlannedParameter],
    tags: &BTreeMap<String, String>,
) -> Diff {
    let deployed_template = stack
        .template
        .as_ref()
        .map(canonical_json)
        .unwrap_or_default();
    let mut parameter_changes = Vec::new();
    for p in parameters {
        let declared = stack
            .template
            .as_ref()
            .is_some_and(|t| t["Parameters"].get(&p.name).is_some());
        let before = stack
            .summary
            .parameters
            .get(&p.name)
            .filter(|_| declared)
            .cloned();
        if before != p.value || p.value.is_none() {
            parameter_changes.push((p.name.clone(), before, p.value.clone()));
        }
    }
    // A parameter the deployed template no longer declares is covered by the template diff.
    let mut tag_changes = Vec::new();
    for (key, value) in tags {
        let before = stack.summary.tags.get(key);
        if before != Some(value) {
            tag_changes.push((key.clone(), before.cloned(), Some(value.clone())));
        }
    }
    Diff {
        template: unified(&deployed_template, template),
        parameters: parameter_changes,
        tags: tag_changes,
    }
}
