//! Adoption of a foundation built by the original `bootstrap.sh`: its stacks
//! (`CrossAccountPrimary`, `CrossAccountRegional` in each other region, `CrossAccountDeploy` in
//! each target account) hold the keys and buckets that running pipelines use. plinth moves the
//! keys and buckets into its own stacks under their own names, with their objects and key
//! material, and replaces the rest (aliases, bucket policies, the cross-account roles).
//!
//! A move is done in steps that each leave AWS consistent, so that an apply stopped anywhere
//! converges when run again: the old stack is updated to keep the resources to move when they
//! leave it (`DeletionPolicy: Retain`), then updated again without them (and without what names
//! them); plinth's stack imports them (`plan::imports`); at the end the old stack is deleted.
//! CloudFormation refuses to delete or change an export another stack imports, so an old stack
//! whose exports are imported stays, holding only those exports with the values they had, until
//! nothing imports them.
//!
//! Which resources move is read from the old stacks' exports, not from their logical ids:
//! `CrossAccountCMK` names the key, `BuildBucket` the build bucket, `PipelineBucket` the region's
//! artifact bucket.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::StackSummary;
use crate::layout::BucketKind;
use crate::templates::canonical_json;
use crate::topology::{AccountId, Region, Topology};

/// The export that names an original stack's key.
pub(crate) const KEY_EXPORT: &str = "CrossAccountCMK";
/// The export that names the build bucket.
pub(crate) const BUILD_BUCKET_EXPORT: &str = "BuildBucket";
/// The export that names a region's pipeline (artifact) bucket.
pub(crate) const PIPELINE_BUCKET_EXPORT: &str = "PipelineBucket";

/// Which stack of the original foundation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum OldRole {
    /// The build region's stack: key, build and pipeline buckets.
    Primary,
    /// Another region's stack: key and pipeline bucket.
    Regional,
    /// A target account's stack: the two cross-account roles.
    Deploy,
}

/// One resource of an old stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct OldResource {
    /// The old template's name for it.
    pub(crate) logical_id: String,
    /// Its type.
    pub(crate) resource_type: String,
    /// Its name or id.
    pub(crate) physical_id: String,
}

/// A stack of the original foundation, as the snapshot read it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OldStack {
    /// Its account.
    pub(crate) account: AccountId,
    /// Its region.
    pub(crate) region: Region,
    /// Which of the original stacks it is.
    pub(crate) role: OldRole,
    /// What CloudFormation says of it.
    pub(crate) summary: StackSummary,
    /// Its template, parsed.
    pub(crate) template: Value,
    /// Its resources.
    pub(crate) resources: Vec<OldResource>,
    /// Its exports (by export name) that other stacks import, with those stacks.
    pub(crate) importers: BTreeMap<String, Vec<String>>,
}

impl OldStack {
    /// What an export's value names: a resource of the stack (`Ref` or `Fn::GetAtt`), or, once
    /// the stack let go of it, the literal value the export keeps (a bucket name, a key ARN).
    fn exported(&self, export: &str) -> Option<Exported> {
        let outputs = self.template.get("Outputs")?.as_object()?;
        let output = outputs
            .values()
            .find(|o| o.pointer("/Export/Name").and_then(Value::as_str) == Some(export))?;
        let value = output.get("Value")?;
        if let Some(literal) = value.as_str() {
            return Some(Exported::Released(literal.to_owned()));
        }
        value
            .get("Ref")
            .and_then(Value::as_str)
            .or_else(|| value.pointer("/Fn::GetAtt/0").and_then(Value::as_str))
            .map(|logical| Exported::Held(logical.to_owned()))
    }

    fn physical(&self, logical: &str) -> Option<&str> {
        self.resources
            .iter()
            .find(|r| r.logical_id == logical)
            .map(|r| r.physical_id.as_str())
    }

    /// The name or id of what an export names, held or released: a key by its id.
    fn named(&self, exported: &Exported, moved: Moved) -> Option<String> {
        let value = match exported {
            Exported::Held(logical) => self.physical(logical)?.to_owned(),
            Exported::Released(value) => value.clone(),
        };
        Some(match moved {
            Moved::Key => value.rsplit('/').next().unwrap_or(&value).to_owned(),
            Moved::BuildBucket | Moved::ArtifactBucket => value,
        })
    }

    /// Every resource the stack's exports name, held or released: (what its export names,
    /// plinth logical id, what it is).
    fn exported_resources(&self) -> Vec<(Exported, &'static str, Moved)> {
        let wanted: &[(&str, &str, Moved)] = match self.role {
            OldRole::Primary => &[
                (KEY_EXPORT, "ArtifactKey", Moved::Key),
                (BUILD_BUCKET_EXPORT, "BuildBucket", Moved::BuildBucket),
                (
                    PIPELINE_BUCKET_EXPORT,
                    "ArtifactBucket",
                    Moved::ArtifactBucket,
                ),
            ],
            OldRole::Regional => &[
                (KEY_EXPORT, "ArtifactKey", Moved::Key),
                (
                    PIPELINE_BUCKET_EXPORT,
                    "ArtifactBucket",
                    Moved::ArtifactBucket,
                ),
            ],
            OldRole::Deploy => &[],
        };
        wanted
            .iter()
            .filter_map(|(export, to, moved)| {
                self.exported(export).map(|named| (named, *to, *moved))
            })
            .collect()
    }

    /// What still moves out of the stack into plinth's: (old logical id, plinth logical id,
    /// what it is).
    fn moving(&self) -> Vec<(String, &'static str, Moved)> {
        self.exported_resources()
            .into_iter()
            .filter_map(|(named, to, moved)| match named {
                Exported::Held(logical) => Some((logical, to, moved)),
                Exported::Released(_) => None,
            })
            .collect()
    }
}

/// What an export of an old stack names.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Exported {
    /// A resource the stack holds, by logical id.
    Held(String),
    /// The value of a resource the stack has let go of.
    Released(String),
}

/// What kind of resource moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Moved {
    /// The artifact key.
    Key,
    /// The build bucket.
    BuildBucket,
    /// A region's artifact bucket.
    ArtifactBucket,
}

/// One resource moving from an old stack into plinth's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Move {
    /// The old template's name for it.
    pub(crate) from_logical_id: String,
    /// Its type.
    pub(crate) resource_type: String,
    /// Its name or id, which it keeps.
    pub(crate) physical_id: String,
    /// The plinth stack it moves into.
    pub(crate) to_stack: String,
    /// The plinth template's name for it.
    pub(crate) to_logical_id: String,
}

/// What becomes of one old stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct OldStackPlan {
    /// Its account.
    pub(crate) account: AccountId,
    /// Its region.
    pub(crate) region: Region,
    /// Its name.
    pub(crate) name: String,
    /// Its id.
    pub(crate) stack_id: String,
    /// What moves out of it into plinth's stacks.
    pub(crate) moves: Vec<Move>,
    /// The template that keeps the resources to move when they leave (each with
    /// `DeletionPolicy: Retain`); `None` when the stack already says so, or nothing moves.
    pub(crate) retain_template: Option<String>,
    /// The template without the resources to move and what names them, its exports kept with
    /// their values; `None` when nothing is left to move out.
    pub(crate) release_template: Option<String>,
    /// The stack's parameters, sent again with each update.
    pub(crate) parameters: BTreeMap<String, String>,
    /// The stack's tags, sent again with each update.
    pub(crate) tags: BTreeMap<String, String>,
    /// Resources that go, with the release or with the stack: (logical id, type, name).
    pub(crate) replaced: Vec<(String, String, String)>,
    /// Exports other stacks import, with those stacks: the stack stays, holding them.
    pub(crate) exports_in_use: BTreeMap<String, Vec<String>>,
    /// Whether apply deletes the stack at the end (nothing imports its exports, and it holds no
    /// bucket or key that stays behind).
    pub(crate) delete: bool,
    /// Buckets and keys the stack holds that do not move (no export of the original script
    /// names them): (logical id, type, name). Deleting the stack would delete them, so it stays.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) holds_data: Vec<(String, String, String)>,
}

impl OldStackPlan {
    /// Whether apply does anything to this stack.
    pub(crate) fn changes_something(&self) -> bool {
        self.retain_template.is_some() || self.release_template.is_some() || self.delete
    }
}

/// The adoption of the original foundation: what each old stack gives up and what becomes of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub(crate) struct Adoption {
    /// The old stacks found, in account, region, name order.
    pub(crate) stacks: Vec<OldStackPlan>,
}

/// The bucket names the old stacks hold, which plinth keeps: (kind, region) to name.
pub(crate) fn bucket_names(
    topology: &Topology,
    old: &[OldStack],
) -> BTreeMap<(BucketKind, Region), String> {
    let mut names = BTreeMap::new();
    for stack in old.iter().filter(|s| s.account == topology.build.account) {
        for (named, _, moved) in stack.exported_resources() {
            let kind = match moved {
                Moved::Key => continue,
                Moved::BuildBucket => BucketKind::Build,
                Moved::ArtifactBucket => BucketKind::Artifacts,
            };
            if let Some(name) = stack.named(&named, moved) {
                names.insert((kind, stack.region.clone()), name);
            }
        }
    }
    names
}

/// The key ids the old stacks hold, by region: plinth imports them as its artifact keys.
pub(crate) fn key_ids(topology: &Topology, old: &[OldStack]) -> BTreeMap<Region, String> {
    old.iter()
        .filter(|s| s.account == topology.build.account)
        .filter_map(|stack| {
            let (named, _, moved) = stack
                .exported_resources()
                .into_iter()
                .find(|(_, _, m)| *m == Moved::Key)?;
            Some((stack.region.clone(), stack.named(&named, moved)?))
        })
        .collect()
}

/// What becomes of each old stack; `None` without old stacks.
pub(crate) fn plan(topology: &Topology, old: &[OldStack]) -> Option<Adoption> {
    if old.is_empty() {
        return None;
    }
    let stacks = old
        .iter()
        .map(|stack| {
            let to_stack = match stack.role {
                OldRole::Primary => format!("{}-primary", topology.name),
                OldRole::Regional => format!("{}-regional", topology.name),
                OldRole::Deploy => format!("{}-deploy", topology.name),
            };
            let resources = stack
                .template
                .get("Resources")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            let moving: Vec<_> = stack
                .moving()
                .into_iter()
                .filter(|(logical, _, _)| resources.contains_key(logical))
                .collect();
            let moves: Vec<Move> = moving
                .iter()
                .filter_map(|(logical, to, _)| {
                    Some(Move {
                        from_logical_id: logical.clone(),
                        resource_type: resources[logical]
                            .get("Type")
                            .and_then(Value::as_str)?
                            .to_owned(),
                        physical_id: stack.physical(logical)?.to_owned(),
                        to_stack: to_stack.clone(),
                        to_logical_id: (*to).to_owned(),
                    })
                })
                .collect();
            let moved: BTreeSet<String> = moving.iter().map(|(l, _, _)| l.clone()).collect();
            let unretained = moved.iter().any(|l| {
                resources[l].get("DeletionPolicy").and_then(Value::as_str) != Some("Retain")
            });
            let retain_template = (unretained).then(|| retain(&stack.template, &moved));
            let release_template = (!moved.is_empty()).then(|| release(stack, &moved));
            let gone = dependents(&resources, &moved);
            // A bucket or key that does not move (its export renamed, or one the script did not
            // make) would be deleted with the stack: the stack stays, and the plan says why.
            let holds_data: Vec<(String, String, String)> = resources
                .iter()
                .filter(|(logical, r)| {
                    !moved.contains(*logical)
                        && matches!(
                            r.get("Type").and_then(Value::as_str),
                            Some("AWS::S3::Bucket" | "AWS::KMS::Key")
                        )
                        && r.get("DeletionPolicy").and_then(Value::as_str) != Some("Retain")
                })
                .map(|(logical, r)| {
                    (
                        logical.clone(),
                        r.get("Type")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_owned(),
                        stack.physical(logical).unwrap_or("").to_owned(),
                    )
                })
                .collect();
            let replaced = resources
                .iter()
                .filter(|(logical, _)| !moved.contains(*logical))
                .map(|(logical, r)| {
                    (
                        logical.clone(),
                        r.get("Type")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_owned(),
                        stack.physical(logical).unwrap_or("").to_owned(),
                    )
                })
                .filter(|(logical, kind, _)| {
                    logical != PLACEHOLDER
                        && (gone.contains(logical) || stack.importers.is_empty())
                        && !holds_data.iter().any(|(l, k, _)| l == logical && k == kind)
                })
                .collect();
            OldStackPlan {
                account: stack.account.clone(),
                region: stack.region.clone(),
                name: stack.summary.name.clone(),
                stack_id: stack.summary.id.clone(),
                moves,
                retain_template,
                release_template,
                parameters: stack.summary.parameters.clone(),
                tags: stack.summary.tags.clone(),
                replaced,
                exports_in_use: stack.importers.clone(),
                delete: stack.importers.is_empty() && holds_data.is_empty(),
                holds_data,
            }
        })
        .collect();
    Some(Adoption { stacks })
}

/// The resource an old stack keeps when nothing else is left in it but exports in use: a
/// template needs one resource.
pub(crate) const PLACEHOLDER: &str = "AdoptedByPlinth";

fn retain(template: &Value, moved: &BTreeSet<String>) -> String {
    let mut template = template.clone();
    if let Some(resources) = template.get_mut("Resources").and_then(Value::as_object_mut) {
        for logical in moved {
            if let Some(resource) = resources.get_mut(logical) {
                resource["DeletionPolicy"] = json!("Retain");
            }
        }
    }
    canonical_json(&template)
}

/// The logical ids that name a moved resource, directly or through another such resource.
fn dependents(
    resources: &serde_json::Map<String, Value>,
    moved: &BTreeSet<String>,
) -> BTreeSet<String> {
    let mut gone: BTreeSet<String> = moved.clone();
    loop {
        let more: Vec<String> = resources
            .iter()
            .filter(|(logical, r)| !gone.contains(*logical) && names_any(r, &gone))
            .map(|(logical, _)| logical.clone())
            .collect();
        if more.is_empty() {
            return gone;
        }
        gone.extend(more);
    }
}

fn names_any(value: &Value, logicals: &BTreeSet<String>) -> bool {
    match value {
        Value::Object(map) => map.iter().any(|(key, inner)| match (key.as_str(), inner) {
            ("Ref", Value::String(name)) => logicals.contains(name),
            ("Fn::GetAtt", Value::Array(parts)) => parts
                .first()
                .and_then(Value::as_str)
                .is_some_and(|name| logicals.contains(name)),
            ("DependsOn", Value::String(name)) => logicals.contains(name),
            _ => names_any(inner, logicals),
        }),
        Value::Array(items) => items.iter().any(|v| names_any(v, logicals)),
        _ => false,
    }
}

/// The old template without the moved resources and what names them; exported outputs keep
/// their values as literals (an export another stack imports must not change), the rest of the
/// outputs that named what goes are dropped.
fn release(stack: &OldStack, moved: &BTreeSet<String>) -> String {
    let mut template = stack.template.clone();
    let resources = template
        .get("Resources")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let gone = dependents(&resources, moved);
    let mut kept: serde_json::Map<String, Value> = resources
        .into_iter()
        .filter(|(logical, _)| !gone.contains(logical))
        .collect();
    if kept.is_empty() {
        kept.insert(
            PLACEHOLDER.to_owned(),
            json!({ "Type": "AWS::CloudFormation::WaitConditionHandle" }),
        );
    }
    template["Resources"] = Value::Object(kept);
    if let Some(outputs) = template.get_mut("Outputs").and_then(Value::as_object_mut) {
        let names: Vec<String> = outputs.keys().cloned().collect();
        for name in names {
            if !names_any(&outputs[&name], &gone) {
                continue;
            }
            match stack.summary.outputs.get(&name) {
                Some(value) if outputs[&name].get("Export").is_some() => {
                    outputs[&name]["Value"] = json!(value);
                }
                _ => {
                    outputs.remove(&name);
                }
            }
        }
        if outputs.is_empty() {
            template.as_object_mut().map(|t| t.remove("Outputs"));
        }
    }
    canonical_json(&template)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::StackStatus;

    fn summary(outputs: &[(&str, &str)]) -> StackSummary {
        StackSummary {
            id: "arn:aws:cloudformation:us-east-1:111111111111:stack/CrossAccountPrimary/1".into(),
            name: "CrossAccountPrimary".into(),
            status: StackStatus::CreateComplete,
            status_reason: None,
            parameters: BTreeMap::new(),
            tags: BTreeMap::new(),
            outputs: outputs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            changed_at: "t1".into(),
        }
    }

    fn primary(importers: &[(&str, &[&str])]) -> OldStack {
        OldStack {
            account: AccountId::parse("111111111111").unwrap(),
            region: Region::parse("us-east-1").unwrap(),
            role: OldRole::Primary,
            summary: summary(&[
                ("CMK", "arn:aws:kms:us-east-1:111111111111:key/k1"),
                ("BuildBucket", "old-build"),
                ("PipelineBucket", "old-pipeline"),
            ]),
            template: json!({
                "Resources": {
                    "CMK": { "Type": "AWS::KMS::Key", "Properties": {} },
                    "CMKAlias": { "Type": "AWS::KMS::Alias", "Properties": { "TargetKeyId": { "Ref": "CMK" } } },
                    "BuildBucket": { "Type": "AWS::S3::Bucket" },
                    "PipelineBucket": { "Type": "AWS::S3::Bucket", "Properties": { "BucketEncryption": { "Fn::GetAtt": ["CMK", "Arn"] } } },
                    "PipelineBucketPolicy": { "Type": "AWS::S3::BucketPolicy", "Properties": { "Bucket": { "Ref": "PipelineBucket" } } },
                    "Topic": { "Type": "AWS::SNS::Topic" }
                },
                "Outputs": {
                    "CMK": { "Value": { "Fn::GetAtt": ["CMK", "Arn"] }, "Export": { "Name": "CrossAccountCMK" } },
                    "BuildBucket": { "Value": { "Ref": "BuildBucket" }, "Export": { "Name": "BuildBucket" } },
                    "PipelineBucket": { "Value": { "Ref": "PipelineBucket" }, "Export": { "Name": "PipelineBucket" } },
                    "Note": { "Value": { "Ref": "CMKAlias" } }
                }
            }),
            resources: [
                ("CMK", "AWS::KMS::Key", "k1"),
                (
                    "CMKAlias",
                    "AWS::KMS::Alias",
                    "alias/codepipeline-crossaccounts",
                ),
                ("BuildBucket", "AWS::S3::Bucket", "old-build"),
                ("PipelineBucket", "AWS::S3::Bucket", "old-pipeline"),
                (
                    "PipelineBucketPolicy",
                    "AWS::S3::BucketPolicy",
                    "old-pipeline",
                ),
                ("Topic", "AWS::SNS::Topic", "arn:topic"),
            ]
            .iter()
            .map(|(l, t, p)| OldResource {
                logical_id: (*l).into(),
                resource_type: (*t).into(),
                physical_id: (*p).into(),
            })
            .collect(),
            importers: importers
                .iter()
                .map(|(e, s)| ((*e).to_owned(), s.iter().map(|s| (*s).to_owned()).collect()))
                .collect(),
        }
    }

    fn topology() -> Topology {
        crate::fixtures::wide_pipeline()
    }

    #[test]
    fn the_exports_say_what_moves_and_the_buckets_keep_their_names() {
        let old = [primary(&[])];
        let names = bucket_names(&topology(), &old);
        let region = Region::parse("us-east-1").unwrap();
        assert_eq!(names[&(BucketKind::Build, region.clone())], "old-build");
        assert_eq!(
            names[&(BucketKind::Artifacts, region.clone())],
            "old-pipeline"
        );
        assert_eq!(key_ids(&topology(), &old)[&region], "k1");
        let adoption = plan(&topology(), &old).unwrap();
        let stack = &adoption.stacks[0];
        let moves: Vec<_> = stack
            .moves
            .iter()
            .map(|m| {
                (
                    m.from_logical_id.as_str(),
                    m.to_logical_id.as_str(),
                    m.to_stack.as_str(),
                )
            })
            .collect();
        assert_eq!(
            moves,
            [
                ("CMK", "ArtifactKey", "acme-primary"),
                ("BuildBucket", "BuildBucket", "acme-primary"),
                ("PipelineBucket", "ArtifactBucket", "acme-primary"),
            ]
        );
        assert!(stack.delete);
    }

    #[test]
    fn the_release_retains_first_then_drops_what_moves_and_what_names_it_keeping_exports() {
        let adoption = plan(&topology(), &[primary(&[("BuildBucket", &["app"])])]).unwrap();
        let stack = &adoption.stacks[0];
        let retained: Value =
            serde_json::from_str(stack.retain_template.as_ref().unwrap()).unwrap();
        for logical in ["CMK", "BuildBucket", "PipelineBucket"] {
            assert_eq!(
                retained["Resources"][logical]["DeletionPolicy"], "Retain",
                "{logical}"
            );
        }
        assert!(
            retained["Resources"]["Topic"]
                .get("DeletionPolicy")
                .is_none()
        );
        let released: Value =
            serde_json::from_str(stack.release_template.as_ref().unwrap()).unwrap();
        let left: Vec<&String> = released["Resources"].as_object().unwrap().keys().collect();
        assert_eq!(
            left,
            ["Topic"],
            "the alias and the policy name what moves: they go"
        );
        assert_eq!(released["Outputs"]["BuildBucket"]["Value"], "old-build");
        assert_eq!(
            released["Outputs"]["CMK"]["Value"],
            "arn:aws:kms:us-east-1:111111111111:key/k1"
        );
        assert!(
            released["Outputs"].get("Note").is_none(),
            "an output that is no export goes"
        );
        assert!(!stack.delete, "an export in use keeps the stack");
        assert_eq!(stack.exports_in_use["BuildBucket"], ["app"]);
    }

    #[test]
    fn a_stack_holding_a_bucket_that_does_not_move_is_never_deleted() {
        let mut stack = primary(&[]);
        stack.template["Resources"]["Logs"] = json!({ "Type": "AWS::S3::Bucket" });
        stack.resources.push(OldResource {
            logical_id: "Logs".into(),
            resource_type: "AWS::S3::Bucket".into(),
            physical_id: "old-logs".into(),
        });
        let adoption = plan(&topology(), &[stack]).unwrap();
        let stack = &adoption.stacks[0];
        assert!(!stack.delete);
        assert_eq!(
            stack.holds_data,
            [(
                "Logs".to_owned(),
                "AWS::S3::Bucket".to_owned(),
                "old-logs".to_owned()
            )]
        );
        assert!(!stack.replaced.iter().any(|(l, _, _)| l == "Logs"));
    }

    #[test]
    fn a_released_stack_has_nothing_left_to_move_and_is_only_deleted() {
        let mut stack = primary(&[]);
        let released: Value = serde_json::from_str(
            plan(&topology(), &[stack.clone()]).unwrap().stacks[0]
                .release_template
                .as_ref()
                .unwrap(),
        )
        .unwrap();
        stack.template = released;
        let adoption = plan(&topology(), &[stack]).unwrap();
        let stack = &adoption.stacks[0];
        assert_eq!(stack.retain_template, None);
        assert_eq!(stack.release_template, None);
        assert!(stack.moves.is_empty());
        assert!(stack.delete);
        // what it let go of is still known by the values its exports keep: an apply stopped
        // after the release imports the same key and buckets when run again
        let old = [released_stack()];
        let region = Region::parse("us-east-1").unwrap();
        assert_eq!(key_ids(&topology(), &old)[&region], "k1");
        assert_eq!(
            bucket_names(&topology(), &old)[&(BucketKind::Artifacts, region)],
            "old-pipeline"
        );
    }

    fn released_stack() -> OldStack {
        let mut stack = primary(&[]);
        stack.template = serde_json::from_str(
            plan(&topology(), &[stack.clone()]).unwrap().stacks[0]
                .release_template
                .as_ref()
                .unwrap(),
        )
        .unwrap();
        stack
    }
}
