//! The topology file: plinth's contract with its user.
//!
//! [`parse`] turns TOML text into a validated [`Topology`] or into every problem the text has,
//! each with its line, column, key and a hint. Nothing here reads files or talks to AWS.
//! Validation checks the names plinth derives ([`crate::layout`]) against AWS's limits before
//! anything is created.

mod diagnostic;
mod names;
pub(crate) mod validate;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

pub use diagnostic::{Diagnostic, Rendered, line_column};
pub use names::{AccountId, FoundationName, OrganizationId, Region, check_name};
pub use validate::fields::schema;
pub use validate::parse;

/// How plinth obtains credentials for one account.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Credentials {
    /// The SDK's default chain (environment, `AWS_PROFILE`, SSO, instance roles...).
    DefaultChain,
    /// A named profile of the AWS config.
    Profile(String),
    /// A role assumed with the build account's credentials.
    AssumeRole(String),
}

impl fmt::Display for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::DefaultChain => f.write_str("the default credential chain"),
            Credentials::Profile(profile) => write!(f, "profile `{profile}`"),
            Credentials::AssumeRole(arn) => write!(f, "role `{arn}`"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Build {
    pub account: AccountId,
    pub region: Region,
    pub credentials: Credentials,
    /// Days after which noncurrent versions in the build bucket expire.
    pub noncurrent_version_expiration_days: u32,
    /// Days after which noncurrent versions in the artifact buckets expire.
    pub artifact_noncurrent_version_expiration_days: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Target {
    pub name: String,
    pub account: AccountId,
    pub regions: Vec<Region>,
    pub credentials: Credentials,
    /// Managed policies attached to the target's CloudFormation execution role.
    pub policies: Vec<String>,
    /// A managed policy that bounds the CloudFormation role and every role or user it creates.
    pub permissions_boundary: Option<String>,
    /// A manual approval before this target's change sets execute.
    pub approval: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArtifactSync {
    /// The foundation's sync function copies artifacts to the other regions.
    Lambda,
    /// CodePipeline copies artifacts to the regional stores itself.
    Native,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Source {
    pub name: String,
    pub key: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pipeline {
    pub name: String,
    pub targets: Vec<String>,
    pub artifact_sync: ArtifactSync,
    pub sources: Vec<Source>,
    /// The application stack each target gets.
    pub stack: String,
    /// Path of the application template inside the first source artifact.
    pub template: String,
}

/// A validated topology. Holding one means every rule of the file format held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Topology {
    pub name: FoundationName,
    /// With an organization, bucket and key policies grant the foundation's role names in any
    /// account of it, instead of listing every target account's roles.
    pub organization_id: Option<OrganizationId>,
    pub build: Build,
    pub targets: Vec<Target>,
    pub pipelines: Vec<Pipeline>,
}

impl Topology {
    /// Every region the foundation spans: the build region first, then target regions in order.
    pub fn regions(&self) -> Vec<Region> {
        let mut seen = BTreeSet::new();
        std::iter::once(&self.build.region)
            .chain(self.targets.iter().flat_map(|t| &t.regions))
            .filter(|r| seen.insert((*r).clone()))
            .cloned()
            .collect()
    }

    /// Regions that get a regional stack: every target region other than the build region.
    pub fn regional_regions(&self) -> Vec<Region> {
        self.regions()
            .into_iter()
            .filter(|r| *r != self.build.region)
            .collect()
    }

    /// Target accounts in order of first appearance; each gets one deploy stack.
    pub fn target_accounts(&self) -> Vec<AccountId> {
        let mut seen = BTreeSet::new();
        self.targets
            .iter()
            .filter(|t| seen.insert(t.account.clone()))
            .map(|t| t.account.clone())
            .collect()
    }

    /// Every account plinth works in, with its credentials: the build account first.
    pub fn accounts(&self) -> BTreeMap<AccountId, Credentials> {
        let mut accounts = BTreeMap::new();
        accounts.insert(self.build.account.clone(), self.build.credentials.clone());
        for target in &self.targets {
            accounts
                .entry(target.account.clone())
                .or_insert_with(|| target.credentials.clone());
        }
        accounts
    }

    pub fn target(&self, name: &str) -> Option<&Target> {
        self.targets.iter().find(|t| t.name == name)
    }

    /// Managed policies for an account's CloudFormation role: the union over its targets.
    /// The permissions boundary of the account's CloudFormation role (validation makes every
    /// target of an account name the same one).
    pub fn account_boundary(&self, account: &AccountId) -> Option<&str> {
        self.targets
            .iter()
            .find(|t| &t.account == account)
            .and_then(|t| t.permissions_boundary.as_deref())
    }

    pub fn account_policies(&self, account: &AccountId) -> Vec<String> {
        let set: BTreeSet<&String> = self
            .targets
            .iter()
            .filter(|t| &t.account == account)
            .flat_map(|t| &t.policies)
            .collect();
        set.into_iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests;
