//! AWS's size limits on what a rendered template holds, measured before anything is sent: bucket
//! policies (20 KB), key policies (32 KB), role trust policies (2,048 characters), a role's inline
//! policies together (10,240), managed policies (6,144), the template body (51,200 bytes inline),
//! and resources (500), outputs (200) and parameters (200) per stack.
//!
//! Documents are measured resolved, as AWS will see them: each intrinsic function is replaced by
//! the longest value it can take (the longest partition name, a full account id, the stack's own
//! region, a full ARN for a reference), so a document that fits here fits in AWS. IAM counts
//! characters without white space, S3 and KMS bytes; both are measured on compact JSON, which
//! has no white space outside strings. Pure: no I/O.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// What AWS limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum LimitKind {
    /// An S3 bucket policy: 20 KB.
    BucketPolicy,
    /// A KMS key policy: 32 KB.
    KeyPolicy,
    /// A role's trust policy: 2,048 characters.
    TrustPolicy,
    /// A role's inline policies together: 10,240 characters.
    InlinePolicies,
    /// A customer managed policy: 6,144 characters.
    ManagedPolicy,
    /// A template sent as `TemplateBody`: 51,200 bytes.
    TemplateBody,
    /// Resources of a template: 500.
    Resources,
    /// Outputs of a template: 200.
    Outputs,
    /// Parameters of a template: 200.
    Parameters,
}

impl LimitKind {
    /// AWS's limit, in the unit [`LimitKind::unit`] names.
    pub(crate) fn limit(self) -> usize {
        match self {
            LimitKind::BucketPolicy => 20 * 1024,
            LimitKind::KeyPolicy => 32 * 1024,
            LimitKind::TrustPolicy => 2_048,
            LimitKind::InlinePolicies => 10_240,
            LimitKind::ManagedPolicy => 6_144,
            LimitKind::TemplateBody => 51_200,
            LimitKind::Resources => 500,
            LimitKind::Outputs | LimitKind::Parameters => 200,
        }
    }

    /// What the limit counts: bytes, characters, or items.
    pub(crate) fn unit(self) -> &'static str {
        match self {
            LimitKind::BucketPolicy | LimitKind::KeyPolicy | LimitKind::TemplateBody => "bytes",
            LimitKind::TrustPolicy | LimitKind::InlinePolicies | LimitKind::ManagedPolicy => {
                "characters"
            }
            LimitKind::Resources => "resources",
            LimitKind::Outputs => "outputs",
            LimitKind::Parameters => "parameters",
        }
    }

    fn what(self) -> &'static str {
        match self {
            LimitKind::BucketPolicy => "bucket policy",
            LimitKind::KeyPolicy => "key policy",
            LimitKind::TrustPolicy => "trust policy",
            LimitKind::InlinePolicies => "inline policies",
            LimitKind::ManagedPolicy => "managed policy",
            LimitKind::TemplateBody => "template body",
            LimitKind::Resources => "resources",
            LimitKind::Outputs => "outputs",
            LimitKind::Parameters => "parameters",
        }
    }
}

/// One measured document (or count) of one stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Measure {
    /// The stack's label.
    pub(crate) stack: String,
    /// Which limit it is measured against.
    pub(crate) kind: LimitKind,
    /// The resource the document belongs to: its name where it has one (a bucket, a role), its
    /// logical id otherwise; empty for the template itself.
    pub(crate) resource: String,
    /// Its size, as AWS counts it, with each reference at its longest.
    pub(crate) size: usize,
    /// AWS's limit.
    pub(crate) limit: usize,
}

impl Measure {
    /// Whether AWS would refuse it.
    pub(crate) fn exceeded(&self) -> bool {
        self.size > self.limit
    }

    /// How full the document is, as a share of its limit.
    pub(crate) fn share(&self) -> f64 {
        // sizes are far below 2^52: the conversion is exact
        #[expect(clippy::cast_precision_loss, reason = "sizes are far below 2^52")]
        let share = self.size as f64 / self.limit as f64;
        share
    }
}

impl fmt::Display for Measure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (size, limit) = if self.kind.unit() == "bytes" && self.limit >= 10_000 {
            #[expect(clippy::cast_precision_loss, reason = "sizes are far below 2^52")]
            let kb = |n: usize| n as f64 / 1024.0;
            (
                format!("{:.1} KB", kb(self.size)),
                format!("{:.0} KB", kb(self.limit)),
            )
        } else {
            (
                self.size.to_string(),
                format!("{} {}", self.limit, self.kind.unit()),
            )
        };
        let resource = if self.resource.is_empty() {
            String::new()
        } else {
            format!(" {}", self.resource)
        };
        write!(
            f,
            "{}{resource} of {}: {size} of {limit}",
            self.kind.what(),
            self.stack
        )
    }
}

/// The longest partition name (`aws-us-gov`), so that a resolved document is never shorter than
/// the one AWS sees.
const PARTITION: &str = "aws-us-gov";
const ACCOUNT: &str = "123456789012";
/// Long enough for every ARN these templates refer to (a KMS key ARN in the longest partition
/// and region is 92 characters; a Lambda function ARN with a 64-character name, 125).
const REFERENCE: usize = 128;

/// Resolves intrinsic functions to the longest values they can take in `region`.
fn resolve(value: &Value, region: &str, resources: &Map<String, Value>) -> Value {
    let pseudo = |name: &str| -> Option<String> {
        match name {
            "AWS::Partition" => Some(PARTITION.to_owned()),
            "AWS::AccountId" => Some(ACCOUNT.to_owned()),
            "AWS::Region" => Some(region.to_owned()),
            "AWS::URLSuffix" => Some("amazonaws.com".to_owned()),
            "AWS::StackName" => Some("x".repeat(128)),
            _ => None,
        }
    };
    match value {
        Value::Object(map) if map.len() == 1 => {
            let (function, argument) = map.iter().next().expect("one entry");
            match (function.as_str(), argument) {
                ("Ref", Value::String(name)) => {
                    let text = pseudo(name).unwrap_or_else(|| {
                        resources
                            .get(name)
                            .and_then(|r| r["Properties"]["BucketName"].as_str())
                            .map_or_else(|| "x".repeat(REFERENCE), str::to_owned)
                    });
                    Value::String(text)
                }
                ("Fn::GetAtt", _) => Value::String("x".repeat(REFERENCE)),
                ("Fn::Sub", Value::String(text)) => {
                    let mut out = String::new();
                    let mut rest = text.as_str();
                    while let Some(start) = rest.find("${") {
                        out.push_str(&rest[..start]);
                        let after = &rest[start + 2..];
                        let Some(end) = after.find('}') else {
                            out.push_str(&rest[start..]);
                            rest = "";
                            break;
                        };
                        let name = &after[..end];
                        out.push_str(&pseudo(name).unwrap_or_else(|| "x".repeat(REFERENCE)));
                        rest = &after[end + 1..];
                    }
                    out.push_str(rest);
                    Value::String(out)
                }
                ("Fn::Join", Value::Array(parts)) if parts.len() == 2 => {
                    let separator = parts[0].as_str().unwrap_or_default();
                    let items: Vec<String> = parts[1]
                        .as_array()
                        .map(|items| {
                            items
                                .iter()
                                .map(|item| match resolve(item, region, resources) {
                                    Value::String(s) => s,
                                    other => other.to_string(),
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    Value::String(items.join(separator))
                }
                _ => Value::Object(
                    map.iter()
                        .map(|(k, v)| (k.clone(), resolve(v, region, resources)))
                        .collect(),
                ),
            }
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), resolve(v, region, resources)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| resolve(v, region, resources))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn size(value: &Value, region: &str, resources: &Map<String, Value>) -> usize {
    resolve(value, region, resources).to_string().len()
}

/// Every limited size of a rendered template (`body`, as sent) of the stack `label` in `region`.
pub(crate) fn measure(label: &str, region: &str, body: &Value) -> Vec<Measure> {
    let empty = Map::new();
    let resources = body["Resources"].as_object().unwrap_or(&empty);
    let mut out = Vec::new();
    let mut push = |kind: LimitKind, resource: &str, size: usize| {
        out.push(Measure {
            stack: label.to_owned(),
            kind,
            resource: resource.to_owned(),
            size,
            limit: kind.limit(),
        });
    };
    push(LimitKind::TemplateBody, "", body.to_string().len());
    push(LimitKind::Resources, "", resources.len());
    let count = |key: &str| body[key].as_object().map_or(0, Map::len);
    push(LimitKind::Outputs, "", count("Outputs"));
    push(LimitKind::Parameters, "", count("Parameters"));
    for (logical, resource) in resources {
        let properties = &resource["Properties"];
        let kind = resource["Type"].as_str().unwrap_or_default();
        match kind {
            "AWS::S3::BucketPolicy" => {
                let bucket = properties["Bucket"]["Ref"]
                    .as_str()
                    .and_then(|b| resources.get(b))
                    .and_then(|b| b["Properties"]["BucketName"].as_str())
                    .unwrap_or(logical);
                push(
                    LimitKind::BucketPolicy,
                    bucket,
                    size(&properties["PolicyDocument"], region, resources),
                );
            }
            "AWS::KMS::Key" => push(
                LimitKind::KeyPolicy,
                logical,
                size(&properties["KeyPolicy"], region, resources),
            ),
            "AWS::IAM::Role" => {
                let name = properties["RoleName"].as_str().unwrap_or(logical);
                push(
                    LimitKind::TrustPolicy,
                    name,
                    size(&properties["AssumeRolePolicyDocument"], region, resources),
                );
                let inline: usize = properties["Policies"].as_array().map_or(0, |policies| {
                    policies
                        .iter()
                        .map(|p| size(&p["PolicyDocument"], region, resources))
                        .sum()
                });
                push(LimitKind::InlinePolicies, name, inline);
            }
            "AWS::IAM::ManagedPolicy" => push(
                LimitKind::ManagedPolicy,
                logical,
                size(&properties["PolicyDocument"], region, resources),
            ),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn intrinsics_resolve_to_their_longest_values() {
        let resources = json!({ "B": { "Properties": { "BucketName": "acme-artifacts" } } });
        let resources = resources.as_object().unwrap();
        let resolved = resolve(
            &json!([
                { "Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/x" },
                { "Ref": "B" },
                { "Fn::Join": ["", ["arn:", { "Ref": "AWS::Partition" }, ":s3:::", { "Ref": "B" }, "/*"]] },
                { "Ref": "SomeParameter" }
            ]),
            "eu-west-1",
            resources,
        );
        assert_eq!(resolved[0], "arn:aws-us-gov:iam::123456789012:role/x");
        assert_eq!(resolved[1], "acme-artifacts");
        assert_eq!(resolved[2], "arn:aws-us-gov:s3:::acme-artifacts/*");
        assert_eq!(resolved[3].as_str().unwrap().len(), REFERENCE);
    }

    #[test]
    fn each_limited_document_is_measured_against_its_limit() {
        let body = json!({
            "Resources": {
                "Bucket": { "Type": "AWS::S3::Bucket", "Properties": { "BucketName": "b" } },
                "Policy": { "Type": "AWS::S3::BucketPolicy", "Properties": {
                    "Bucket": { "Ref": "Bucket" }, "PolicyDocument": { "Statement": [] } } },
                "Key": { "Type": "AWS::KMS::Key", "Properties": { "KeyPolicy": { "Statement": [] } } },
                "Role": { "Type": "AWS::IAM::Role", "Properties": {
                    "RoleName": "r", "AssumeRolePolicyDocument": { "Statement": [] },
                    "Policies": [
                        { "PolicyName": "a", "PolicyDocument": { "Statement": [] } },
                        { "PolicyName": "b", "PolicyDocument": { "Statement": [] } }
                    ] } }
            },
            "Outputs": { "O": {} }
        });
        let measures = measure("s (1 r) pass 1", "us-east-1", &body);
        let find = |kind| measures.iter().find(|m| m.kind == kind).unwrap();
        assert_eq!(find(LimitKind::BucketPolicy).resource, "b");
        assert_eq!(
            find(LimitKind::BucketPolicy).size,
            r#"{"Statement":[]}"#.len()
        );
        assert_eq!(find(LimitKind::BucketPolicy).limit, 20_480);
        assert_eq!(find(LimitKind::KeyPolicy).limit, 32_768);
        assert_eq!(find(LimitKind::TrustPolicy).resource, "r");
        assert_eq!(
            find(LimitKind::InlinePolicies).size,
            2 * r#"{"Statement":[]}"#.len()
        );
        assert_eq!(find(LimitKind::Resources).size, 4);
        assert_eq!(find(LimitKind::Outputs).size, 1);
        assert_eq!(find(LimitKind::Parameters).size, 0);
        assert_eq!(find(LimitKind::TemplateBody).size, body.to_string().len());
        assert!(!measures.iter().any(Measure::exceeded));
        let shown = Measure {
            stack: "acme-regional (111111111111 us-east-1) pass 2".into(),
            kind: LimitKind::BucketPolicy,
            resource: "acme-artifacts-111111111111-us-east-1".into(),
            size: 16_700,
            limit: 20_480,
        };
        assert_eq!(
            shown.to_string(),
            "bucket policy acme-artifacts-111111111111-us-east-1 of acme-regional (111111111111 us-east-1) pass 2: 16.3 KB of 20 KB"
        );
    }
}
