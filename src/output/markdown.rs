//! The plan as GitHub-flavoured Markdown, for a pull-request comment: a one-line summary,
//! destructions first in a warning block, access changes as a table, the waves of what changes
//! as a Mermaid diagram, and each stack's changes in a collapsible section. It stays under
//! GitHub's comment limit by leaving out the details of the least important stacks first, and
//! says what it left out.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::Style;
use super::plan::{Detail, change};
use crate::plan::{Action, Change, Mode, Plan};

/// GitHub's limit on a comment's body, in characters.
pub(crate) const COMMENT_LIMIT: usize = 65_536;

/// What the Markdown keeps free of the limit for the note on what was left out.
const NOTE_ROOM: usize = 1_000;

/// Beyond this many changes, the diagram draws a node per wave instead of one per change.
const DIAGRAM_NODES: usize = 60;

/// At most this many rows of the access table and lines of the destruction block are shown.
const TABLE_ROWS: usize = 200;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn cell(text: &str) -> String {
    escape(text).replace('|', "\\|")
}

fn verb(change: &Change) -> &'static str {
    if change.import.is_some() {
        "import and create"
    } else if change.action == Action::NoChange && !change.drift.is_empty() {
        "repair drift"
    } else {
        change.action.as_str()
    }
}

fn changes_something(change: &Change) -> bool {
    change.action != Action::NoChange || !change.drift.is_empty()
}

/// How much a reviewer needs a change's details: what destroys first, what does nothing last.
fn importance(change: &Change) -> u8 {
    match change.action {
        Action::Delete => 6,
        Action::Replace => 5,
        Action::Update => 3,
        Action::Create => 2,
        Action::Wait => 1,
        Action::NoChange if !change.drift.is_empty() => 4,
        Action::NoChange => 0,
    }
}

/// A change as the human view draws it, made into a `diff` block: each line's marker (`+`,
/// `-`, `~`, `!`) moved to the first column so that GitHub colours it.
fn details(change_: &Change) -> String {
    let mut plain = String::new();
    change(
        &Style { color: false },
        &mut plain,
        change_,
        Detail {
            template_diff: false,
        },
    );
    let mut body = String::new();
    // The first line is the summary; the rest are the details.
    for line in plain.lines().skip(1) {
        let trimmed = line.trim_start();
        let indent = &line[..line.len() - trimmed.len()];
        let moved = match trimmed.chars().next() {
            Some(marker @ ('+' | '-' | '~' | '!')) => {
                format!("{marker}{indent}{}", &trimmed[marker.len_utf8()..])
            }
            _ => format!(" {line}"),
        };
        body.push_str(moved.trim_end());
        body.push('\n');
    }
    let summary = format!(
        "<code>{}</code> {}",
        verb(change_),
        escape(&change_.label())
    );
    if body.trim().is_empty() {
        format!("<details><summary>{summary}</summary>\n\nNothing else to show.\n\n</details>\n")
    } else {
        format!("<details><summary>{summary}</summary>\n\n````diff\n{body}````\n\n</details>\n")
    }
}

fn destructions(out: &mut String, plan: &Plan) {
    if plan.destructions.is_empty() {
        return;
    }
    let _ = writeln!(out, "> [!WARNING]");
    let _ = writeln!(out, "> **This plan destroys data.** What goes, and when:");
    let _ = writeln!(out, ">");
    for d in plan.destructions.iter().take(TABLE_ROWS) {
        let what = match d.resource_type.as_str() {
            "AWS::KMS::Key" => format!("KMS key of {}", d.stack),
            "AWS::S3::Bucket" => format!("bucket {}", d.name),
            _ => format!("role {}", d.name),
        };
        let _ = writeln!(
            out,
            "> - **{}** ({} {}): {}",
            escape(&what),
            d.account,
            d.region,
            escape(&d.consequence)
        );
    }
    if plan.destructions.len() > TABLE_ROWS {
        let _ = writeln!(
            out,
            "> - and {} more; `plinth show` lists them all",
            plan.destructions.len() - TABLE_ROWS
        );
    }
    let _ = writeln!(out);
}

/// The adoption of the original foundation, as the human view draws it, in a `diff` block.
fn adoption(out: &mut String, plan: &Plan) {
    if plan.adoption.is_none() {
        return;
    }
    let mut plain = String::new();
    super::plan::adoption(&Style { color: false }, &mut plain, plan);
    let mut lines = plain.lines();
    let title = lines.next().unwrap_or_default();
    let _ = writeln!(out, "<details open><summary>{}</summary>\n", escape(title));
    let _ = writeln!(out, "````diff");
    for line in lines.filter(|l| !l.trim().is_empty()) {
        let trimmed = line.trim_start();
        let indent = &line[..line.len() - trimmed.len()];
        match trimmed.chars().next() {
            Some(marker @ ('+' | '-' | '~' | '!')) => {
                let _ = writeln!(out, "{marker}{indent}{}", &trimmed[marker.len_utf8()..]);
            }
            _ => {
                let _ = writeln!(out, " {line}");
            }
        }
    }
    let _ = writeln!(out, "````\n\n</details>\n");
}

/// What apply imports: resources outside any stack that keep their contents.
fn imports(out: &mut String, plan: &Plan) {
    let imported: Vec<_> = plan
        .changes
        .iter()
        .filter_map(|c| c.import.as_ref().map(|i| (c, i)))
        .collect();
    if imported.is_empty() {
        return;
    }
    let _ = writeln!(out, "> [!NOTE]");
    let _ = writeln!(
        out,
        "> **Resources outside any stack are imported**, kept with their contents, then set as declared:"
    );
    let _ = writeln!(out, ">");
    for (change, import) in imported.iter().take(TABLE_ROWS) {
        for resource in &import.resources {
            let _ = writeln!(
                out,
                "> - {} `{}` into {} ({} {})",
                resource.resource_type,
                escape(&resource.identifier_text()),
                escape(&change.stack.name),
                change.stack.account,
                change.stack.region
            );
        }
    }
    let _ = writeln!(out);
}

fn problems(out: &mut String, plan: &Plan) {
    if !plan.findings.is_empty() {
        let _ = writeln!(out, "> [!CAUTION]");
        let _ = writeln!(
            out,
            "> **This plan cannot be applied.** Apply would fail halfway:"
        );
        let _ = writeln!(out, ">");
        for finding in &plan.findings {
            let _ = writeln!(out, "> - {}", escape(&finding.to_string()));
        }
        let _ = writeln!(out);
    }
    for warning in &plan.warnings {
        let _ = writeln!(out, "- **warning:** {}", escape(warning));
    }
    if !plan.warnings.is_empty() {
        let _ = writeln!(out);
    }
}

/// Accounts as a list of ids, at most twenty of them.
fn ids(accounts: &[crate::topology::AccountId]) -> String {
    let mut shown: Vec<String> = accounts.iter().take(20).map(ToString::to_string).collect();
    if accounts.len() > 20 {
        shown.push(format!("and {} more", accounts.len() - 20));
    }
    shown.join(", ")
}

fn organization(out: &mut String, plan: &Plan) {
    let Some(organization) = &plan.organization else {
        return;
    };
    let _ = writeln!(out, "### Organizational units\n");
    for unit in &organization.units {
        let mut line = format!(
            "- `{}` ({}): {} account{}",
            unit.target,
            unit.unit,
            unit.accounts.len(),
            if unit.accounts.len() == 1 { "" } else { "s" }
        );
        if !unit.excluded.is_empty() {
            let _ = write!(line, ", {} excluded", unit.excluded.len());
        }
        if let Some(set) = &unit.stack_set {
            let _ = write!(line, "; deploy roles by StackSet `{set}`");
        }
        if !unit.joined.is_empty() {
            let _ = write!(line, "; joined since the last apply: {}", ids(&unit.joined));
        }
        if let Some(account) = &unit.management {
            let _ = write!(
                line,
                "; management account `{account}` gets no deploy roles (StackSets never deploy to it)"
            );
        }
        let _ = writeln!(out, "{line}");
    }
    if !organization.left.is_empty() {
        let _ = writeln!(
            out,
            "- left since the last apply: {}",
            ids(&organization.left)
        );
    }
    for change in &plan.changes {
        for instance in change.instances.iter().flat_map(|i| &i.inoperable) {
            let _ = writeln!(
                out,
                "- :warning: `{}`: the instance of {} is INOPERABLE{}; CloudFormation leaves it out of every update, so apply cannot bring it back (`plinth plan` prints the commands that clear it)",
                change.stack.name,
                instance.account,
                instance
                    .reason
                    .as_deref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            );
        }
    }
    let _ = writeln!(out);
}

fn access(out: &mut String, plan: &Plan) {
    if plan.access.is_empty() {
        return;
    }
    let _ = writeln!(out, "### Access changes\n");
    let _ = writeln!(out, "| Account or role | Gains or loses | What |");
    let _ = writeln!(out, "|---|---|---|");
    let rows: Vec<(&str, &str, &str)> = plan
        .access
        .iter()
        .flat_map(|a| {
            a.gains
                .iter()
                .map(move |g| (a.who.as_str(), "gains", g.as_str()))
                .chain(
                    a.loses
                        .iter()
                        .map(move |l| (a.who.as_str(), "loses", l.as_str())),
                )
        })
        .collect();
    for (who, how, what) in rows.iter().take(TABLE_ROWS) {
        let _ = writeln!(out, "| {} | {how} | {} |", cell(who), cell(what));
    }
    if rows.len() > TABLE_ROWS {
        let _ = writeln!(
            out,
            "| … | | {} more rows; `plinth show` lists them all |",
            rows.len() - TABLE_ROWS
        );
    }
    let _ = writeln!(out);
}

/// The waves of what changes: a node per change and an edge per wait, or a node per wave when
/// there are too many changes to draw one by one.
fn diagram(out: &mut String, plan: &Plan) {
    let shown: Vec<(usize, &Change)> = plan
        .changes
        .iter()
        .enumerate()
        .filter(|(_, c)| changes_something(c))
        .collect();
    if shown.is_empty() {
        return;
    }
    let mut waves: BTreeMap<u32, Vec<(usize, &Change)>> = BTreeMap::new();
    for (index, c) in &shown {
        waves.entry(c.wave).or_default().push((*index, c));
    }
    let _ = writeln!(out, "### Waves\n");
    let _ = writeln!(out, "```mermaid");
    let _ = writeln!(out, "flowchart LR");
    let label = |text: String| text.replace('"', "#quot;");
    if shown.len() > DIAGRAM_NODES {
        let mut previous: Option<u32> = None;
        for (wave, changes) in &waves {
            let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
            for (_, c) in changes {
                *counts.entry(verb(c)).or_default() += 1;
            }
            let what: Vec<String> = counts.iter().map(|(v, n)| format!("{n} {v}")).collect();
            let _ = writeln!(
                out,
                "  w{wave}[\"{}\"]",
                label(format!("wave {wave}: {}", what.join(", ")))
            );
            if let Some(previous) = previous {
                let _ = writeln!(out, "  w{previous} --> w{wave}");
            }
            previous = Some(*wave);
        }
    } else {
        for (wave, changes) in &waves {
            let _ = writeln!(out, "  subgraph w{wave}[\"wave {wave}\"]");
            for (index, c) in changes {
                let _ = writeln!(
                    out,
                    "    c{index}[\"{}\"]",
                    label(format!("{}: {}", c.label(), verb(c)))
                );
            }
            let _ = writeln!(out, "  end");
        }
        let drawn: Vec<usize> = shown.iter().map(|(i, _)| *i).collect();
        for (index, c) in &shown {
            for before in &c.after {
                if drawn.contains(before) {
                    let _ = writeln!(out, "  c{before} --> c{index}");
                }
            }
        }
    }
    let _ = writeln!(out, "```\n");
}

/// The plan as Markdown of at most `limit` characters.
pub(crate) fn render_within(plan: &Plan, limit: usize) -> String {
    let mut head = String::new();
    let title = match plan.mode {
        Mode::Apply => "plan",
        Mode::Destroy => "destroy plan",
    };
    let _ = writeln!(head, "## plinth {title}: `{}`\n", escape(&plan.foundation));
    let _ = writeln!(head, "**{}**\n", escape(&plan.summary_line()));
    destructions(&mut head, plan);
    adoption(&mut head, plan);
    imports(&mut head, plan);
    problems(&mut head, plan);
    organization(&mut head, plan);
    access(&mut head, plan);
    diagram(&mut head, plan);

    // Details by importance, then in the plan's order; the stacks that stay as they are, in one
    // section of their own.
    let unchanged: Vec<&Change> = plan
        .changes
        .iter()
        .filter(|c| !changes_something(c))
        .collect();
    let mut order: Vec<usize> = (0..plan.changes.len())
        .filter(|&i| changes_something(&plan.changes[i]))
        .collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(importance(&plan.changes[i])), i));
    let mut budget = limit.saturating_sub(head.chars().count() + NOTE_ROOM);
    let mut kept = vec![None; plan.changes.len()];
    let mut cut: BTreeMap<&'static str, usize> = BTreeMap::new();
    for index in order {
        let c = &plan.changes[index];
        let section = details(c);
        let size = section.chars().count();
        if size <= budget {
            budget -= size;
            kept[index] = Some(section);
        } else {
            *cut.entry(verb(c)).or_default() += 1;
        }
    }
    let mut out = head;
    if !plan.changes.is_empty() {
        let _ = writeln!(out, "### Stacks\n");
    }
    for section in kept.into_iter().flatten() {
        out.push_str(&section);
    }
    if !unchanged.is_empty() {
        let mut list = String::new();
        for c in &unchanged {
            let _ = writeln!(list, "- {}", escape(&c.label()));
        }
        let section = format!(
            "<details><summary>{} unchanged</summary>\n\n{list}\n</details>\n",
            unchanged.len()
        );
        if section.chars().count() <= budget {
            out.push_str(&section);
        } else {
            *cut.entry("unchanged").or_default() += unchanged.len();
        }
    }
    if !cut.is_empty() {
        let total: usize = cut.values().sum();
        let what: Vec<String> = cut.iter().map(|(v, n)| format!("{n} {v}")).collect();
        let _ = writeln!(
            out,
            "\n> [!NOTE]\n> To stay within GitHub's {COMMENT_LIMIT}-character comment limit, the details of {total} stack{} ({}) are left out, the least important first. `plinth show PLAN` shows the whole plan.",
            if total == 1 { "" } else { "s" },
            what.join(", ")
        );
    }
    out
}

/// The plan as Markdown for a pull-request comment, within GitHub's comment limit.
pub fn render(plan: &Plan) -> String {
    render_within(plan, COMMENT_LIMIT)
}

#[cfg(test)]
mod tests;
