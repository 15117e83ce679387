//! Policy comparison: two policy documents compared by meaning (statement order, one-item lists,
//! principal forms and URL encoding do not count), the statements that differ in words, and the
//! grants a document still names by a deleted principal's unique id.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::templates::canonical_json;

pub(super) fn statement_count(document: &Value) -> String {
    let n = statements(document).len();
    format!("{n} statement{}", if n == 1 { "" } else { "s" })
}

/// A policy document's JSON text, as the services return it: IAM URL-encodes its documents.
pub(crate) fn parse_document(text: &str) -> Option<Value> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') {
        serde_json::from_str(trimmed).ok()
    } else {
        let decoded = percent_decode(trimmed)?;
        serde_json::from_str(&decoded).ok()
    }
}

pub(super) fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = text.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// Whether two policy documents say the same, whatever the order of statements, actions,
/// resources, principals and condition values, single values or lists, and the forms AWS
/// normalises (an account id for its root ARN, `"*"` for `{"AWS": "*"}`).
pub(crate) fn same_policy(a: &Value, b: &Value) -> bool {
    normalise(a) == normalise(b)
}

pub(super) fn statements(document: &Value) -> Vec<Value> {
    match &document["Statement"] {
        Value::Array(items) => items.clone(),
        Value::Null => Vec::new(),
        single => vec![single.clone()],
    }
}

pub(super) fn normalise(document: &Value) -> (String, BTreeSet<String>) {
    let version = document["Version"]
        .as_str()
        .unwrap_or("2008-10-17")
        .to_owned();
    let set = statements(document)
        .iter()
        .map(|s| canonical_json(&normalise_statement(s)))
        .collect();
    (version, set)
}

pub(super) fn strings(value: &Value) -> Value {
    let mut items: Vec<String> = match value {
        Value::Array(items) => items.iter().map(scalar).collect(),
        Value::Null => Vec::new(),
        other => vec![scalar(other)],
    };
    items.sort();
    items.dedup();
    json!(items)
}

pub(super) fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        other => other.to_string(),
    }
}

pub(super) fn normalise_principal(principal: &Value) -> Value {
    match principal {
        Value::String(s) if s == "*" => json!({ "AWS": ["*"] }),
        Value::Object(map) => {
            let mut out = serde_json::Map::new();
            for (kind, ids) in map {
                let mut ids = strings(ids);
                if kind == "AWS"
                    && let Value::Array(items) = &mut ids
                {
                    for item in items.iter_mut() {
                        if let Some(id) = item.as_str()
                            && id.len() == 12
                            && id.bytes().all(|b| b.is_ascii_digit())
                        {
                            *item = json!(format!("arn:aws:iam::{id}:root"));
                        }
                    }
                    items.sort_by_key(Value::to_string);
                }
                out.insert(kind.clone(), ids);
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

pub(super) fn normalise_statement(statement: &Value) -> Value {
    let mut out = serde_json::Map::new();
    let Some(map) = statement.as_object() else {
        return statement.clone();
    };
    for (key, value) in map {
        let normalised = match key.as_str() {
            "Action" | "NotAction" | "Resource" | "NotResource" => strings(value),
            "Principal" | "NotPrincipal" => normalise_principal(value),
            "Condition" => {
                let mut operators = serde_json::Map::new();
                for (operator, pairs) in value.as_object().into_iter().flatten() {
                    let mut keys = serde_json::Map::new();
                    for (k, v) in pairs.as_object().into_iter().flatten() {
                        let mut v = strings(v);
                        if operator.starts_with("Bool")
                            && let Value::Array(items) = &mut v
                        {
                            for item in items.iter_mut() {
                                *item = json!(item.as_str().unwrap_or_default().to_lowercase());
                            }
                        }
                        keys.insert(k.clone(), v);
                    }
                    operators.insert(operator.clone(), Value::Object(keys));
                }
                Value::Object(operators)
            }
            "Sid" if value.as_str() == Some("") => continue,
            _ => value.clone(),
        };
        out.insert(key.clone(), normalised);
    }
    Value::Object(out)
}

/// The statements only `live` has (`- …`) and only `declared` has (`+ …`), one line each.
/// Whether a principal is an IAM unique id (`AROA…` for a role, `AIDA…` for a user): what
/// AWS shows in a policy in place of a principal that was deleted.
pub(super) fn is_unique_id(principal: &str) -> bool {
    (principal.starts_with("AROA") || principal.starts_with("AIDA"))
        && principal.len() >= 16
        && principal
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// The AWS principals a policy names.
pub(super) fn aws_principals(document: &Value) -> BTreeSet<String> {
    statements(document)
        .iter()
        .filter_map(|s| normalise_principal(&s["Principal"]).get("AWS").cloned())
        .flat_map(|ids| match ids {
            Value::Array(items) => items,
            other => vec![other],
        })
        .filter_map(|id| id.as_str().map(str::to_owned))
        .collect()
}

/// Why a live policy's grants are broken: each principal it names by unique id is a deleted
/// role or user (AWS keeps the id where the ARN was), and the declared principals it no
/// longer names are not granted, even to a role created again under the same name.
pub(super) fn broken_grants(live: &Value, declared: &Value) -> Vec<String> {
    let named = aws_principals(live);
    let ids: Vec<&String> = named.iter().filter(|p| is_unique_id(p)).collect();
    if ids.is_empty() {
        return Vec::new();
    }
    let lost: Vec<String> = aws_principals(declared)
        .into_iter()
        .filter(|p| !named.contains(p))
        .collect();
    let ids = ids
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let mut line = format!(
        "! broken grant: the policy names {ids}, the unique id AWS keeps in place of a deleted principal"
    );
    if !lost.is_empty() {
        line.push_str(&format!(
            "; not granted until the policy is put again: {}",
            lost.join(", ")
        ));
    }
    vec![line]
}

/// How two documents differ, statement by statement, in words: `- Sid: …` for a statement only
/// `live` has, `+ Sid: …` for one only `declared` has, `~ Sid: …` for one that changed.
pub(crate) fn policy_changes(live: &Value, declared: &Value) -> Vec<String> {
    let set = |document: &Value| -> BTreeMap<String, Value> {
        statements(document)
            .iter()
            .map(|s| {
                let n = normalise_statement(s);
                (canonical_json(&n), n)
            })
            .collect()
    };
    let (live_set, declared_set) = (set(live), set(declared));
    let removed: Vec<&Value> = live_set
        .iter()
        .filter(|(text, _)| !declared_set.contains_key(*text))
        .map(|(_, s)| s)
        .collect();
    let added: Vec<&Value> = declared_set
        .iter()
        .filter(|(text, _)| !live_set.contains_key(*text))
        .map(|(_, s)| s)
        .collect();
    let mut lines = Vec::new();
    let mut paired = BTreeSet::new();
    // A statement kept under its Sid that only gains or loses principals, actions or resources
    // is shown as what it gains and loses.
    for old in &removed {
        let Some(sid) = old["Sid"].as_str() else {
            continue;
        };
        let same_sid: Vec<&&Value> = added.iter().filter(|n| n["Sid"] == sid).collect();
        if let [new] = same_sid.as_slice()
            && let Some(line) = statement_change(sid, old, new)
        {
            lines.push(line);
            paired.insert(sid.to_owned());
        }
    }
    for statement in removed {
        if !statement["Sid"]
            .as_str()
            .is_some_and(|s| paired.contains(s))
        {
            lines.push(format!("- {}", describe_statement(statement)));
        }
    }
    for statement in added {
        if !statement["Sid"]
            .as_str()
            .is_some_and(|s| paired.contains(s))
        {
            lines.push(format!("+ {}", describe_statement(statement)));
        }
    }
    lines
}

/// `~ Sid: + principal a, - action b`, when two statements differ only in their principals,
/// actions and resources.
pub(super) fn statement_change(sid: &str, old: &Value, new: &Value) -> Option<String> {
    for key in [
        "Effect",
        "Condition",
        "NotAction",
        "NotResource",
        "NotPrincipal",
    ] {
        if old.get(key) != new.get(key) {
            return None;
        }
    }
    let values = |statement: &Value, key: &str| -> BTreeSet<String> {
        let value = &statement[key];
        match key {
            "Principal" => value
                .as_object()
                .into_iter()
                .flatten()
                .flat_map(|(_, v)| v.as_array().cloned().unwrap_or_default())
                .map(|v| scalar(&v))
                .collect(),
            _ => value.as_array().into_iter().flatten().map(scalar).collect(),
        }
    };
    let mut parts = Vec::new();
    for (key, word) in [
        ("Principal", "principal"),
        ("Action", "action"),
        ("Resource", "resource"),
    ] {
        let (a, b) = (values(old, key), values(new, key));
        let gained: Vec<&String> = b.difference(&a).collect();
        let lost: Vec<&String> = a.difference(&b).collect();
        if !gained.is_empty() {
            parts.push(format!(
                "+ {word}{} {}",
                if gained.len() == 1 { "" } else { "s" },
                gained
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if !lost.is_empty() {
            parts.push(format!(
                "- {word}{} {}",
                if lost.len() == 1 { "" } else { "s" },
                lost.iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    (!parts.is_empty()).then(|| format!("~ {sid}: {}", parts.join("; ")))
}

/// A statement in a line: `Sid: Allow a, b on r to p when c`.
pub(crate) fn describe_statement(statement: &Value) -> String {
    let list = |v: &Value| {
        v.as_array().map_or_else(
            || scalar(v),
            |items| items.iter().map(scalar).collect::<Vec<_>>().join(", "),
        )
    };
    let mut text = String::new();
    if let Some(sid) = statement["Sid"].as_str() {
        text.push_str(sid);
        text.push_str(": ");
    }
    text.push_str(statement["Effect"].as_str().unwrap_or("?"));
    text.push(' ');
    text.push_str(&list(&statement["Action"]));
    if !statement["Resource"].is_null() {
        text.push_str(" on ");
        text.push_str(&list(&statement["Resource"]));
    }
    if let Some(principal) = statement["Principal"].as_object() {
        let who: Vec<String> = principal.values().map(list).collect();
        text.push_str(" to ");
        text.push_str(&who.join(", "));
    }
    if let Some(condition) = statement["Condition"].as_object() {
        let when: Vec<String> = condition
            .iter()
            .flat_map(|(op, pairs)| {
                pairs
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(move |(k, v)| format!("{op} {k} {}", list(v)))
            })
            .collect();
        text.push_str(" when ");
        text.push_str(&when.join(" and "));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn policies_compare_by_meaning_not_by_form() {
        let a = json!({ "Version": "2012-10-17", "Statement": [
            { "Sid": "A", "Effect": "Allow", "Principal": { "AWS": ["arn:aws:iam::222222222222:root", "333333333333"] },
              "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"] },
            { "Sid": "T", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::b/*",
              "Condition": { "Bool": { "aws:SecureTransport": false } } }
        ]});
        let b = json!({ "Version": "2012-10-17", "Statement": [
            { "Sid": "T", "Effect": "Deny", "Principal": { "AWS": "*" }, "Action": ["s3:*"], "Resource": ["arn:aws:s3:::b/*"],
              "Condition": { "Bool": { "aws:SecureTransport": "false" } } },
            { "Sid": "A", "Effect": "Allow", "Principal": { "AWS": ["arn:aws:iam::333333333333:root", "222222222222"] },
              "Action": ["s3:ListBucket", "s3:GetObject"], "Resource": ["arn:aws:s3:::b/*", "arn:aws:s3:::b"] }
        ]});
        assert!(same_policy(&a, &b));
        let mut c = b.clone();
        c["Statement"][1]["Action"] = json!(["s3:GetObject", "s3:ListBucket", "s3:PutObject"]);
        assert!(!same_policy(&a, &c));
        let mut d = b;
        d["Statement"][0]["Condition"]["Bool"]["aws:SecureTransport"] = json!("true");
        assert!(!same_policy(&a, &d));
    }

    #[test]
    fn documents_iam_returns_url_encoded_are_read() {
        let text = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D";
        assert_eq!(
            parse_document(text),
            Some(json!({ "Version": "2012-10-17", "Statement": [] }))
        );
        assert_eq!(parse_document("%ZZ"), None);
    }

    #[test]
    fn the_order_of_keys_in_a_statement_does_not_matter() {
        let mut written = serde_json::Map::new();
        for (k, v) in [
            ("Sid", json!("A")),
            ("Effect", json!("Allow")),
            ("Action", json!("s3:GetObject")),
            ("Resource", json!("arn:aws:s3:::b/*")),
        ] {
            written.insert(k.to_owned(), v);
        }
        let mut returned = serde_json::Map::new();
        for (k, v) in [
            ("Resource", json!(["arn:aws:s3:::b/*"])),
            ("Action", json!(["s3:GetObject"])),
            ("Effect", json!("Allow")),
            ("Sid", json!("A")),
        ] {
            returned.insert(k.to_owned(), v);
        }
        let a = json!({ "Version": "2012-10-17", "Statement": [Value::Object(written)] });
        let b = json!({ "Version": "2012-10-17", "Statement": Value::Object(returned) });
        assert!(same_policy(&a, &b));
        assert!(policy_changes(&a, &b).is_empty());
    }

    #[test]
    fn a_statement_whose_effect_changed_is_another_policy() {
        let allow = json!({ "Version": "2012-10-17", "Statement": [
            { "Sid": "Deploy", "Effect": "Deny", "Principal": { "AWS": "arn:aws:iam::222222222222:root" },
              "Action": "s3:PutObject", "Resource": "arn:aws:s3:::b/*" }
        ]});
        let mut turned = allow.clone();
        turned["Statement"][0]["Effect"] = json!("Allow");
        assert!(
            !same_policy(&allow, &turned),
            "a Deny turned Allow is drift"
        );
        let changes = policy_changes(&turned, &allow);
        assert!(
            changes.iter().any(|c| c.contains("Deploy")),
            "the statement is named: {changes:?}"
        );
    }
}
