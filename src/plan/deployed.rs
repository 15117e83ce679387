//! What AWS holds, as a plain snapshot the planner can reason about without I/O.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::OrphanBucket;
use crate::aws::StackSummary;
use crate::graph::{StackKey, StackSpec};
use crate::topology::{AccountId, Region};

/// What a stack's status means for plinth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StackState {
    /// Its resources are in a settled state and it can be updated.
    Ready,
    /// A failed update whose rollback failed too: continue the rollback, then update.
    UpdateRollbackFailed,
    /// A failed create or delete: it must be deleted before it can be created.
    NeedsReplacement,
    /// CloudFormation is working on it.
    InProgress,
}

impl StackState {
    /// Whether the stack's resources exist (so that others may name them).
    pub fn exists(self) -> bool {
        matches!(self, StackState::Ready | StackState::UpdateRollbackFailed)
    }
}

pub fn classify(status: &str) -> StackState {
    match status {
        s if s.ends_with("_IN_PROGRESS") => StackState::InProgress,
        "UPDATE_ROLLBACK_FAILED" => StackState::UpdateRollbackFailed,
        "ROLLBACK_COMPLETE" | "ROLLBACK_FAILED" | "CREATE_FAILED" | "DELETE_FAILED" => {
            StackState::NeedsReplacement
        }
        _ => StackState::Ready,
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct DeployedStack {
    pub spec: StackSpec,
    pub summary: StackSummary,
    /// The deployed template, parsed; `None` when it could not be read as JSON.
    pub template: Option<Value>,
}

impl DeployedStack {
    pub fn state(&self) -> StackState {
        classify(&self.summary.status)
    }
}

/// A problem found while reading that would make apply fail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "finding", rename_all = "snake_case")]
pub enum Finding {
    /// A role with a deploy role's name exists but no stack of this foundation holds it.
    RoleConflict {
        account: AccountId,
        role: String,
        stack: String,
    },
    /// A bucket name plinth needs is held by another account.
    BucketTaken { bucket: String, stack: String },
    /// A bucket with plinth's name exists in the account but no stack holds it.
    BucketOrphaned {
        bucket: String,
        account: AccountId,
        stack: String,
    },
    /// A template is larger than CloudFormation takes in a request.
    TemplateTooLarge { stack: String, bytes: usize },
    /// A stack is being changed by CloudFormation right now.
    InProgress {
        stack: String,
        account: AccountId,
        region: Region,
        status: String,
    },
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Finding::RoleConflict {
                account,
                role,
                stack,
            } => write!(
                f,
                "role {role} already exists in account {account} but is not part of this foundation, so {stack} cannot create it; \
                 delete or rename that role, or choose another foundation name"
            ),
            Finding::BucketTaken { bucket, stack } => write!(
                f,
                "bucket {bucket} is owned by another account, so {stack} cannot create it; bucket names are global: choose another foundation name"
            ),
            Finding::BucketOrphaned {
                bucket,
                account,
                stack,
            } => write!(
                f,
                "bucket {bucket} exists in account {account} outside any stack (left by an earlier failure), so {stack} cannot create it; \
                 `plinth destroy` removes it, or empty and delete it by hand"
            ),
            Finding::TemplateTooLarge { stack, bytes } => write!(
                f,
                "the template of {stack} is {bytes} bytes; CloudFormation takes at most {} in a request: \
                 split its pipeline's targets over several pipelines",
                crate::plan::TEMPLATE_BODY_LIMIT
            ),
            Finding::InProgress {
                stack,
                account,
                region,
                status,
            } => write!(
                f,
                "{stack} ({account} {region}) is {status}; wait for CloudFormation to finish and plan again"
            ),
        }
    }
}

/// Everything plinth found of a foundation in the accounts and regions it can reach.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Deployed {
    /// Stacks of this foundation (by tag or by name), with their place.
    pub stacks: Vec<DeployedStack>,
    pub findings: Vec<Finding>,
    pub orphan_buckets: Vec<OrphanBucket>,
    /// Target accounts an earlier topology had and this one does not: their deploy stacks are
    /// out of plinth's reach, since the topology no longer says how to reach those accounts.
    pub dropped_accounts: Vec<AccountId>,
}

impl Deployed {
    pub fn find(&self, spec: &StackSpec) -> Option<&DeployedStack> {
        self.stacks.iter().find(|s| {
            s.spec.account == spec.account
                && s.spec.region == spec.region
                && s.spec.name == spec.name
        })
    }

    /// The outputs of the given stacks that exist.
    pub fn outputs_of(&self, specs: &[StackSpec]) -> BTreeMap<StackKey, BTreeMap<String, String>> {
        specs
            .iter()
            .filter_map(|spec| {
                let stack = self.find(spec)?;
                stack
                    .state()
                    .exists()
                    .then(|| (spec.key.clone(), stack.summary.outputs.clone()))
            })
            .collect()
    }
}
