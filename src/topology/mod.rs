//! The topology file: plinth's contract with its user.
//!
//! [`parse`] turns TOML text into a validated [`Topology`] or into every problem the text has,
//! each with its line, column, key and a hint. Nothing here reads files or talks to AWS.
//! Validation checks the names plinth derives (`layout`) against AWS's limits before
//! anything is created.

mod diagnostic;
mod names;
pub(crate) mod validate;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

pub(crate) use diagnostic::{Diagnostic, Rendered};
pub use names::{
    AccountId, FoundationName, OrganizationId, OrganizationalUnitId, Region, check_name,
};
pub use validate::fields::schema;
pub use validate::parse;

/// What a role ARN template writes for an account's id (`[defaults] role_arn`, a unit's `role_arn`).
pub(crate) const ACCOUNT_PLACEHOLDER: &str = "{account}";

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

/// The build account: where the pipelines, the build bucket and the artifact buckets live.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Build {
    /// The account.
    pub(crate) account: AccountId,
    /// The build region: the primary stack's and the pipelines'.
    pub(crate) region: Region,
    /// How plinth reaches the account.
    pub(crate) credentials: Credentials,
    /// Days after which noncurrent versions in the build bucket expire.
    pub(crate) noncurrent_version_expiration_days: u32,
    /// Days after which noncurrent versions in the artifact buckets expire.
    pub(crate) artifact_noncurrent_version_expiration_days: u32,
}

/// An environment pipelines deploy to: one account and its regions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Target {
    /// The name pipelines give it (and their stages take).
    pub(crate) name: String,
    /// The account.
    pub(crate) account: AccountId,
    /// The regions its application stacks are deployed to.
    pub(crate) regions: Vec<Region>,
    /// How plinth reaches the account.
    pub(crate) credentials: Credentials,
    /// Managed policies attached to the target's CloudFormation execution role.
    pub(crate) policies: Vec<String>,
    /// A managed policy that bounds the CloudFormation role and every role or user it creates.
    pub(crate) permissions_boundary: Option<String>,
    /// A manual approval before this target's change sets execute.
    pub(crate) approval: bool,
    /// The target by organizational unit this target stands for one account of, when
    /// [`Topology::resolve`] made it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) unit: Option<String>,
}

/// A target that names an organizational unit: every active account in it and in the units
/// below it, but for those excluded, is a target with these settings. Which accounts those are
/// is read from AWS Organizations when plinth plans ([`Topology::resolve`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct UnitTarget {
    /// The target's name; its accounts' targets are named `NAME-ACCOUNT`.
    pub(crate) name: String,
    /// The organizational unit (or root).
    pub(crate) unit: OrganizationalUnitId,
    /// Accounts of the unit that are not targets.
    pub(crate) exclude: Vec<AccountId>,
    /// The regions its accounts' application stacks are deployed to.
    pub(crate) regions: Vec<Region>,
    /// The role assumed in each account, with `{account}` where its id goes.
    pub(crate) role_arn: String,
    /// Managed policies for each account's CloudFormation role.
    pub(crate) policies: Vec<String>,
    /// The permissions boundary of each account's CloudFormation role.
    pub(crate) permissions_boundary: Option<String>,
    /// A manual approval before each account's change sets execute.
    pub(crate) approval: bool,
}

/// Where plinth reads the organization: its management account or a delegated administrator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Organization {
    /// The management account or a delegated administrator.
    pub(crate) account: AccountId,
    /// How plinth reaches it.
    pub(crate) credentials: Credentials,
    /// How the deploy roles reach the accounts of the targets by organizational unit.
    pub(crate) deploy_roles: DeployRoles,
    /// How StackSet operations run, with deploy roles by StackSet.
    pub(crate) stack_set: StackSetOptions,
}

/// How the deploy roles reach the accounts of the targets by organizational unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum DeployRoles {
    /// A deploy stack in each account, created and updated by plinth (as for targets by account).
    Stacks,
    /// One service-managed StackSet per target by organizational unit, in the organization
    /// account, whose auto-deployment puts the deploy stack into every account of the unit,
    /// including accounts that join it later, with no run of plinth.
    #[serde(rename = "stackset")]
    StackSet,
}

impl DeployRoles {}

/// How plinth runs StackSet operations (`[organization]` keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct StackSetOptions {
    /// The share of a unit's accounts CloudFormation deploys to at once.
    pub(crate) max_concurrent_percentage: u32,
    /// The share of a unit's accounts whose instance may fail before CloudFormation stops the
    /// operation in a region.
    pub(crate) failure_tolerance_percentage: u32,
    /// The organization account is a delegated administrator for StackSets, not the management
    /// account (StackSet calls then say `CallAs=DELEGATED_ADMIN`).
    pub(crate) delegated_admin: bool,
}

impl StackSetOptions {
    /// `max_concurrent_percentage` when the file does not say.
    pub(crate) const DEFAULT_MAX_CONCURRENT_PERCENTAGE: u32 = 25;
    /// `failure_tolerance_percentage` when the file does not say.
    pub(crate) const DEFAULT_FAILURE_TOLERANCE_PERCENTAGE: u32 = 10;
}

impl Default for StackSetOptions {
    fn default() -> Self {
        Self {
            max_concurrent_percentage: Self::DEFAULT_MAX_CONCURRENT_PERCENTAGE,
            failure_tolerance_percentage: Self::DEFAULT_FAILURE_TOLERANCE_PERCENTAGE,
            delegated_admin: false,
        }
    }
}

/// The accounts each organizational unit holds now, as read from AWS Organizations: for each
/// unit a target names, every active account in it or in a unit below it.
pub(crate) type Membership = BTreeMap<OrganizationalUnitId, BTreeSet<AccountId>>;

/// How a pipeline's artifacts reach its other regions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ArtifactSync {
    /// The foundation's sync function copies artifacts to the other regions.
    Lambda,
    /// CodePipeline copies artifacts to the regional stores itself.
    Native,
}

/// One input of a pipeline: an object of the build bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Source {
    /// The artifact's name in the pipeline.
    pub(crate) name: String,
    /// The object's key in the build bucket.
    pub(crate) key: String,
}

/// A pipeline that stands on the foundation: its sources and the targets it deploys to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Pipeline {
    /// Its name (part of the CodePipeline's and its stack's names).
    pub(crate) name: String,
    /// The targets it deploys to, a stage each, in order.
    pub(crate) targets: Vec<String>,
    /// For a target of `targets` that names an organizational unit, the accounts of the unit
    /// this pipeline deploys to, one stage each. [`Topology::resolve`] replaces the unit's name
    /// in `targets` with the targets of these accounts.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) unit_accounts: BTreeMap<String, Vec<AccountId>>,
    /// How its artifacts reach its other regions.
    pub(crate) artifact_sync: ArtifactSync,
    /// Its inputs; the first starts its runs.
    pub(crate) sources: Vec<Source>,
    /// The application stack each target gets.
    pub(crate) stack: String,
    /// Path of the application template inside the first source artifact.
    pub(crate) template: String,
}

/// A validated topology. Holding one means every rule of the file format held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Topology {
    /// The foundation's name, which prefixes every stack, role and bucket.
    pub(crate) name: FoundationName,
    /// With an organization, bucket and key policies grant the foundation's role names in any
    /// account of it, instead of listing every target account's roles.
    pub organization_id: Option<OrganizationId>,
    /// The build account.
    pub(crate) build: Build,
    /// Targets by account; after [`Topology::resolve`], also one for each account of each unit.
    pub(crate) targets: Vec<Target>,
    /// Targets by organizational unit, resolved to accounts when plinth plans.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) units: Vec<UnitTarget>,
    /// Where the organizational units are read (required with `units`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) organization: Option<Organization>,
    /// What the units held when [`Topology::resolve`] expanded them; `None` before.
    #[serde(skip)]
    pub(crate) membership: Option<Membership>,
    /// The organization's management account, when StackSets serve the units: StackSets never
    /// deploy to it, so it is no account of theirs even where a unit holds it.
    #[serde(skip)]
    pub(crate) management: Option<AccountId>,
    /// The pipelines that stand on the foundation.
    pub(crate) pipelines: Vec<Pipeline>,
    /// The foundation of the original script that this one takes over, by its stacks' names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) adopt: Option<Adopt>,
    /// Bucket names kept from what is deployed (a bucket adopted under its own name), by kind
    /// and region, in place of the names plinth derives; set by [`Topology::with_bucket_names`].
    #[serde(skip)]
    pub(crate) bucket_names: BTreeMap<(crate::layout::BucketKind, Region), String>,
}

/// The stacks of a foundation built by the original `bootstrap.sh` that plinth takes over: their
/// buckets and keys move into plinth's stacks under their own names, the rest is replaced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Adopt {
    /// The stack of the build region: key, alias, build and pipeline buckets.
    pub(crate) primary: String,
    /// The stack of each other region: key, alias, pipeline bucket.
    pub(crate) regional: String,
    /// The stack of each target account: the two cross-account roles.
    pub(crate) deploy: String,
}

impl Adopt {
    /// The original script's stack names.
    pub(crate) const PRIMARY: &'static str = "CrossAccountPrimary";
    /// The original script's stack of each other region.
    pub(crate) const REGIONAL: &'static str = "CrossAccountRegional";
    /// The original script's stack of each target account.
    pub(crate) const DEPLOY: &'static str = "CrossAccountDeploy";
}

/// Whether a unit target may make `account` a target when its unit holds it: not when `exclude`
/// names it, nor when it is the organization's `management` account, which a StackSet cannot
/// deploy to.
fn serves(unit: &UnitTarget, management: Option<&AccountId>, account: &AccountId) -> bool {
    !unit.exclude.contains(account) && management != Some(account)
}

impl Topology {
    /// Every region the foundation spans: the build region first, then target regions in order.
    pub(crate) fn regions(&self) -> Vec<Region> {
        let mut seen = BTreeSet::new();
        std::iter::once(&self.build.region)
            .chain(self.targets.iter().flat_map(|t| &t.regions))
            .chain(self.units.iter().flat_map(|u| &u.regions))
            .filter(|r| seen.insert((*r).clone()))
            .cloned()
            .collect()
    }

    /// Regions that get a regional stack: every target region other than the build region.
    pub(crate) fn regional_regions(&self) -> Vec<Region> {
        self.regions()
            .into_iter()
            .filter(|r| *r != self.build.region)
            .collect()
    }

    /// Whether the deploy roles of the units' accounts come from StackSets.
    pub(crate) fn stack_sets(&self) -> bool {
        self.stack_set_organization().is_some()
    }

    /// The organization account that keeps the StackSets, with deploy roles by StackSet.
    pub(crate) fn stack_set_organization(&self) -> Option<&Organization> {
        self.organization
            .as_ref()
            .filter(|o| o.deploy_roles == DeployRoles::StackSet)
    }

    /// The target by organizational unit whose StackSet holds an account's deploy roles; `None`
    /// when plinth deploys them with a stack of its own (always, without StackSets).
    pub(crate) fn stack_set_of(&self, account: &AccountId) -> Option<&UnitTarget> {
        if !self.stack_sets() {
            return None;
        }
        let mut held = self.targets.iter().filter(|t| &t.account == account);
        let first = held.next()?;
        let name = first.unit.as_ref()?;
        self.units.iter().find(|u| &u.name == name)
    }

    /// Targets whose accounts get a deploy stack of plinth's own: all of them, but for the
    /// accounts a StackSet serves.
    fn stack_targets(&self) -> impl Iterator<Item = &Target> {
        let sets = self.stack_sets();
        self.targets
            .iter()
            .filter(move |t| !(sets && t.unit.is_some()))
    }

    /// Target accounts in order of first appearance that get a deploy stack of plinth's own
    /// (every target account, but for those a StackSet serves).
    pub(crate) fn target_accounts(&self) -> Vec<AccountId> {
        let mut seen = BTreeSet::new();
        self.stack_targets()
            .filter(|t| seen.insert(t.account.clone()))
            .map(|t| t.account.clone())
            .collect()
    }

    /// Every account plinth works in, with its credentials: the build account first. The
    /// accounts a StackSet serves are not among them: CloudFormation reaches them.
    pub(crate) fn accounts(&self) -> BTreeMap<AccountId, Credentials> {
        let mut accounts = BTreeMap::new();
        accounts.insert(self.build.account.clone(), self.build.credentials.clone());
        for target in self.stack_targets() {
            accounts
                .entry(target.account.clone())
                .or_insert_with(|| target.credentials.clone());
        }
        accounts
    }

    /// The topology with a target for every account each unit holds (`membership`), but for
    /// the excluded ones and those declared as targets of their own, whose entries configure
    /// them. Each unit's accounts follow in id order, after the targets by account, each named
    /// `UNIT-ACCOUNT` (`workloads-555555555555`). A pipeline stage naming a unit becomes a stage
    /// for each account its `accounts` lists that the unit holds, in that order (a target
    /// reached twice deploys once, in its first place). The units stay,
    /// with the membership, so that a plan can say which accounts each one resolved to and which
    /// listed accounts it does not hold. With deploy roles by StackSet, the organization's
    /// `management` account is no account of a unit's (StackSets never deploy to it): it needs
    /// a target of its own.
    /// The same topology with these bucket names in place of the derived ones.
    #[must_use]
    pub(crate) fn with_bucket_names(
        &self,
        names: BTreeMap<(crate::layout::BucketKind, Region), String>,
    ) -> Topology {
        Topology {
            bucket_names: names,
            ..self.clone()
        }
    }

    #[must_use]
    pub(crate) fn resolve(
        &self,
        membership: &Membership,
        management: Option<&AccountId>,
    ) -> Topology {
        let mut resolved = self.clone();
        resolved.membership = Some(membership.clone());
        resolved.management = management.filter(|_| self.stack_sets()).cloned();
        let management = resolved.management.clone();
        let mut configured: BTreeMap<AccountId, String> = self
            .targets
            .iter()
            .map(|t| (t.account.clone(), t.name.clone()))
            .collect();
        for unit in &self.units {
            for account in membership.get(&unit.unit).into_iter().flatten() {
                if !serves(unit, management.as_ref(), account) || configured.contains_key(account) {
                    continue;
                }
                let name = format!("{}-{account}", unit.name);
                configured.insert(account.clone(), name.clone());
                resolved.targets.push(Target {
                    name,
                    account: account.clone(),
                    regions: unit.regions.clone(),
                    credentials: Credentials::AssumeRole(
                        unit.role_arn.replace(ACCOUNT_PLACEHOLDER, account.as_str()),
                    ),
                    policies: unit.policies.clone(),
                    permissions_boundary: unit.permissions_boundary.clone(),
                    approval: unit.approval,
                    unit: Some(unit.name.clone()),
                });
            }
        }
        for pipeline in &mut resolved.pipelines {
            let mut stages = Vec::new();
            for name in &pipeline.targets {
                let Some(accounts) = pipeline.unit_accounts.get(name) else {
                    if !stages.contains(name) {
                        stages.push(name.clone());
                    }
                    continue;
                };
                let unit = self.units.iter().find(|u| &u.name == name);
                for account in accounts {
                    let held = unit.is_some_and(|u| {
                        serves(u, management.as_ref(), account)
                            && membership.get(&u.unit).is_some_and(|m| m.contains(account))
                    });
                    match configured.get(account) {
                        Some(target) if held && !stages.contains(target) => {
                            stages.push(target.clone());
                        }
                        _ => {}
                    }
                }
            }
            pipeline.targets = stages;
        }
        resolved
    }

    /// Whether a unit target's settings may make `account` a target when its unit holds it.
    fn serves(&self, unit: &UnitTarget, account: &AccountId) -> bool {
        serves(unit, self.management.as_ref(), account)
    }

    /// The accounts pipelines list for a unit that the unit does not hold now (or excludes):
    /// (pipeline, unit target, account). They get no stage. Empty before [`Topology::resolve`].
    pub(crate) fn unheld_pipeline_accounts(&self) -> Vec<(String, String, AccountId)> {
        let Some(membership) = &self.membership else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for pipeline in &self.pipelines {
            for (name, accounts) in &pipeline.unit_accounts {
                let Some(unit) = self.units.iter().find(|u| &u.name == name) else {
                    continue;
                };
                for account in accounts {
                    let held = self.serves(unit, account)
                        && membership
                            .get(&unit.unit)
                            .is_some_and(|m| m.contains(account));
                    if !held {
                        out.push((pipeline.name.clone(), name.clone(), account.clone()));
                    }
                }
            }
        }
        out
    }

    /// The accounts of a unit target that are targets: those its unit held when the topology
    /// was resolved, less the excluded ones. Empty before [`Topology::resolve`].
    pub(crate) fn unit_accounts(&self, unit: &UnitTarget) -> Vec<AccountId> {
        self.membership
            .as_ref()
            .and_then(|m| m.get(&unit.unit))
            .into_iter()
            .flatten()
            .filter(|a| self.serves(unit, a))
            .cloned()
            .collect()
    }

    /// Whether plinth must read AWS Organizations before it can know the target accounts.
    pub(crate) fn has_units(&self) -> bool {
        !self.units.is_empty()
    }

    /// The target of this name.
    pub(crate) fn target(&self, name: &str) -> Option<&Target> {
        self.targets.iter().find(|t| t.name == name)
    }

    /// The permissions boundary of the account's CloudFormation role (validation makes every
    /// target of an account name the same one).
    pub(crate) fn account_boundary(&self, account: &AccountId) -> Option<&str> {
        self.targets
            .iter()
            .find(|t| &t.account == account)
            .and_then(|t| t.permissions_boundary.as_deref())
    }

    /// Managed policies for an account's CloudFormation role: the union over its targets.
    pub(crate) fn account_policies(&self, account: &AccountId) -> Vec<String> {
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
