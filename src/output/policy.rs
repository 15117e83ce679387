//! `plinth policy`'s human summary: each identity, its two documents' statements with their
//! actions and resources, and the wildcards with their reasons.

use std::fmt::Write;

use super::Style;
use crate::policy::{Document, Identity, MANAGED_POLICY_LIMIT};

/// The summary of every identity's policies.
pub fn render(style: &Style, foundation: &str, identities: &[Identity]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} IAM identities for foundation `{foundation}` (`--json` prints the documents)",
        identities.len()
    );
    for identity in identities {
        let _ = writeln!(
            out,
            "\n{} in account {} ({})",
            style.bold(&identity.name),
            identity.account,
            identity.credentials
        );
        document(&mut out, "plan (read only)", &identity.plan);
        document(&mut out, "apply and destroy add", &identity.apply);
        if !identity.wildcards.is_empty() {
            let _ = writeln!(out, "  wildcards, none narrower possible:");
            for wildcard in &identity.wildcards {
                let _ = writeln!(
                    out,
                    "    {} on {}: {}",
                    wildcard.sid, wildcard.resource, wildcard.reason
                );
            }
        }
    }
    let _ = writeln!(
        out,
        "\nLeft out: the resource handlers' permissions that plinth's templates never need \
         ({} entries, each with its reason, under `excluded` in `--json`).",
        crate::policy::excluded().len()
    );
    out
}

fn document(out: &mut String, title: &str, document: &Document) {
    let _ = writeln!(
        out,
        "  {title}: {} statements, {} of {MANAGED_POLICY_LIMIT} characters",
        document.statements.len(),
        document.size()
    );
    for statement in &document.statements {
        let actions = statement.actions.join(", ");
        let _ = writeln!(out, "    {}: {actions}", statement.sid);
        let _ = writeln!(out, "      on {}", statement.resources.join(", "));
        if let Some(condition) = &statement.condition {
            let _ = writeln!(out, "      when {condition}");
        }
    }
}
