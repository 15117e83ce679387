//! Template resolution: a template's intrinsic functions (`Ref`, `Fn::GetAtt`, `Fn::Sub`,
//! `Fn::Join`, pseudo parameters) brought to the values they take in a deployed stack, from its
//! physical resource ids and parameters. A value that cannot be resolved is `None`, so that an
//! unknown never shows as drift.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::topology::{AccountId, Region};

use super::{LiveStack, scalar};

/// Where a stack lives and what its template's references resolve to.
pub(crate) struct Context<'a> {
    /// The stack's account (`AWS::AccountId`).
    pub(crate) account: &'a AccountId,
    /// The stack's region (`AWS::Region`).
    pub(crate) region: &'a Region,
    /// The stack's parameter values (`Ref` of a parameter).
    pub(crate) parameters: &'a BTreeMap<String, String>,
    /// Logical id to (type, physical id), from the stack's resources.
    pub(crate) physical: BTreeMap<&'a str, (&'a str, &'a str)>,
}

impl<'a> Context<'a> {
    /// The context of a stack, its physical ids taken from what was read of it.
    pub(crate) fn new(
        account: &'a AccountId,
        region: &'a Region,
        parameters: &'a BTreeMap<String, String>,
        live: &'a LiveStack,
    ) -> Self {
        let physical = live
            .resources
            .iter()
            .map(|r| {
                (
                    r.logical_id.as_str(),
                    (r.resource_type.as_str(), r.physical_id.as_str()),
                )
            })
            .collect();
        Self {
            account,
            region,
            parameters,
            physical,
        }
    }

    fn reference(&self, name: &str) -> Option<String> {
        pseudo_parameter(name, self.account, self.region).or_else(|| {
            self.parameters
                .get(name)
                .cloned()
                .or_else(|| self.physical.get(name).map(|(_, id)| (*id).to_owned()))
        })
    }

    fn attribute(&self, logical: &str, attribute: &str) -> Option<String> {
        let (kind, id) = self.physical.get(logical)?;
        let (p, region, account) = (partition(self.region.as_str()), self.region, self.account);
        match (*kind, attribute) {
            ("AWS::KMS::Key", "Arn") => Some(format!("arn:{p}:kms:{region}:{account}:key/{id}")),
            ("AWS::KMS::Key", "KeyId") => Some((*id).to_owned()),
            ("AWS::IAM::Role", "Arn") => Some(format!("arn:{p}:iam::{account}:role/{id}")),
            ("AWS::S3::Bucket", "Arn") => Some(format!("arn:{p}:s3:::{id}")),
            ("AWS::Logs::LogGroup", "Arn") => {
                Some(format!("arn:{p}:logs:{region}:{account}:log-group:{id}:*"))
            }
            ("AWS::Lambda::Function", "Arn") => {
                Some(format!("arn:{p}:lambda:{region}:{account}:function:{id}"))
            }
            _ => None,
        }
    }

    /// The value with every intrinsic function resolved; `None` when one cannot be.
    pub(crate) fn resolve(&self, value: &Value) -> Option<Value> {
        match value {
            Value::Array(items) => items
                .iter()
                .map(|v| self.resolve(v))
                .collect::<Option<Vec<_>>>()
                .map(Value::Array),
            Value::Object(map) if map.len() == 1 => {
                let (name, argument) = map.iter().next()?;
                match name.as_str() {
                    "Ref" => self.reference(argument.as_str()?).map(Value::String),
                    "Fn::GetAtt" => {
                        let parts = argument.as_array()?;
                        self.attribute(parts.first()?.as_str()?, parts.get(1)?.as_str()?)
                            .map(Value::String)
                    }
                    "Fn::Sub" => match argument {
                        Value::String(text) => self.substitute(text, &BTreeMap::new()),
                        Value::Array(parts) => {
                            let variables = parts.get(1)?.as_object()?;
                            let mut resolved = BTreeMap::new();
                            for (name, value) in variables {
                                resolved.insert(name.as_str(), scalar(&self.resolve(value)?));
                            }
                            self.substitute(parts.first()?.as_str()?, &resolved)
                        }
                        _ => None,
                    }
                    .map(Value::String),
                    "Fn::Join" => {
                        let parts = argument.as_array()?;
                        let separator = parts.first()?.as_str()?;
                        let items = self.resolve(parts.get(1)?)?;
                        let texts: Option<Vec<String>> = items
                            .as_array()?
                            .iter()
                            .map(|v| v.as_str().map(str::to_owned))
                            .collect();
                        Some(Value::String(texts?.join(separator)))
                    }
                    other if other.starts_with("Fn::") || other == "Condition" => None,
                    _ => self.resolve_object(map),
                }
            }
            Value::Object(map) => self.resolve_object(map),
            other => Some(other.clone()),
        }
    }

    fn resolve_object(&self, map: &serde_json::Map<String, Value>) -> Option<Value> {
        let mut out = serde_json::Map::new();
        for (k, v) in map {
            out.insert(k.clone(), self.resolve(v)?);
        }
        Some(Value::Object(out))
    }

    fn substitute(&self, text: &str, variables: &BTreeMap<&str, String>) -> Option<String> {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let end = rest[start..].find('}')? + start;
            let name = &rest[start + 2..end];
            let value = match (variables.get(name), name.split_once('.')) {
                (Some(value), _) => value.clone(),
                (None, Some((logical, attribute))) => self.attribute(logical, attribute)?,
                (None, None) => self.reference(name)?,
            };
            out.push_str(&value);
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        Some(out)
    }
}

/// The value of a pseudo parameter (`AWS::Partition`, `AWS::AccountId`, `AWS::Region`,
/// `AWS::URLSuffix`) for a stack in `account` and `region`; `None` for any other name.
pub(crate) fn pseudo_parameter(name: &str, account: &AccountId, region: &Region) -> Option<String> {
    match name {
        "AWS::Partition" => Some(partition(region.as_str()).to_owned()),
        "AWS::AccountId" => Some(account.to_string()),
        "AWS::Region" => Some(region.to_string()),
        "AWS::URLSuffix" => Some(
            if region.as_str().starts_with("cn-") {
                "amazonaws.com.cn"
            } else {
                "amazonaws.com"
            }
            .to_owned(),
        ),
        _ => None,
    }
}

/// The partition of a region.
pub(crate) fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::drift::{LiveConfig, LiveResource};
    use serde_json::json;

    #[test]
    fn references_resolve_against_the_stacks_own_resources_and_parameters() {
        let live = LiveStack {
            resources: vec![LiveResource {
                logical_id: "ArtifactKey".into(),
                resource_type: "AWS::KMS::Key".into(),
                physical_id: "k-1".into(),
                config: LiveConfig::NotRead,
            }],
        };
        let (account, region) = (
            AccountId::parse("111111111111").unwrap(),
            Region::parse("us-east-1").unwrap(),
        );
        let parameters = BTreeMap::from([("P".to_owned(), "v".to_owned())]);
        let context = Context::new(&account, &region, &parameters, &live);
        assert_eq!(
            context.resolve(&json!({ "Fn::GetAtt": ["ArtifactKey", "Arn"] })),
            Some(json!("arn:aws:kms:us-east-1:111111111111:key/k-1"))
        );
        assert_eq!(
            context.resolve(&json!({ "Fn::Sub": "s3.${AWS::Region}.${AWS::URLSuffix}/${P}" })),
            Some(json!("s3.us-east-1.amazonaws.com/v"))
        );
        assert_eq!(
            context.resolve(&json!({ "Fn::Join": ["", ["arn:", { "Ref": "AWS::Partition" }, ":s3:::", { "Ref": "P" }]] })),
            Some(json!("arn:aws:s3:::v"))
        );
        // what cannot be resolved is not compared
        assert_eq!(context.resolve(&json!({ "Ref": "Nothing" })), None);
        assert_eq!(
            context.resolve(&json!({ "Fn::GetAtt": ["Nothing", "Arn"] })),
            None
        );
        assert_eq!(context.resolve(&json!({ "Fn::If": ["c", 1, 2] })), None);
    }
}
