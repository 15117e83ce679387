//! The human view of a plan: stacks grouped by wave, diffs, findings, the summary line.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::Style;
use crate::plan::{Action, Change, Mode, Plan};

fn marker(style: &Style, action: Action) -> String {
    match action {
        Action::Create => style.green("+ create "),
        Action::Update => style.yellow("~ update "),
        Action::Replace => style.red("-/+ replace"),
        Action::Delete => style.red("- delete "),
        Action::Wait => style.yellow("* wait   "),
        Action::NoChange => style.dim("= no change"),
    }
}

fn value(v: Option<&String>) -> String {
    v.cloned()
        .unwrap_or_else(|| "(known after apply)".to_owned())
}

fn diff_lines(style: &Style, out: &mut String, text: &str) {
    for line in text.lines() {
        let painted = if line.starts_with("+++") || line.starts_with("---") {
            style.bold(line)
        } else if line.starts_with('+') {
            style.green(line)
        } else if line.starts_with('-') {
            style.red(line)
        } else if line.starts_with("@@") {
            style.cyan(line)
        } else {
            line.to_owned()
        };
        let _ = writeln!(out, "        {painted}");
    }
}

/// How much of a plan the human view shows.
#[derive(Debug, Clone, Copy, Default)]
pub struct Detail {
    /// Show the unified diff of each template too, not only the resources that change.
    pub template_diff: bool,
}

fn resources(style: &Style, out: &mut String, c: &Change) {
    use crate::plan::resources::ResourceAction;
    for r in &c.resources {
        let mark = match r.action {
            ResourceAction::Add => style.green("+"),
            ResourceAction::Change => style.yellow("~"),
            ResourceAction::Replace => style.red("-/+"),
            ResourceAction::Remove => style.red("-"),
            ResourceAction::Import => style.green("<="),
        };
        let replaced = match r.action {
            ResourceAction::Replace => style.red(" (replaced)"),
            ResourceAction::Import => {
                let identifier = c
                    .import
                    .iter()
                    .flat_map(|i| &i.resources)
                    .find(|i| i.logical_id == r.logical_id)
                    .map(|i| format!(" {}", i.identifier_text()))
                    .unwrap_or_default();
                format!(" imported:{identifier}; kept, with its contents, then set as declared")
            }
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "      {mark} {} ({}){replaced}",
            r.logical_id, r.resource_type
        );
        for p in &r.properties {
            let forces = if p.replaces {
                " (forces replacement)"
            } else {
                ""
            };
            match (&p.before, &p.after, p.details.is_empty()) {
                (_, _, false) => {
                    let _ = writeln!(out, "          {}:{forces}", p.name);
                    for line in &p.details {
                        let painted = if line.starts_with('+') {
                            style.green(line)
                        } else if line.starts_with('-') {
                            style.red(line)
                        } else {
                            style.yellow(line)
                        };
                        let _ = writeln!(out, "            {painted}");
                    }
                }
                (before, after, true) => {
                    let _ = writeln!(
                        out,
                        "          {}: {} -> {}{forces}",
                        p.name,
                        before.as_deref().unwrap_or("(none)"),
                        after.as_deref().unwrap_or("(none)")
                    );
                }
            }
        }
    }
}

pub(super) fn change(style: &Style, out: &mut String, c: &Change, detail: Detail) {
    let mark = if c.action == Action::NoChange && !c.drift.is_empty() {
        style.yellow("! drifted ")
    } else {
        marker(style, c.action)
    };
    let _ = writeln!(out, "  {mark} {}", c.label());
    if !c.drift.is_empty() {
        let _ = writeln!(
            out,
            "      drift (changed outside CloudFormation; apply puts it back as declared):"
        );
        for d in &c.drift {
            let _ = writeln!(
                out,
                "        {} {} ({}): {}",
                style.yellow("!"),
                d.resource,
                d.resource_type,
                d.property
            );
            let _ = writeln!(out, "            live:     {}", d.live);
            let _ = writeln!(out, "            declared: {}", d.declared);
            for line in &d.details {
                let painted = if line.starts_with('+') {
                    style.green(line)
                } else {
                    style.red(line)
                };
                let _ = writeln!(out, "            {painted}");
            }
        }
    }
    if let Some(reason) = &c.reason {
        let _ = writeln!(out, "      {}", style.dim(reason));
    }
    if let Some(instances) = &c.instances {
        stack_set_instances(style, out, c, instances);
    }
    if let Some(upload) = &c.template_upload {
        let _ = writeln!(
            out,
            "      {}",
            style.dim(&format!(
                "the template is over CloudFormation's 51,200-byte TemplateBody limit: apply uploads it to s3://{}/{} and passes its URL",
                upload.bucket, upload.key
            ))
        );
    }
    if matches!(c.action, Action::Create | Action::Replace) && !c.parameters.is_empty() {
        let _ = writeln!(out, "      parameters:");
        for p in &c.parameters {
            let _ = writeln!(out, "        {} = {}", p.name, value(p.value.as_ref()));
        }
    }
    if let Some(diff) = &c.diff {
        if !diff.parameters.is_empty() {
            let _ = writeln!(out, "      parameters:");
            for (name, before, after) in &diff.parameters {
                let _ = writeln!(
                    out,
                    "        {name}: {} -> {}",
                    before.as_deref().unwrap_or("(none)"),
                    value(after.as_ref())
                );
            }
        }
        if !diff.tags.is_empty() {
            let _ = writeln!(out, "      tags:");
            for (key, before, after) in &diff.tags {
                let _ = writeln!(
                    out,
                    "        {key}: {} -> {}",
                    before.as_deref().unwrap_or("(none)"),
                    after.as_deref().unwrap_or("(none)")
                );
            }
        }
        if detail.template_diff && !diff.template.is_empty() {
            let _ = writeln!(out, "      template:");
            diff_lines(style, out, &diff.template);
        }
    }
    resources(style, out, c);
}

/// What happens to a StackSet's instances.
fn stack_set_instances(
    style: &Style,
    out: &mut String,
    c: &Change,
    instances: &crate::plan::units::Instances,
) {
    if c.action == Action::Delete {
        let _ = writeln!(
            out,
            "      instances: {} removed first (their stacks and deploy roles are deleted), then the set",
            instances.existing
        );
        return;
    }
    let mut line = format!(
        "      instances ({}): {} now, {} after apply; targets {}",
        instances.region,
        instances.existing,
        instances.wanted,
        instances.units.join(", ")
    );
    if !instances.skip.is_empty() {
        let skip: Vec<&str> = instances
            .skip
            .iter()
            .map(crate::topology::AccountId::as_str)
            .collect();
        let _ = write!(line, " but {}", skip.join(" "));
    }
    let _ = writeln!(out, "{line}; auto-deployment adds accounts that join");
    for account in &instances.add {
        let _ = writeln!(
            out,
            "        {} {account} gets an instance",
            style.green("+")
        );
    }
    for account in &instances.remove {
        let _ = writeln!(
            out,
            "        {} {account} loses its instance",
            style.red("-")
        );
    }
    for instance in &instances.not_current {
        let _ = writeln!(
            out,
            "        {} {} {}{}{}: the update puts the set's template there again",
            style.yellow("!"),
            instance.account,
            instance.status,
            instance
                .detailed_status
                .as_deref()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default(),
            instance
                .reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        );
    }
    for instance in &instances.inoperable {
        let _ = writeln!(
            out,
            "        {} {} INOPERABLE{}: a delete of its instance failed and left its stack, and CloudFormation leaves it out of every update; \
             remove the instance keeping the stack (`aws cloudformation delete-stack-instances --stack-set-name {} --regions {} \
             --deployment-targets OrganizationalUnitIds={},Accounts={},AccountFilterType=INTERSECTION --retain-stacks{}`), \
             fix and delete that stack in the account, then apply creates the instance again",
            style.red("!"),
            instance.account,
            instance
                .reason
                .as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default(),
            c.stack.name,
            instance.region,
            instance
                .unit
                .clone()
                .unwrap_or_else(|| instances.units.join(",")),
            instance.account,
            if instances.delegated_admin {
                " --call-as DELEGATED_ADMIN"
            } else {
                ""
            }
        );
    }
    for instance in &instances.drifted {
        let _ = writeln!(
            out,
            "        {} {} drifted, as the set's last drift detection found: its deploy roles differ from the template; \
             CloudFormation does not put them back on update (see the StackSet's drift results)",
            style.yellow("!"),
            instance.account
        );
    }
}

/// Accounts as indented lines of six ids.
fn account_lines(out: &mut String, accounts: &[crate::topology::AccountId]) {
    for row in accounts.chunks(6) {
        let ids: Vec<&str> = row.iter().map(crate::topology::AccountId::as_str).collect();
        let _ = writeln!(out, "      {}", ids.join(" "));
    }
}

/// Which accounts each target by organizational unit resolved to, who joined and who left.
pub(super) fn organization(style: &Style, out: &mut String, plan: &Plan) {
    let Some(organization) = &plan.organization else {
        return;
    };
    let _ = writeln!(out, "{}", style.bold("Organizational units:"));
    let count = |n: usize| format!("{n} account{}", if n == 1 { "" } else { "s" });
    for unit in &organization.units {
        let mut line = format!(
            "  {} ({}): {}",
            unit.target,
            unit.unit,
            count(unit.accounts.len())
        );
        if !unit.excluded.is_empty() {
            let _ = write!(line, ", {} excluded", unit.excluded.len());
        }
        if let Some(set) = &unit.stack_set {
            let _ = write!(line, "; deploy roles by StackSet {set}");
        }
        let _ = writeln!(out, "{line}");
        account_lines(out, &unit.accounts);
        let how = if unit.stack_set.is_some() {
            ": its deploy roles come from the StackSet's auto-deployment, with no apply"
        } else {
            ""
        };
        for account in &unit.joined {
            let _ = writeln!(
                out,
                "    {} {account} joined since the last apply{how}",
                style.green("+")
            );
        }
        for account in &unit.excluded {
            let _ = writeln!(out, "    {} {account} excluded", style.dim("·"));
        }
        if let Some(account) = &unit.management {
            let _ = writeln!(
                out,
                "    {} {account} is the management account: StackSets never deploy to it, so it gets no deploy roles from the set (a `[[targets]]` entry of its own gives it some)",
                style.yellow("!")
            );
        }
    }
    for account in &organization.left {
        let _ = writeln!(
            out,
            "  {} {account} left since the last apply: no target names it now",
            style.red("-")
        );
    }
    let _ = writeln!(out);
}

/// The plan as a person reads it: units, destructions, access changes, each wave's stacks with
/// their resources and drift, limits, warnings, findings and the summary line.
pub fn render(style: &Style, plan: &Plan, detail: Detail) -> String {
    let mut out = String::new();
    organization(style, &mut out, plan);
    if !plan.destructions.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            style.red(&style.bold("This plan destroys data. What goes, and when:"))
        );
        for d in &plan.destructions {
            let what = match d.resource_type.as_str() {
                "AWS::KMS::Key" => format!("KMS key of {}", d.stack),
                "AWS::S3::Bucket" => format!("bucket {}", d.name),
                _ => format!("role {}", d.name),
            };
            let _ = writeln!(
                out,
                "  {} {what} ({} {}): {}",
                style.red("-"),
                d.account,
                d.region,
                d.consequence
            );
        }
        let _ = writeln!(out);
    }
    if !plan.access.is_empty() {
        let _ = writeln!(out, "{}", style.bold("Access changes:"));
        for a in &plan.access {
            for g in &a.gains {
                let _ = writeln!(out, "  {} {}: gains {g}", style.green("+"), a.who);
            }
            for l in &a.loses {
                let _ = writeln!(out, "  {} {}: loses {l}", style.red("-"), a.who);
            }
        }
        let _ = writeln!(out);
    }
    adoption(style, &mut out, plan);
    let mut waves: BTreeMap<u32, Vec<&Change>> = BTreeMap::new();
    for c in &plan.changes {
        waves.entry(c.wave).or_default().push(c);
    }
    for (wave, changes) in &waves {
        let _ = writeln!(out, "{}", style.bold(&format!("wave {wave}")));
        for c in changes {
            change(style, &mut out, c, detail);
        }
    }
    if !plan.orphan_buckets.is_empty() {
        let _ = writeln!(out, "{}", style.bold("buckets outside any stack"));
        for b in &plan.orphan_buckets {
            let _ = writeln!(
                out,
                "  {} {} ({} {}): emptied and deleted",
                marker(style, Action::Delete),
                b.bucket,
                b.account,
                b.region
            );
        }
    }
    if plan.changes.is_empty() && plan.orphan_buckets.is_empty() {
        let what = match plan.mode {
            Mode::Apply => "nothing to do",
            Mode::Destroy => "nothing of this foundation was found: nothing to destroy",
        };
        let _ = writeln!(out, "{what}");
    }
    let near: Vec<_> = plan.limits.iter().filter(|m| m.share() >= 0.5).collect();
    if !near.is_empty() {
        let _ = writeln!(out, "{}", style.bold("documents near AWS's limits"));
        for measure in near {
            let _ = writeln!(out, "  {measure}");
        }
    }
    for warning in &plan.warnings {
        let _ = writeln!(out, "{} {warning}", style.yellow(&style.bold("warning:")));
    }
    for finding in &plan.findings {
        let _ = writeln!(out, "{} {finding}", style.red(&style.bold("error:")));
    }
    let _ = write!(out, "{}", style.bold(&plan.summary_line()));
    out
}

/// The adoption of the original foundation: per old stack, what moves where (first), what is
/// replaced, and whether the stack is deleted (last) or kept for the exports other stacks import.
pub(crate) fn adoption(style: &Style, out: &mut String, plan: &Plan) {
    let Some(adoption) = &plan.adoption else {
        return;
    };
    let _ = writeln!(
        out,
        "{}",
        style.bold("Original foundation (its stacks let go of what moves before wave 1):")
    );
    for stack in &adoption.stacks {
        let _ = writeln!(
            out,
            "  {} ({} {})",
            style.bold(&stack.name),
            stack.account,
            stack.region
        );
        for m in &stack.moves {
            let _ = writeln!(
                out,
                "    {} {} {} {} -> {} {}, kept with its contents",
                style.green("<="),
                m.resource_type,
                m.physical_id,
                m.from_logical_id,
                m.to_stack,
                m.to_logical_id
            );
        }
        if stack.retain_template.is_some() {
            let _ = writeln!(
                out,
                "    {} DeletionPolicy Retain on what moves, then an update without it",
                style.yellow("~")
            );
        } else if stack.release_template.is_some() {
            let _ = writeln!(
                out,
                "    {} an update without what moves",
                style.yellow("~")
            );
        }
        for (logical, kind, name) in &stack.replaced {
            let by = match kind.as_str() {
                "AWS::IAM::Role" => {
                    "; plinth's deploy roles replace it: pipelines that use it must move to them"
                }
                "AWS::KMS::Alias" => "; plinth's alias names the same key",
                "AWS::S3::BucketPolicy" => "; plinth's bucket policy replaces it",
                _ => "",
            };
            let _ = writeln!(
                out,
                "    {} {kind} {name} ({logical}) is deleted{by}",
                style.red("-")
            );
        }
        for (export, users) in &stack.exports_in_use {
            let _ = writeln!(
                out,
                "    {} export {export} is imported by {}: the stack stays, holding it with its value, until nothing imports it",
                style.yellow("!"),
                users.join(", ")
            );
        }
        for (logical, kind, name) in &stack.holds_data {
            let _ = writeln!(
                out,
                "    {} {kind} {name} ({logical}) does not move (no export of the original script names it): the stack stays, so that it is not deleted with it",
                style.yellow("!")
            );
        }
        if stack.delete {
            let _ = writeln!(
                out,
                "    {} the stack is deleted once every change below succeeded",
                style.red("-")
            );
        }
    }
    let _ = writeln!(out);
}
