//! Typed IAM policy documents. Every statement names its actions; the builders make it hard to
//! write a statement without resources.

use serde::Serialize;
use serde_json::{Value, json};

/// An IAM policy document (version 2012-10-17), as templates write bucket, key, trust and
/// inline policies.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct PolicyDocument {
    #[serde(rename = "Version")]
    version: &'static str,
    /// Its statements, in order.
    #[serde(rename = "Statement")]
    pub(crate) statements: Vec<Statement>,
}

impl PolicyDocument {
    /// A document of these statements.
    pub(crate) fn new(statements: Vec<Statement>) -> Self {
        Self {
            version: "2012-10-17",
            statements,
        }
    }

    /// The document as template JSON.
    pub(crate) fn to_value(&self) -> Value {
        serde_json::to_value(self).expect("a policy document of strings and JSON values serialises")
    }
}

/// Whether a statement allows or denies.
#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) enum Effect {
    /// Grants the actions.
    Allow,
    /// Refuses the actions, whatever else allows them.
    Deny,
}

/// One statement of a policy document.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Statement {
    /// Its id, which plans and drift name it by.
    #[serde(rename = "Sid")]
    pub(crate) sid: String,
    /// Allow or deny.
    #[serde(rename = "Effect")]
    pub(crate) effect: Effect,
    /// Who it applies to; `None` in identity policies.
    #[serde(rename = "Principal", skip_serializing_if = "Option::is_none")]
    pub(crate) principal: Option<Value>,
    /// The actions.
    #[serde(rename = "Action")]
    pub(crate) actions: Vec<String>,
    /// The resources; empty in trust policies.
    #[serde(rename = "Resource", skip_serializing_if = "Vec::is_empty")]
    pub(crate) resources: Vec<Value>,
    /// When it applies.
    #[serde(rename = "Condition", skip_serializing_if = "Option::is_none")]
    pub(crate) condition: Option<Value>,
}

impl Statement {
    fn new(effect: Effect, sid: &str, actions: &[&str], resources: Vec<Value>) -> Self {
        Self {
            sid: sid.to_owned(),
            effect,
            principal: None,
            actions: actions.iter().map(|a| (*a).to_owned()).collect(),
            resources,
            condition: None,
        }
    }

    /// A statement allowing `actions` on `resources`.
    pub(crate) fn allow(sid: &str, actions: &[&str], resources: Vec<Value>) -> Self {
        Self::new(Effect::Allow, sid, actions, resources)
    }

    /// A statement denying `actions` on `resources`.
    pub(crate) fn deny(sid: &str, actions: &[&str], resources: Vec<Value>) -> Self {
        Self::new(Effect::Deny, sid, actions, resources)
    }

    /// A statement of a trust policy: no resource, a principal.
    pub(crate) fn trust(sid: &str, principal: Value) -> Self {
        Self::new(Effect::Allow, sid, &["sts:AssumeRole"], Vec::new()).principal(principal)
    }

    /// The statement for this principal only.
    #[must_use]
    pub(crate) fn principal(mut self, principal: Value) -> Self {
        self.principal = Some(principal);
        self
    }

    /// The statement under this condition only.
    #[must_use]
    pub(crate) fn condition(mut self, condition: Value) -> Self {
        self.condition = Some(condition);
        self
    }
}

/// `arn:aws:s3:::bucket`, as a value that may embed references.
pub(crate) fn bucket_arn(bucket: Value) -> Value {
    json!({ "Fn::Join": ["", ["arn:", { "Ref": "AWS::Partition" }, ":s3:::", bucket]] })
}

/// `arn:aws:s3:::bucket/*`: every object of a bucket.
pub(crate) fn objects_arn(bucket: Value) -> Value {
    json!({ "Fn::Join": ["", ["arn:", { "Ref": "AWS::Partition" }, ":s3:::", bucket, "/*"]] })
}

/// `arn:aws:s3:::bucket/key`: one object.
pub(crate) fn object_arn(bucket: Value, key: &str) -> Value {
    json!({ "Fn::Join": ["", ["arn:", { "Ref": "AWS::Partition" }, ":s3:::", bucket, format!("/{key}")]] })
}

/// An IAM ARN in an account: `arn:aws:iam::<account>:<resource>`.
pub(crate) fn iam_arn(account: &str, resource: &str) -> Value {
    json!({ "Fn::Sub": format!("arn:${{AWS::Partition}}:iam::{account}:{resource}") })
}

/// A role's ARN: `arn:aws:iam::<account>:role/<name>`.
pub(crate) fn role_arn(account: &str, name: &str) -> Value {
    iam_arn(account, &format!("role/{name}"))
}

/// An account's root principal ARN: `arn:aws:iam::<account>:root`.
pub(crate) fn root_arn(account: &str) -> Value {
    iam_arn(account, "root")
}

/// The principal and condition that name the foundation's two deploy roles in any account of
/// the organization: `aws:PrincipalOrgID` with `aws:PrincipalArn` matching the exact role names,
/// so the document is the same size whatever the number of accounts.
pub(crate) fn organization_grantee(
    topology: &crate::topology::Topology,
    organization: &crate::topology::OrganizationId,
) -> (Value, Option<Value>) {
    let roles = [
        topology.pipeline_role_name(),
        topology.cloudformation_role_name(),
    ]
    .map(|role| role_arn("*", &role));
    (
        json!({ "AWS": "*" }),
        Some(json!({
            "StringEquals": { "aws:PrincipalOrgID": organization.as_str() },
            "ArnLike": { "aws:PrincipalArn": roles }
        })),
    )
}
