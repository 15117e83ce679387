//! Drift on a plan's changes: the properties each stack's resources hold that differ from its
//! final template, attached to the stack's last change, and the grants to roles that apply
//! creates again moved to a change of their own after those roles.

use std::collections::BTreeMap;

use super::{Action, Change, Deployed, drift};
use crate::layout::StackKey;
use crate::templates::RenderedNode;

/// The drift of every stack whose live settings were read, against its final template, on its
/// last change: the properties that differ from what both the deployed and the planned template
/// declare (a property the update itself changes is CloudFormation's to write).
pub(super) fn attach_drift(changes: &mut [Change], rendered: &[RenderedNode], deployed: &Deployed) {
    let mut last: BTreeMap<&StackKey, usize> = BTreeMap::new();
    for (index, change) in changes.iter().enumerate() {
        if change.action != Action::Delete {
            last.insert(&change.stack.key, index);
        }
    }
    let mut found: Vec<(usize, Vec<drift::Drift>)> = Vec::new();
    for (key, index) in last {
        let change = &changes[index];
        let Some(stack) = deployed.find(&change.stack) else {
            continue;
        };
        let Some(live) = &stack.live else {
            continue;
        };
        let Some(node) = rendered.iter().rfind(|n| &n.stack.key == key) else {
            continue;
        };
        let mut parameters = stack.summary.parameters.clone();
        for p in &change.parameters {
            if let Some(value) = &p.value {
                parameters.insert(p.name.clone(), value.clone());
            }
        }
        let context = drift::Context::new(
            &change.stack.account,
            &change.stack.region,
            &parameters,
            live,
        );
        let mut drifts = drift::detect(&node.template.body(), live, &context);
        // Where the stack's own update changes a property, CloudFormation writes it: only what
        // the deployed template already declares as planned is drift for plinth to repair.
        if let Some(deployed_template) = &stack.template {
            let before = drift::Context::new(
                &change.stack.account,
                &change.stack.region,
                &stack.summary.parameters,
                live,
            );
            let unchanged = drift::detect(deployed_template, live, &before);
            drifts.retain(|d| unchanged.iter().any(|u| u.declares_the_same(d)));
        }
        if !drifts.is_empty() {
            found.push((index, drifts));
        }
    }
    for (index, drifts) in found {
        changes[index].drift = drifts;
    }
}

/// A policy put back to name a role that apply creates again (deleted by hand) is refused until
/// that role exists. Such repairs move out of their stack's change into one of their own, in a
/// wave after the changes that create the roles, so that each grant is put once its role exists
/// (and, as IAM propagates the new role, retried until the service accepts it).
pub(super) fn defer_grants_to_created_roles(changes: &mut Vec<Change>) {
    let created: Vec<(usize, String)> = changes
        .iter()
        .enumerate()
        .flat_map(|(index, change)| {
            change.drift.iter().filter_map(move |d| match &d.repair {
                drift::Repair::CreateRole { role, path, .. } => Some((
                    index,
                    format!(
                        "arn:{}:iam::{}:role{}{role}",
                        drift::partition(change.stack.region.as_str()),
                        change.stack.account,
                        path.as_deref().unwrap_or("/")
                    ),
                )),
                _ => None,
            })
        })
        .collect();
    if created.is_empty() {
        return;
    }
    let last_wave = changes.iter().map(|c| c.wave).max().unwrap_or(0);
    for index in 0..changes.len() {
        let names_created = |d: &drift::Drift| {
            d.repair.document().is_some_and(|document| {
                created
                    .iter()
                    .any(|(at, arn)| *at != index && document.contains(&format!("\"{arn}\"")))
            })
        };
        if !changes[index].drift.iter().any(names_created) {
            continue;
        }
        let (deferred, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut changes[index].drift)
            .into_iter()
            .partition(names_created);
        changes[index].drift = kept;
        let mut after: Vec<usize> = created.iter().map(|(at, _)| *at).collect();
        after.push(index);
        after.sort_unstable();
        after.dedup();
        let from = &changes[index];
        let grants = Change {
            stack: from.stack.clone(),
            pass: from.pass + 1,
            wave: last_wave + 1,
            action: Action::NoChange,
            reason: Some(
                "puts back the grants to roles that apply creates again in an earlier wave"
                    .to_owned(),
            ),
            after,
            stack_id: from.stack_id.clone(),
            template: None,
            parameters: Vec::new(),
            tags: from.tags.clone(),
            diff: None,
            template_upload: None,
            drift: deferred,
            resources: Vec::new(),
            instances: None,
            import: None,
        };
        changes.push(grants);
    }
}
