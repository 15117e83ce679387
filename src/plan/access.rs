//! Who gains or loses what: the access a plan grants and takes away, read from the bucket
//! policies, key policies, trust policies and managed policies of the templates before and
//! after, and said in words per account and role.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::resources::display;
use super::{Action, Change, Deployed};
use crate::topology::Topology;

/// What one principal gains and loses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AccessChange {
    /// `account 222222222222 (development)`, `role acme-cloudformation in 222222222222`, …
    pub(crate) who: String,
    /// What it gains, in words.
    pub(crate) gains: Vec<String>,
    /// What it loses, in words.
    pub(crate) loses: Vec<String>,
}

/// One grant, as plinth says it: who, and what on which region's artifacts.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Grant {
    /// Get artifacts from the artifact bucket of a region.
    Read { who: String, region: String },
    /// Decrypt with the artifact key of a region.
    Decrypt { who: String, region: String },
    /// Any other allow of a bucket or key policy.
    Other { who: String, what: String },
    /// A managed policy on a role.
    Policy { role: String, arn: String },
    /// A principal a role trusts.
    Trust { role: String, principal: String },
}

impl Grant {
    fn who(&self) -> String {
        match self {
            Grant::Read { who, .. } | Grant::Decrypt { who, .. } | Grant::Other { who, .. } => {
                who.clone()
            }
            Grant::Policy { role, .. } | Grant::Trust { role, .. } => role.clone(),
        }
    }
}

/// The access changes of a plan, per principal, in words.
pub(crate) fn changes(
    topology: &Topology,
    changes: &[Change],
    deployed: &Deployed,
) -> Vec<AccessChange> {
    let names = account_names(topology);
    // The last template of each stack before and after the plan.
    let mut before: BTreeSet<Grant> = BTreeSet::new();
    let mut after: BTreeSet<Grant> = BTreeSet::new();
    let mut seen = BTreeSet::new();
    for change in changes.iter().rev() {
        if !seen.insert(change.stack.key.clone()) {
            continue;
        }
        let (account, region) = (&change.stack.account, &change.stack.region);
        // A StackSet's roles live in every account it serves, not in the organization account.
        let place = match &change.stack.key {
            crate::layout::StackKey::StackSet { target } => {
                format!("every account of target `{target}` (StackSet)")
            }
            _ => account.to_string(),
        };
        let old = deployed
            .find(&change.stack)
            .and_then(|s| s.template.as_ref());
        if let Some(old) = old {
            grants(
                &display(old, account, region),
                region.as_str(),
                &place,
                &names,
                &mut before,
            );
        }
        let new: Option<Value> = match change.action {
            Action::Delete => None,
            Action::NoChange => old.cloned(),
            _ => change
                .template
                .as_deref()
                .and_then(|t| serde_json::from_str(t).ok()),
        };
        if let Some(new) = new {
            grants(
                &display(&new, account, region),
                region.as_str(),
                &place,
                &names,
                &mut after,
            );
        }
    }
    let gained: Vec<&Grant> = after.difference(&before).collect();
    let lost: Vec<&Grant> = before.difference(&after).collect();
    let mut by_who: BTreeMap<String, (Vec<&Grant>, Vec<&Grant>)> = BTreeMap::new();
    for g in gained {
        by_who.entry(g.who()).or_default().0.push(g);
    }
    for g in lost {
        by_who.entry(g.who()).or_default().1.push(g);
    }
    by_who
        .into_iter()
        .map(|(who, (gains, loses))| AccessChange {
            who,
            gains: words(&gains),
            loses: words(&loses),
        })
        .collect()
}

fn account_names(topology: &Topology) -> BTreeMap<String, String> {
    let mut names: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for t in &topology.targets {
        names
            .entry(t.account.to_string())
            .or_default()
            .push(t.name.clone());
    }
    names
        .entry(topology.build.account.to_string())
        .or_default()
        .insert(0, "build".into());
    names.into_iter().map(|(a, n)| (a, n.join(", "))).collect()
}

fn account_label(account: &str, names: &BTreeMap<String, String>) -> String {
    match names.get(account) {
        Some(n) => format!("account {account} ({n})"),
        None => format!("account {account}"),
    }
}

/// The principals of an allow statement, as labels: an account for its root and its deploy
/// roles (the grants name both of an account's roles), the organization for `*` with
/// `aws:PrincipalOrgID`.
fn principals(statement: &Value, names: &BTreeMap<String, String>) -> Vec<String> {
    let mut out = BTreeSet::new();
    let aws = &statement["Principal"]["AWS"];
    let items: Vec<&Value> = match aws {
        Value::Array(items) => items.iter().collect(),
        Value::Null => Vec::new(),
        one => vec![one],
    };
    for item in items {
        let Some(arn) = item.as_str() else { continue };
        if arn == "*" {
            if let Some(org) = statement["Condition"]["StringEquals"]["aws:PrincipalOrgID"].as_str()
            {
                out.insert(format!("every account of organization {org}"));
            }
            continue;
        }
        if let Some(account) = arn
            .split(':')
            .nth(4)
            .filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
        {
            out.insert(account_label(account, names));
        }
    }
    out.into_iter().collect()
}

fn actions(statement: &Value) -> Vec<String> {
    match &statement["Action"] {
        Value::Array(items) => items
            .iter()
            .filter_map(|a| a.as_str().map(str::to_owned))
            .collect(),
        Value::String(s) => vec![s.clone()],
        _ => Vec::new(),
    }
}

fn allows(document: &Value) -> Vec<Value> {
    match &document["Statement"] {
        Value::Array(items) => items
            .iter()
            .filter(|s| s["Effect"] == "Allow")
            .cloned()
            .collect(),
        _ => Vec::new(),
    }
}

fn grants(
    template: &Value,
    region: &str,
    account: &str,
    names: &BTreeMap<String, String>,
    out: &mut BTreeSet<Grant>,
) {
    let Some(resources) = template["Resources"].as_object() else {
        return;
    };
    for resource in resources.values() {
        let properties = &resource["Properties"];
        match resource["Type"].as_str() {
            Some("AWS::S3::BucketPolicy") => {
                for statement in allows(&properties["PolicyDocument"]) {
                    let actions = actions(&statement);
                    for who in principals(&statement, names) {
                        if actions.iter().any(|a| a == "s3:GetObject") {
                            out.insert(Grant::Read {
                                who: who.clone(),
                                region: region.to_owned(),
                            });
                        } else if !actions
                            .iter()
                            .all(|a| a.starts_with("s3:Get") || a == "s3:ListBucket")
                        {
                            out.insert(Grant::Other {
                                who,
                                what: format!(
                                    "{} on the artifact bucket in {region}",
                                    actions.join(", ")
                                ),
                            });
                        }
                    }
                }
            }
            Some("AWS::KMS::Key") => {
                for statement in allows(&properties["KeyPolicy"]) {
                    let actions = actions(&statement);
                    for who in principals(&statement, names) {
                        if who.starts_with(&format!("account {account}")) {
                            continue; // the key's own account administers it
                        }
                        if actions
                            .iter()
                            .all(|a| a == "kms:Decrypt" || a == "kms:DescribeKey")
                        {
                            out.insert(Grant::Decrypt {
                                who,
                                region: region.to_owned(),
                            });
                        } else {
                            out.insert(Grant::Other {
                                who,
                                what: format!(
                                    "{} with the artifact key in {region}",
                                    actions.join(", ")
                                ),
                            });
                        }
                    }
                }
            }
            Some("AWS::IAM::Role") => {
                let Some(name) = properties["RoleName"].as_str() else {
                    continue;
                };
                let role = format!("role {name} in {account}");
                for arn in properties["ManagedPolicyArns"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                {
                    out.insert(Grant::Policy {
                        role: role.clone(),
                        arn: arn.to_owned(),
                    });
                }
                for statement in allows(&properties["AssumeRolePolicyDocument"]) {
                    let condition = &statement["Condition"]["ArnEquals"]["aws:PrincipalArn"];
                    let trusted: Vec<String> = match condition {
                        Value::Array(items) => items
                            .iter()
                            .filter_map(|v| v.as_str().map(str::to_owned))
                            .collect(),
                        Value::String(s) => vec![s.clone()],
                        // Services are trusted within their own account; what matters here
                        // is which other principals may assume the role.
                        _ => match &statement["Principal"] {
                            Value::Object(p) => p
                                .iter()
                                .filter(|(kind, _)| kind.as_str() == "AWS")
                                .map(|(_, v)| v)
                                .flat_map(|v| match v {
                                    Value::Array(items) => items
                                        .iter()
                                        .filter_map(|i| i.as_str().map(str::to_owned))
                                        .collect::<Vec<_>>(),
                                    Value::String(s) => vec![s.clone()],
                                    _ => Vec::new(),
                                })
                                .collect(),
                            _ => Vec::new(),
                        },
                    };
                    for principal in trusted {
                        out.insert(Grant::Trust {
                            role: role.clone(),
                            principal,
                        });
                    }
                }
            }
            _ => {}
        }
    }
}

/// Grants of one principal in words: reads and decrypts grouped by region.
fn words(grants: &[&Grant]) -> Vec<String> {
    let mut read = Vec::new();
    let mut decrypt = Vec::new();
    let mut out = Vec::new();
    for g in grants {
        match g {
            Grant::Read { region, .. } => read.push(region.clone()),
            Grant::Decrypt { region, .. } => decrypt.push(region.clone()),
            Grant::Other { what, .. } => out.push(what.clone()),
            Grant::Policy { arn, .. } => out.push(arn.clone()),
            Grant::Trust { principal, .. } => {
                out.push(format!("a principal it trusts, {principal}"));
            }
        }
    }
    let list = |regions: &[String]| match regions {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    };
    if !read.is_empty() && read == decrypt {
        out.insert(
            0,
            format!(
                "read on the artifact bucket{} in {} and decrypt with {} key{}",
                if read.len() == 1 { "" } else { "s" },
                list(&read),
                if read.len() == 1 { "its" } else { "their" },
                if read.len() == 1 { "" } else { "s" }
            ),
        );
    } else {
        if !decrypt.is_empty() {
            out.insert(
                0,
                format!("decrypt with the artifact keys in {}", list(&decrypt)),
            );
        }
        if !read.is_empty() {
            out.insert(
                0,
                format!("read on the artifact buckets in {}", list(&read)),
            );
        }
    }
    out
}
