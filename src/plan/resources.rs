//! What a template change does to each resource: added, removed, changed in place or replaced
//! (from the shipped resource schemas), with the properties that change. Policies are compared
//! statement by statement, by meaning, and shown as the statements added and removed.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::drift::{policy_changes, pseudo_parameter, same_policy};
use crate::templates::schemas;
use crate::topology::{AccountId, Region};

/// What a change does to one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ResourceAction {
    /// The resource is new.
    Add,
    /// Properties change in place.
    Change,
    /// A property CloudFormation cannot change in place changes: a new resource replaces it.
    Replace,
    /// The resource goes.
    Remove,
    /// The resource exists outside any stack: it is imported, then set as declared.
    Import,
}

impl ResourceAction {}

/// One resource of a stack that a change touches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ResourceChange {
    /// The template's name for it.
    pub(crate) logical_id: String,
    /// Its type.
    pub(crate) resource_type: String,
    /// What happens to it.
    pub(crate) action: ResourceAction,
    /// For a change or replacement: the properties that change.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) properties: Vec<PropertyChange>,
}

/// One property of a resource that a change sets otherwise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PropertyChange {
    /// The property, and for a role's inline policy its name: `Policies/deploy`.
    pub(crate) name: String,
    /// Whether changing it replaces the resource (its schema's `createOnlyProperties`).
    pub(crate) replaces: bool,
    /// The value before and after, in a line each; absent for policies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) before: Option<String>,
    /// The value after, in a line; absent for policies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) after: Option<String>,
    /// For a policy, the statements removed (`- …`) and added (`+ …`); for a structured value,
    /// the parts added, removed and changed (`~ path: before -> after`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) details: Vec<String>,
}

/// Properties that hold a policy document.
const POLICY_PROPERTIES: &[&str] = &["PolicyDocument", "KeyPolicy", "AssumeRolePolicyDocument"];

/// The resources that differ between two templates (`before` absent: a new stack).
pub(crate) fn between(
    before: Option<&Value>,
    after: &Value,
    account: &AccountId,
    region: &Region,
) -> Vec<ResourceChange> {
    let empty = serde_json::Map::new();
    let old = before
        .and_then(|b| b["Resources"].as_object())
        .unwrap_or(&empty);
    let new = after["Resources"].as_object().unwrap_or(&empty);
    let shown = |v: &Value| display(v, account, region);
    let mut out = Vec::new();
    let ids: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    for id in ids {
        let kind = |r: &Value| r["Type"].as_str().unwrap_or_default().to_owned();
        match (old.get(id), new.get(id)) {
            (None, Some(r)) => out.push(ResourceChange {
                logical_id: id.clone(),
                resource_type: kind(r),
                action: ResourceAction::Add,
                properties: Vec::new(),
            }),
            (Some(r), None) => out.push(ResourceChange {
                logical_id: id.clone(),
                resource_type: kind(r),
                action: ResourceAction::Remove,
                properties: Vec::new(),
            }),
            (Some(a), Some(b)) => {
                let a_props = shown(&a["Properties"]);
                let b_props = shown(&b["Properties"]);
                let resource_type = kind(b);
                if kind(a) != resource_type {
                    out.push(ResourceChange {
                        logical_id: id.clone(),
                        resource_type,
                        action: ResourceAction::Replace,
                        properties: Vec::new(),
                    });
                    continue;
                }
                let properties = property_changes(&resource_type, &a_props, &b_props);
                if properties.is_empty() {
                    continue;
                }
                let action = if properties.iter().any(|p| p.replaces) {
                    ResourceAction::Replace
                } else {
                    ResourceAction::Change
                };
                out.push(ResourceChange {
                    logical_id: id.clone(),
                    resource_type,
                    action,
                    properties,
                });
            }
            (None, None) => {}
        }
    }
    out
}

fn property_changes(resource_type: &str, before: &Value, after: &Value) -> Vec<PropertyChange> {
    let empty = serde_json::Map::new();
    let a = before.as_object().unwrap_or(&empty);
    let b = after.as_object().unwrap_or(&empty);
    let names: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    let mut out = Vec::new();
    for name in names {
        let (x, y) = (a.get(name), b.get(name));
        if x == y {
            continue;
        }
        let replaces = schemas::replaces(resource_type, name).unwrap_or(false);
        if POLICY_PROPERTIES.contains(&name.as_str()) {
            policy_property(&mut out, name, x, y, replaces);
        } else if name == "Policies" {
            inline_policies(&mut out, x, y);
        } else if x.is_some_and(|v| v.is_object() || v.is_array())
            && y.is_some_and(|v| v.is_object() || v.is_array())
        {
            let mut details = Vec::new();
            structural(
                name,
                x.unwrap_or(&Value::Null),
                y.unwrap_or(&Value::Null),
                &mut details,
            );
            if details.len() > MAX_DETAILS {
                let more = details.len() - MAX_DETAILS;
                details.truncate(MAX_DETAILS);
                details.push(format!("… and {more} more"));
            }
            out.push(PropertyChange {
                name: name.clone(),
                replaces,
                before: None,
                after: None,
                details,
            });
        } else {
            out.push(PropertyChange {
                name: name.clone(),
                replaces,
                before: x.map(line),
                after: y.map(line),
                details: Vec::new(),
            });
        }
    }
    out
}

fn policy_property(
    out: &mut Vec<PropertyChange>,
    name: &str,
    before: Option<&Value>,
    after: Option<&Value>,
    replaces: bool,
) {
    let none = Value::Null;
    let (x, y) = (before.unwrap_or(&none), after.unwrap_or(&none));
    if same_policy(x, y) {
        return;
    }
    out.push(PropertyChange {
        name: name.to_owned(),
        replaces,
        before: None,
        after: None,
        details: policy_changes(x, y),
    });
}

fn inline_policies(out: &mut Vec<PropertyChange>, before: Option<&Value>, after: Option<&Value>) {
    let by_name = |v: Option<&Value>| -> Vec<(String, Value)> {
        v.and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|p| {
                (
                    p["PolicyName"].as_str().unwrap_or_default().to_owned(),
                    p["PolicyDocument"].clone(),
                )
            })
            .collect()
    };
    let (a, b) = (by_name(before), by_name(after));
    let names: BTreeSet<&String> = a.iter().chain(&b).map(|(n, _)| n).collect();
    for name in names {
        let find =
            |list: &[(String, Value)]| list.iter().find(|(n, _)| n == name).map(|(_, d)| d.clone());
        policy_property(
            out,
            &format!("Policies/{name}"),
            find(&a).as_ref(),
            find(&b).as_ref(),
            false,
        );
    }
}

/// How many lines a structured property's change shows at most.
const MAX_DETAILS: usize = 12;

/// The name an element of a list goes by, when it has one.
fn element_name(value: &Value) -> Option<String> {
    ["Name", "PolicyName", "Id", "Region"]
        .iter()
        .find_map(|k| value[*k].as_str().map(str::to_owned))
}

/// The parts of two structured values that differ: lists of named elements by name, objects by
/// key, anything else as `before -> after`.
fn structural(path: &str, before: &Value, after: &Value, out: &mut Vec<String>) {
    match (before, after) {
        _ if before == after => {}
        (Value::Object(a), Value::Object(b)) => {
            let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for key in keys {
                let inner = format!("{path}/{key}");
                match (a.get(key), b.get(key)) {
                    (Some(x), Some(y)) => structural(&inner, x, y, out),
                    (None, Some(y)) => out.push(format!("+ {inner}: {}", line(y))),
                    (Some(_), None) => out.push(format!("- {inner}")),
                    (None, None) => {}
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if a.iter().chain(b).all(Value::is_string) => {
            let set = |items: &[Value]| -> BTreeSet<String> {
                items
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            };
            let (a, b) = (set(a), set(b));
            let inner = if path.contains('/') {
                format!("{path}: ")
            } else {
                String::new()
            };
            for item in b.difference(&a) {
                out.push(format!("+ {inner}{item}"));
            }
            for item in a.difference(&b) {
                out.push(format!("- {inner}{item}"));
            }
        }
        (Value::Array(a), Value::Array(b))
            if a.iter().chain(b).all(|v| element_name(v).is_some()) =>
        {
            let named = |items: &[Value]| -> Vec<(String, Value)> {
                items
                    .iter()
                    .map(|v| (element_name(v).unwrap_or_default(), v.clone()))
                    .collect()
            };
            let (a, b) = (named(a), named(b));
            let mut names: Vec<&String> = Vec::new();
            for (n, _) in a.iter().chain(&b) {
                if !names.contains(&n) {
                    names.push(n);
                }
            }
            for name in names {
                let find = |list: &[(String, Value)]| {
                    list.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone())
                };
                let inner = format!("{path}/{name}");
                match (find(&a), find(&b)) {
                    (Some(x), Some(y)) => structural(&inner, &x, &y, out),
                    (None, Some(_)) => out.push(format!("+ {inner}")),
                    (Some(_), None) => out.push(format!("- {inner}")),
                    (None, None) => {}
                }
            }
        }
        _ => out.push(format!("~ {path}: {} -> {}", line(before), line(after))),
    }
}

/// A value in one line, at most 100 characters.
fn line(value: &Value) -> String {
    let text = match value {
        Value::String(s) => s.clone(),
        Value::Array(items) if items.iter().all(Value::is_string) => items
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    };
    if text.chars().count() > 100 {
        let cut: String = text.chars().take(97).collect();
        format!("{cut}...")
    } else {
        text
    }
}

/// A template value for a person: pseudo parameters filled in (the stack's account and region),
/// references as `${Name}` and `${Name.Attribute}`, joins joined.
pub(crate) fn display(value: &Value, account: &AccountId, region: &Region) -> Value {
    let pseudo = |name: &str| pseudo_parameter(name, account, region);
    match value {
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| display(v, account, region)).collect())
        }
        Value::Object(map) if map.len() == 1 => {
            let (name, argument) = map.iter().next().expect("one entry");
            match (name.as_str(), argument) {
                ("Ref", Value::String(r)) => {
                    Value::String(pseudo(r).unwrap_or_else(|| format!("${{{r}}}")))
                }
                ("Fn::GetAtt", Value::Array(parts)) => Value::String(format!(
                    "${{{}}}",
                    parts
                        .iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(".")
                )),
                ("Fn::Sub", Value::String(text)) => {
                    let mut out = text.clone();
                    for p in [
                        "AWS::Partition",
                        "AWS::AccountId",
                        "AWS::Region",
                        "AWS::URLSuffix",
                    ] {
                        if let Some(v) = pseudo(p) {
                            out = out.replace(&format!("${{{p}}}"), &v);
                        }
                    }
                    Value::String(out)
                }
                ("Fn::Join", Value::Array(parts)) if parts.len() == 2 => {
                    let separator = parts[0].as_str().unwrap_or_default();
                    match display(&parts[1], account, region) {
                        Value::Array(items) => Value::String(
                            items
                                .iter()
                                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                                .collect::<Vec<_>>()
                                .join(separator),
                        ),
                        other => other,
                    }
                }
                _ => {
                    let mut out = serde_json::Map::new();
                    out.insert(name.clone(), display(argument, account, region));
                    Value::Object(out)
                }
            }
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), display(v, account, region)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn place() -> (AccountId, Region) {
        (
            AccountId::parse("111111111111").unwrap(),
            Region::parse("us-east-1").unwrap(),
        )
    }

    #[test]
    fn resources_are_added_changed_replaced_and_removed() {
        let (account, region) = place();
        let before = json!({ "Resources": {
            "Bucket": { "Type": "AWS::S3::Bucket", "Properties": { "BucketName": "a", "VersioningConfiguration": { "Status": "Enabled" } } },
            "Role": { "Type": "AWS::IAM::Role", "Properties": { "RoleName": "r", "Policies": [
                { "PolicyName": "p", "PolicyDocument": { "Statement": [{ "Sid": "S", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*" }] } }
            ] } },
            "Old": { "Type": "AWS::Logs::LogGroup", "Properties": {} }
        }});
        let after = json!({ "Resources": {
            "Bucket": { "Type": "AWS::S3::Bucket", "Properties": { "BucketName": "b", "VersioningConfiguration": { "Status": "Enabled" } } },
            "Role": { "Type": "AWS::IAM::Role", "Properties": { "RoleName": "r", "Policies": [
                { "PolicyName": "p", "PolicyDocument": { "Statement": [
                    { "Sid": "S", "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["*"] },
                    { "Sid": "T", "Effect": "Allow", "Action": "s3:PutObject", "Resource": { "Fn::Sub": "arn:${AWS::Partition}:s3:::b/*" } }
                ] } }
            ] } },
            "New": { "Type": "AWS::KMS::Key", "Properties": {} }
        }});
        let changes = between(Some(&before), &after, &account, &region);
        let summary: Vec<(&str, ResourceAction)> = changes
            .iter()
            .map(|c| (c.logical_id.as_str(), c.action))
            .collect();
        assert_eq!(
            summary,
            [
                ("Bucket", ResourceAction::Replace),
                ("New", ResourceAction::Add),
                ("Old", ResourceAction::Remove),
                ("Role", ResourceAction::Change),
            ]
        );
        let bucket = &changes[0].properties[0];
        assert_eq!(
            (
                bucket.name.as_str(),
                bucket.replaces,
                bucket.before.as_deref(),
                bucket.after.as_deref()
            ),
            ("BucketName", true, Some("a"), Some("b"))
        );
        let role = &changes[3].properties[0];
        assert_eq!(role.name, "Policies/p");
        assert!(!role.replaces);
        // the unchanged statement, written differently, is not shown
        assert_eq!(
            role.details,
            vec!["+ T: Allow s3:PutObject on arn:aws:s3:::b/*"]
        );
    }

    #[test]
    fn intrinsics_read_as_a_person_would() {
        let (account, region) = place();
        assert_eq!(
            display(
                &json!({ "Fn::Join": ["", ["arn:", { "Ref": "AWS::Partition" }, ":s3:::", { "Ref": "ArtifactBucket" }, "/*"]] }),
                &account,
                &region
            ),
            json!("arn:aws:s3:::${ArtifactBucket}/*")
        );
        assert_eq!(
            display(
                &json!({ "Fn::GetAtt": ["ArtifactKey", "Arn"] }),
                &account,
                &region
            ),
            json!("${ArtifactKey.Arn}")
        );
        assert_eq!(
            display(
                &json!({ "Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/x-${Name}" }),
                &account,
                &region
            ),
            json!("arn:aws:iam::111111111111:role/x-${Name}")
        );
    }
}
