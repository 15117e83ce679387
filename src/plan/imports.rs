//! Resources that already exist under the names a stack declares, outside any stack: a bucket
//! left by a stack deleted with `DeletionPolicy: Retain`, a key and alias made by hand. Creating
//! the stack would fail on them ("already exists"); instead apply brings them under the stack
//! with a change set of type `IMPORT`, then updates the stack to its template, so their objects
//! and key material stay.
//!
//! The import's template declares the imported resources and nothing else, each with
//! `DeletionPolicy: Retain` (CloudFormation imports nothing without a deletion policy) and only
//! the properties that identify it: the update that follows sets every other property as
//! declared, as it would on any stack.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::templates::canonical_json;
use crate::topology::{AccountId, Region};

/// A resource with one of plinth's names that no stack holds, as the snapshot found it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Outside {
    /// The account that holds it.
    pub(crate) account: AccountId,
    /// The region of the stack that declares it.
    pub(crate) region: Region,
    /// The stack that declares it.
    pub(crate) stack: String,
    /// What was found.
    pub(crate) found: Found,
}

/// What was found under a name a stack declares.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Found {
    /// A bucket of the stack's account and region.
    Bucket {
        /// Its name.
        name: String,
    },
    /// An IAM role of the stack's account.
    Role {
        /// Its name.
        name: String,
        /// Its trust policy as it is now (JSON), when it could be read.
        trust: Option<String>,
    },
    /// A log group of the stack's account and region.
    LogGroup {
        /// Its name.
        name: String,
    },
    /// A Lambda function of the stack's account and region.
    Function {
        /// Its name.
        name: String,
        /// The ARN of the role it runs as now.
        role: String,
        /// Its runtime now.
        runtime: Option<String>,
        /// Its handler now.
        handler: Option<String>,
    },
    /// A key of the original foundation's stack of this region, which moves into plinth's.
    Key {
        /// The key's id.
        key_id: String,
    },
    /// A KMS alias and the key it points at, which is not pending deletion.
    Alias {
        /// The alias's name (`alias/…`).
        name: String,
        /// The id of the key it points at.
        key_id: String,
    },
}

/// One resource an import brings under a stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportedResource {
    /// The template's name for it.
    pub(crate) logical_id: String,
    /// Its type.
    pub(crate) resource_type: String,
    /// The identifier its type takes (`BucketName`, `KeyId`, `AliasName`), with its value.
    pub(crate) identifier: BTreeMap<String, String>,
}

impl ImportedResource {
    /// `BucketName=acme-artifacts-…`, as the plan shows it.
    pub(crate) fn identifier_text(&self) -> String {
        self.identifier
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// What apply imports into a stack before it creates the rest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Import {
    /// The import's template (canonical JSON): the imported resources alone.
    pub(crate) template: String,
    /// The resources, in template order.
    pub(crate) resources: Vec<ImportedResource>,
}

/// The import of what `found` holds among the resources `template` declares; `None` when
/// nothing declared is found.
pub(crate) fn import(template: &Value, found: &[&Found]) -> Option<Import> {
    let declared = template.get("Resources")?.as_object()?;
    let property = |resource: &Value, name: &str| {
        resource
            .pointer(&format!("/Properties/{name}"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let mut resources = Vec::new();
    let mut body = Map::new();
    for (logical_id, resource) in declared {
        let kind = resource.get("Type").and_then(Value::as_str).unwrap_or("");
        for found in found {
            match (kind, found) {
                ("AWS::S3::Bucket", Found::Bucket { name })
                    if property(resource, "BucketName").as_deref() == Some(name) =>
                {
                    body.insert(
                        logical_id.clone(),
                        retained(kind, json!({ "BucketName": name })),
                    );
                    resources.push(imported(logical_id, kind, "BucketName", name));
                }
                ("AWS::KMS::Alias", Found::Alias { name, key_id })
                    if property(resource, "AliasName").as_deref() == Some(name) =>
                {
                    // The key comes with its alias: the alias's target is the key's `Ref`.
                    let Some(key) = resource
                        .pointer("/Properties/TargetKeyId/Ref")
                        .and_then(Value::as_str)
                    else {
                        continue;
                    };
                    body.insert(key.to_owned(), retained("AWS::KMS::Key", json!({})));
                    resources.push(imported(key, "AWS::KMS::Key", "KeyId", key_id));
                    body.insert(
                        logical_id.clone(),
                        retained(
                            kind,
                            json!({ "AliasName": name, "TargetKeyId": { "Ref": key } }),
                        ),
                    );
                    resources.push(imported(logical_id, kind, "AliasName", name));
                }
                ("AWS::IAM::Role", Found::Role { name, trust })
                    if property(resource, "RoleName").as_deref() == Some(name) =>
                {
                    // A role's trust is required, and CloudFormation records it as given: the
                    // role's own, so that the update that follows sets the declared one where it
                    // differs (the declared one when the role's could not be read).
                    let live = trust
                        .as_deref()
                        .and_then(|t| serde_json::from_str::<Value>(t).ok());
                    let Some(trust) = live.or_else(|| {
                        resource
                            .pointer("/Properties/AssumeRolePolicyDocument")
                            .filter(|t| !names_anything(t))
                            .cloned()
                    }) else {
                        continue;
                    };
                    body.insert(
                        logical_id.clone(),
                        retained(
                            kind,
                            json!({ "RoleName": name, "AssumeRolePolicyDocument": trust }),
                        ),
                    );
                    resources.push(imported(logical_id, kind, "RoleName", name));
                }
                ("AWS::Logs::LogGroup", Found::LogGroup { name })
                    if property(resource, "LogGroupName").as_deref() == Some(name) =>
                {
                    body.insert(
                        logical_id.clone(),
                        retained(kind, json!({ "LogGroupName": name })),
                    );
                    resources.push(imported(logical_id, kind, "LogGroupName", name));
                }
                (
                    "AWS::Lambda::Function",
                    Found::Function {
                        name,
                        role,
                        runtime,
                        handler,
                    },
                ) if property(resource, "FunctionName").as_deref() == Some(name)
                    && !role.is_empty() =>
                {
                    // Code, role, runtime and handler are required: the function's own role,
                    // runtime and handler, and code that is not the declared one, so that the
                    // update that follows sets each as declared.
                    let mut properties = json!({
                        "FunctionName": name,
                        "Role": role,
                        "Code": { "ZipFile": IMPORTED_CODE },
                    });
                    for (key, live) in [("Runtime", runtime), ("Handler", handler)] {
                        let declared = resource.pointer(&format!("/Properties/{key}"));
                        if let Some(value) = live
                            .clone()
                            .map(Value::String)
                            .or_else(|| declared.cloned())
                        {
                            properties[key] = value;
                        }
                    }
                    body.insert(logical_id.clone(), retained(kind, properties));
                    resources.push(imported(logical_id, kind, "FunctionName", name));
                }
                ("AWS::KMS::Key", Found::Key { key_id }) if !body.contains_key(logical_id) => {
                    body.insert(logical_id.clone(), retained(kind, json!({})));
                    resources.push(imported(logical_id, kind, "KeyId", key_id));
                }
                _ => {}
            }
        }
    }
    if resources.is_empty() {
        return None;
    }
    let mut body = json!({ "AWSTemplateFormatVersion": "2010-09-09", "Resources": body });
    if let Some(description) = template.get("Description") {
        body["Description"] = description.clone();
    }
    Some(Import {
        template: canonical_json(&body),
        resources,
    })
}

/// The code an imported function's import template records: not the declared code, so that the
/// update that follows sends the declared code (CloudFormation updates a function's code only
/// when the template's `Code` changes).
const IMPORTED_CODE: &str =
    "# imported by plinth; the update that follows sets the declared code\n";

/// Whether a value holds an intrinsic function (`Ref`, `Fn::…`): it names a parameter or a
/// resource, which an import's template may not hold.
fn names_anything(value: &Value) -> bool {
    match value {
        Value::Object(map) => map
            .iter()
            .any(|(k, v)| k == "Ref" || k.starts_with("Fn::") || names_anything(v)),
        Value::Array(items) => items.iter().any(names_anything),
        _ => false,
    }
}

fn retained(kind: &str, properties: Value) -> Value {
    json!({ "Type": kind, "DeletionPolicy": "Retain", "Properties": properties })
}

fn imported(logical_id: &str, kind: &str, property: &str, value: &str) -> ImportedResource {
    ImportedResource {
        logical_id: logical_id.to_owned(),
        resource_type: kind.to_owned(),
        identifier: BTreeMap::from([(property.to_owned(), value.to_owned())]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template() -> Value {
        json!({
            "Description": "acme regional",
            "Resources": {
                "ArtifactKey": { "Type": "AWS::KMS::Key", "Properties": { "KeyPolicy": {} } },
                "ArtifactKeyAlias": { "Type": "AWS::KMS::Alias", "Properties": {
                    "AliasName": "alias/acme-artifacts", "TargetKeyId": { "Ref": "ArtifactKey" } } },
                "ArtifactBucket": { "Type": "AWS::S3::Bucket", "DeletionPolicy": "Delete", "Properties": {
                    "BucketName": "acme-artifacts-111111111111-us-west-2",
                    "BucketEncryption": { "Fn::GetAtt": ["ArtifactKey", "Arn"] } } },
                "ArtifactBucketPolicy": { "Type": "AWS::S3::BucketPolicy", "Properties": {
                    "Bucket": { "Ref": "ArtifactBucket" } } }
            }
        })
    }

    #[test]
    fn a_bucket_found_is_imported_by_its_name_alone_and_retained() {
        let found = Found::Bucket {
            name: "acme-artifacts-111111111111-us-west-2".into(),
        };
        let import = import(&template(), &[&found]).expect("the bucket is declared");
        assert_eq!(import.resources.len(), 1);
        assert_eq!(import.resources[0].logical_id, "ArtifactBucket");
        assert_eq!(
            import.resources[0].identifier_text(),
            "BucketName=acme-artifacts-111111111111-us-west-2"
        );
        let body: Value = serde_json::from_str(&import.template).unwrap();
        assert_eq!(
            body["Resources"],
            json!({ "ArtifactBucket": { "Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain",
                "Properties": { "BucketName": "acme-artifacts-111111111111-us-west-2" } } })
        );
        assert!(body.get("Outputs").is_none());
    }

    #[test]
    fn an_alias_found_brings_its_key_with_it() {
        let found = Found::Alias {
            name: "alias/acme-artifacts".into(),
            key_id: "1234abcd".into(),
        };
        let import = import(&template(), &[&found]).expect("the alias is declared");
        let ids: Vec<_> = import
            .resources
            .iter()
            .map(|r| (r.logical_id.as_str(), r.identifier_text()))
            .collect();
        assert_eq!(
            ids,
            [
                ("ArtifactKey", "KeyId=1234abcd".to_owned()),
                (
                    "ArtifactKeyAlias",
                    "AliasName=alias/acme-artifacts".to_owned()
                )
            ]
        );
        let body: Value = serde_json::from_str(&import.template).unwrap();
        assert_eq!(
            body["Resources"]["ArtifactKey"],
            json!({ "Type": "AWS::KMS::Key", "DeletionPolicy": "Retain", "Properties": {} })
        );
    }

    #[test]
    fn a_role_is_imported_with_its_declared_trust_unless_the_trust_names_a_parameter() {
        let trust = json!({ "Version": "2012-10-17", "Statement": [{ "Effect": "Allow",
            "Principal": { "Service": "cloudformation.amazonaws.com" }, "Action": "sts:AssumeRole" }] });
        let mut template = json!({ "Resources": { "Role": { "Type": "AWS::IAM::Role", "Properties": {
            "RoleName": "acme-cloudformation", "AssumeRolePolicyDocument": trust.clone(),
            "Policies": [{ "Ref": "Something" }] } } } });
        let found = Found::Role {
            name: "acme-cloudformation".into(),
            trust: None,
        };
        let import = import(&template, &[&found]).expect("the role is declared");
        let body: Value = serde_json::from_str(&import.template).unwrap();
        assert_eq!(
            body["Resources"]["Role"]["Properties"],
            json!({ "RoleName": "acme-cloudformation", "AssumeRolePolicyDocument": trust })
        );
        template["Resources"]["Role"]["Properties"]["AssumeRolePolicyDocument"] =
            json!({ "Statement": [{ "Principal": { "AWS": { "Ref": "Build" } } }] });
        assert_eq!(super::import(&template, &[&found]), None);
    }

    #[test]
    fn nothing_found_under_a_declared_name_is_no_import() {
        let other = Found::Bucket {
            name: "someone-elses".into(),
        };
        assert_eq!(import(&template(), &[&other]), None);
        assert_eq!(import(&template(), &[]), None);
    }
}
