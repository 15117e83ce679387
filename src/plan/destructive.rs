//! What a plan destroys for good: a KMS key (scheduled for deletion, after which everything it
//! encrypted is unreadable), a bucket and every object version in it, a deploy role (the
//! pipelines that deploy into its account stop). Apply and destroy refuse such a plan under
//! `--yes` unless `--allow-destructive` says so too.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Action, Change, Deployed};
use crate::layout::StackKind;

/// One resource a plan destroys, in words a person reads before agreeing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Destruction {
    /// The stack whose change destroys it (empty for a bucket outside any stack).
    pub(crate) stack: String,
    /// The account it is in.
    pub(crate) account: crate::topology::AccountId,
    /// The region it is in.
    pub(crate) region: crate::topology::Region,
    /// `AWS::KMS::Key`, `AWS::S3::Bucket` or `AWS::IAM::Role`.
    pub(crate) resource_type: String,
    /// The bucket or role name, or the key's logical id.
    pub(crate) name: String,
    /// What goes, and when.
    pub(crate) consequence: String,
}

/// The destructions of the deletes among `changes`, read from the deployed templates.
pub(crate) fn destructions(changes: &[Change], deployed: &Deployed) -> Vec<Destruction> {
    let mut out = Vec::new();
    for change in changes.iter().filter(|c| c.action == Action::Delete) {
        let Some(stack) = deployed.find(&change.stack) else {
            continue;
        };
        let Some(resources) = stack
            .template
            .as_ref()
            .and_then(|t| t["Resources"].as_object())
        else {
            continue;
        };
        for (logical, resource) in resources {
            if resource["DeletionPolicy"] == "Retain" {
                continue; // kept when its stack goes: destroy names it among the warnings
            }
            let properties = &resource["Properties"];
            let (name, consequence) = match resource["Type"].as_str() {
                Some("AWS::KMS::Key") => {
                    let days = properties["PendingWindowInDays"].as_u64().unwrap_or(30);
                    (
                        logical.clone(),
                        format!(
                            "the artifact key is scheduled for deletion and is deleted for good {days} days later; until then `aws kms cancel-key-deletion` can save it, after that nothing it encrypted can be read"
                        ),
                    )
                }
                Some("AWS::S3::Bucket") => (
                    name_of(properties, "BucketName", logical),
                    "the bucket is emptied (every object version and delete marker) and deleted; its objects cannot be recovered".into(),
                ),
                Some("AWS::IAM::Role")
                    if change.stack.key.kind() == StackKind::Deploy && is_named(properties) =>
                {
                    (
                    name_of(properties, "RoleName", logical),
                    "the role is deleted: pipelines that deploy into this account stop working until it is created again".into(),
                    )
                }
                Some("AWS::IAM::Role")
                    if change.stack.key.kind() == StackKind::StackSet && is_named(properties) =>
                {
                    (
                    name_of(properties, "RoleName", logical),
                    "the role is deleted in every account of the StackSet: pipelines that deploy into them stop working until it is created again".into(),
                    )
                }
                _ => continue,
            };
            out.push(Destruction {
                stack: change.stack.name.clone(),
                account: change.stack.account.clone(),
                region: change.stack.region.clone(),
                resource_type: resource["Type"].as_str().unwrap_or_default().to_owned(),
                name,
                consequence,
            });
        }
    }
    out
}

/// The deploy stack's roles have fixed names: the pipelines of the build account name them.
fn is_named(properties: &Value) -> bool {
    properties["RoleName"].is_string()
}

fn name_of(properties: &Value, key: &str, logical: &str) -> String {
    properties[key]
        .as_str()
        .map_or_else(|| logical.to_owned(), str::to_owned)
}
