//! The Markdown plan: cut to GitHub's limit, and rendered by a CommonMark library as GitHub
//! renders it. The plans of the planner's own tests are snapshotted there as Markdown too.

use super::*;
use crate::plan::{Deployed, plan};

#[test]
fn a_plan_too_large_for_a_comment_is_cut_least_important_first_and_says_so() {
    let regions: &[&str] = &crate::fixtures::REGIONS[..3];
    let entries: Vec<(u64, &[&str])> = (0..300).map(|i| (200_000_000_000 + i, regions)).collect();
    let topology = crate::fixtures::generated(&entries, 1);
    let plan = plan(&topology, &Deployed::default());
    let whole = render_within(&plan, usize::MAX);
    assert!(whole.chars().count() > COMMENT_LIMIT, "{}", whole.len());
    let markdown = render(&plan);
    assert!(markdown.chars().count() <= COMMENT_LIMIT);
    assert!(
        markdown.contains("the details of")
            && markdown.contains("`plinth show PLAN` shows the whole plan"),
        "says what was cut"
    );
    // The summary, the access table and the diagram (a node per wave) stay.
    assert!(
        markdown.contains("**Plan: 304 to create"),
        "{}",
        &markdown[..300]
    );
    assert!(markdown.contains("| Account or role | Gains or loses | What |"));
    assert!(markdown.contains("  w1[\"wave 1: 3 create\"]"));
    // The primary stack and the pipeline, created first and last, keep their details over
    // deploy stacks only when they fit; every kept section is whole.
    assert_eq!(
        markdown.matches("<details>").count(),
        markdown.matches("</details>").count()
    );
    insta::assert_snapshot!("cut-300-accounts", markdown);
}

#[test]
fn the_markdown_of_a_fresh_plan_renders_its_table_and_collapsible_sections() {
    use pulldown_cmark::{Options, Parser, html};
    let plan = plan(&crate::fixtures::example(), &Deployed::default());
    let markdown = render(&plan);
    let mut out = String::new();
    html::push_html(
        &mut out,
        Parser::new_ext(&markdown, Options::ENABLE_TABLES | Options::ENABLE_GFM),
    );
    assert!(out.contains("<table>"), "{out}");
    assert!(
        out.contains("<th>Account or role</th>") && out.contains("<td>gains</td>"),
        "{out}"
    );
    // Each stack's section is HTML the renderer passes through, not text it escapes, with its
    // changes as a code block inside.
    let sections = out.matches("<details><summary>").count();
    assert_eq!(
        sections,
        plan.changes.len(),
        "a section per stack that changes: {out}"
    );
    assert!(!out.contains("&lt;details&gt;"), "{out}");
    assert!(out.contains("<pre><code class=\"language-diff\">"), "{out}");
    assert!(
        out.contains("<pre><code class=\"language-mermaid\">"),
        "{out}"
    );
}
