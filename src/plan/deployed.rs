//! The state model: what AWS holds of a foundation (stacks with their typed status), as a plain
//! snapshot the planner can reason about without I/O. The `aws` layer fills it.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::OrphanBucket;
use crate::layout::{StackKey, StackSpec};
use crate::topology::{AccountId, Region};

/// A stack's status, as CloudFormation's `StackStatus` names it. Statuses a newer
/// CloudFormation may add are kept as [`StackStatus::Other`] and treated by their suffix.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum StackStatus {
    /// CloudFormation is creating the stack.
    CreateInProgress,
    /// A create failed; the rollback has not run (or was turned off).
    CreateFailed,
    /// Created, and not changed since.
    CreateComplete,
    /// A failed create is being rolled back.
    RollbackInProgress,
    /// A failed create's rollback failed too: only a delete helps.
    RollbackFailed,
    /// A failed create was rolled back: the stack holds nothing and can only be deleted.
    RollbackComplete,
    /// CloudFormation is deleting the stack.
    DeleteInProgress,
    /// A delete stopped at a resource it could not delete (a bucket with objects, say).
    DeleteFailed,
    /// Deleted: no stack, though CloudFormation still answers for it by id.
    DeleteComplete,
    /// CloudFormation is updating the stack.
    UpdateInProgress,
    /// An update succeeded; replaced resources are being removed.
    UpdateCompleteCleanupInProgress,
    /// Updated, and not changed since.
    UpdateComplete,
    /// An update failed; its rollback has not run (or was turned off).
    UpdateFailed,
    /// A failed update is being rolled back.
    UpdateRollbackInProgress,
    /// A failed update's rollback failed too; `ContinueUpdateRollback` resumes it.
    UpdateRollbackFailed,
    /// A failed update was rolled back; new resources are being removed.
    UpdateRollbackCompleteCleanupInProgress,
    /// A failed update was rolled back: the stack holds what it held before.
    UpdateRollbackComplete,
    /// A stack made for a change set that was never executed.
    ReviewInProgress,
    /// Resources are being imported into the stack.
    ImportInProgress,
    /// An import succeeded.
    ImportComplete,
    /// A failed import is being rolled back.
    ImportRollbackInProgress,
    /// A failed import's rollback failed too.
    ImportRollbackFailed,
    /// A failed import was rolled back.
    ImportRollbackComplete,
    /// A status a newer CloudFormation may add, kept as it is written.
    Other(String),
}

const STATUSES: &[(StackStatus, &str)] = &[
    (StackStatus::CreateInProgress, "CREATE_IN_PROGRESS"),
    (StackStatus::CreateFailed, "CREATE_FAILED"),
    (StackStatus::CreateComplete, "CREATE_COMPLETE"),
    (StackStatus::RollbackInProgress, "ROLLBACK_IN_PROGRESS"),
    (StackStatus::RollbackFailed, "ROLLBACK_FAILED"),
    (StackStatus::RollbackComplete, "ROLLBACK_COMPLETE"),
    (StackStatus::DeleteInProgress, "DELETE_IN_PROGRESS"),
    (StackStatus::DeleteFailed, "DELETE_FAILED"),
    (StackStatus::DeleteComplete, "DELETE_COMPLETE"),
    (StackStatus::UpdateInProgress, "UPDATE_IN_PROGRESS"),
    (
        StackStatus::UpdateCompleteCleanupInProgress,
        "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
    ),
    (StackStatus::UpdateComplete, "UPDATE_COMPLETE"),
    (StackStatus::UpdateFailed, "UPDATE_FAILED"),
    (
        StackStatus::UpdateRollbackInProgress,
        "UPDATE_ROLLBACK_IN_PROGRESS",
    ),
    (StackStatus::UpdateRollbackFailed, "UPDATE_ROLLBACK_FAILED"),
    (
        StackStatus::UpdateRollbackCompleteCleanupInProgress,
        "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
    ),
    (
        StackStatus::UpdateRollbackComplete,
        "UPDATE_ROLLBACK_COMPLETE",
    ),
    (StackStatus::ReviewInProgress, "REVIEW_IN_PROGRESS"),
    (StackStatus::ImportInProgress, "IMPORT_IN_PROGRESS"),
    (StackStatus::ImportComplete, "IMPORT_COMPLETE"),
    (
        StackStatus::ImportRollbackInProgress,
        "IMPORT_ROLLBACK_IN_PROGRESS",
    ),
    (StackStatus::ImportRollbackFailed, "IMPORT_ROLLBACK_FAILED"),
    (
        StackStatus::ImportRollbackComplete,
        "IMPORT_ROLLBACK_COMPLETE",
    ),
];

impl StackStatus {
    /// The status CloudFormation writes as `text`.
    pub(crate) fn parse(text: &str) -> Self {
        STATUSES
            .iter()
            .find(|(_, name)| *name == text)
            .map_or_else(|| StackStatus::Other(text.to_owned()), |(s, _)| s.clone())
    }

    /// The status as CloudFormation writes it.
    pub(crate) fn as_str(&self) -> &str {
        match self {
            StackStatus::Other(text) => text,
            known => STATUSES
                .iter()
                .find(|(s, _)| s == known)
                .map_or("", |(_, name)| name),
        }
    }

    /// CloudFormation is working on the stack; no other operation is accepted until it ends.
    /// `REVIEW_IN_PROGRESS` is not: it is a stack made for a change set that was never
    /// executed, and it stays so until someone deletes it.
    pub(crate) fn is_in_progress(&self) -> bool {
        self.as_str().ends_with("_IN_PROGRESS") && *self != StackStatus::ReviewInProgress
    }

    /// The stack has come to rest: the opposite of [`StackStatus::is_in_progress`].
    pub(crate) fn is_settled(&self) -> bool {
        !self.is_in_progress()
    }

    /// The last operation failed (whether or not its rollback succeeded).
    pub(crate) fn is_failed(&self) -> bool {
        self.as_str().ends_with("_FAILED")
            || matches!(
                self,
                StackStatus::RollbackComplete | StackStatus::UpdateRollbackComplete
            )
    }

    /// Whether the stack's resources exist now, whatever is happening to it: a settled stack
    /// that can be updated, or one being updated (or rolled back from an update), which keeps
    /// its resources and its earlier outputs meanwhile.
    pub(crate) fn resources_exist(&self) -> bool {
        self.state().exists()
            || matches!(
                self,
                StackStatus::UpdateInProgress
                    | StackStatus::UpdateCompleteCleanupInProgress
                    | StackStatus::UpdateRollbackInProgress
                    | StackStatus::UpdateRollbackCompleteCleanupInProgress
            )
    }

    /// What the status means for plinth.
    pub(crate) fn state(&self) -> StackState {
        match self {
            StackStatus::DeleteComplete => StackState::Deleted,
            s if s.is_in_progress() => StackState::InProgress,
            StackStatus::UpdateRollbackFailed => StackState::UpdateRollbackFailed,
            StackStatus::RollbackComplete
            | StackStatus::RollbackFailed
            | StackStatus::CreateFailed
            | StackStatus::DeleteFailed
            | StackStatus::ReviewInProgress => StackState::NeedsReplacement,
            _ => StackState::Ready,
        }
    }
}

impl PartialEq<str> for StackStatus {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for StackStatus {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl From<&str> for StackStatus {
    fn from(text: &str) -> Self {
        StackStatus::parse(text)
    }
}

impl fmt::Display for StackStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for StackStatus {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for StackStatus {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(|text| StackStatus::parse(&text))
    }
}

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
    /// `DELETE_COMPLETE`: no stack at all. CloudFormation still answers for it by id (and some
    /// listings, LocalStack's among them, keep it); every read treats it as absent.
    Deleted,
}

impl StackState {
    /// Whether the stack's resources exist (so that others may name them).
    pub(crate) fn exists(self) -> bool {
        matches!(self, StackState::Ready | StackState::UpdateRollbackFailed)
    }
}

/// A stack as CloudFormation describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackSummary {
    /// The stack's id (its ARN), which stays the stack's after a delete.
    pub(crate) id: String,
    /// The stack's name.
    pub(crate) name: String,
    /// Where the stack's last operation got to.
    pub(crate) status: StackStatus,
    /// CloudFormation's reason for the status, when it gives one.
    pub(crate) status_reason: Option<String>,
    /// The parameter values the stack was last deployed with.
    pub(crate) parameters: BTreeMap<String, String>,
    /// The stack-level tags, plinth's among them.
    pub(crate) tags: BTreeMap<String, String>,
    /// The stack's outputs, which downstream stacks take as parameters.
    pub(crate) outputs: BTreeMap<String, String>,
    /// The last update time, or the creation time: changes whenever the stack does.
    pub(crate) changed_at: String,
}

impl DeployedStack {
    /// A stack made by an import and not updated since (an apply stopped between the two): it
    /// holds the imported resources but none of its template's outputs, so the graph plans it
    /// as a stack still to be made, whose outputs come after apply.
    pub(crate) fn awaits_its_outputs(&self) -> bool {
        matches!(
            self.summary.status,
            StackStatus::ImportComplete | StackStatus::ImportRollbackComplete
        ) && self.summary.outputs.is_empty()
    }
}

impl StackSummary {
    /// What the stack's status means for plinth.
    pub(crate) fn state(&self) -> StackState {
        self.status.state()
    }

    /// Whether this is a deleted stack, which is no stack.
    pub(crate) fn is_deleted(&self) -> bool {
        self.state() == StackState::Deleted
    }
}

/// The stacks of a listing that exist: a deleted stack is no stack, wherever it is read.
pub fn existing(stacks: impl IntoIterator<Item = StackSummary>) -> Vec<StackSummary> {
    stacks.into_iter().filter(|s| !s.is_deleted()).collect()
}

/// One stack (or StackSet) of the foundation as AWS holds it, with what plinth read of it.
#[derive(Debug, Clone, PartialEq)]
pub struct DeployedStack {
    /// Which stack of the foundation it is, and where.
    pub(crate) spec: StackSpec,
    /// What CloudFormation says of it.
    pub(crate) summary: StackSummary,
    /// The deployed template, parsed; `None` when it could not be read as JSON.
    pub(crate) template: Option<Value>,
    /// What its resources hold now, when drift was read.
    pub(crate) live: Option<super::drift::LiveStack>,
    /// Why its last operation failed (the failed resource's reason, from the stack's events),
    /// for a stack whose status says that it failed.
    pub(crate) last_failure: Option<String>,
    /// For a StackSet: its instances.
    pub(crate) instances: Option<Vec<StackInstance>>,
}

/// One instance of a StackSet: the stack it keeps in one account and region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackInstance {
    /// The member account the instance's stack is in.
    pub(crate) account: String,
    /// The instance's region.
    pub(crate) region: String,
    /// `CURRENT`, `OUTDATED` (its stack does not hold the set's template: a failed or running
    /// operation) or `INOPERABLE` (a delete failed; the stack is out of the set's reach).
    pub(crate) status: String,
    /// `PENDING`, `RUNNING`, `SUCCEEDED`, `FAILED`, `CANCELLED`, `INOPERABLE`,
    /// `SKIPPED_SUSPENDED_ACCOUNT`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) detailed_status: Option<String>,
    /// Why it is not `CURRENT`, as CloudFormation says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) reason: Option<String>,
    /// The organizational unit the instance was deployed for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) unit: Option<String>,
    /// `IN_SYNC`, `DRIFTED`, `NOT_CHECKED`, as the StackSet's last drift detection found it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) drift_status: Option<String>,
}

impl StackInstance {
    /// Whether its stack holds the set's template now.
    pub(crate) fn is_current(&self) -> bool {
        self.status == "CURRENT"
    }

    /// Whether a delete of it failed and left its stack: CloudFormation leaves such an
    /// instance out of every update of the set, so only a hand can bring it back.
    pub(crate) fn is_inoperable(&self) -> bool {
        self.status == "INOPERABLE"
    }
}

impl DeployedStack {
    /// What the stack's status means for plinth.
    pub(crate) fn state(&self) -> StackState {
        self.summary.state()
    }
}

/// A problem found while reading that would make apply fail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "finding", rename_all = "snake_case")]
pub enum Finding {
    /// A role with a deploy role's name exists and a stack that is not this foundation's holds
    /// it (one outside any stack is imported instead).
    RoleConflict {
        /// The account the role is in.
        account: AccountId,
        /// The role's name.
        role: String,
        /// The stack that would create it.
        stack: String,
        /// The stack that holds it.
        holder: String,
    },
    /// A bucket name plinth needs is held by another account.
    BucketTaken {
        /// The bucket's name.
        bucket: String,
        /// The stack that would create it.
        stack: String,
    },
    /// A bucket with plinth's name exists in the account, outside any stack, in another region
    /// than the stack that declares it: CloudFormation imports a bucket only in its own region.
    BucketInOtherRegion {
        /// The bucket's name.
        bucket: String,
        /// The account that holds it.
        account: AccountId,
        /// The bucket's region.
        region: Region,
        /// The stack that declares it.
        stack: String,
        /// That stack's region.
        stack_region: Region,
    },
    /// A stack of the original foundation whose template is not JSON (a YAML template): plinth
    /// cannot tell which resources its exports name, so it adopts nothing.
    OriginalTemplateNotJson {
        /// The stack.
        stack: String,
        /// Its account.
        account: AccountId,
        /// Its region.
        region: Region,
    },
    /// The foundation's key alias exists outside any stack, on a key pending deletion: such a
    /// key cannot be imported, and the alias blocks a new one.
    KeyPendingDeletion {
        /// The alias.
        alias: String,
        /// The key it points at.
        key_id: String,
        /// The account.
        account: AccountId,
        /// The region.
        region: Region,
        /// When KMS deletes the key.
        until: String,
        /// The stack that declares the alias.
        stack: String,
    },
    /// A template is larger than CloudFormation takes in a request.
    TemplateTooLarge {
        /// The stack whose template it is.
        stack: String,
        /// The template's size, compact.
        bytes: usize,
    },
    /// A pipeline lists an account for a target by organizational unit that the unit does not
    /// hold now: its stage would be missing.
    UnitAccountMissing {
        /// The pipeline that lists the account.
        pipeline: String,
        /// The target by organizational unit it lists it for.
        target: String,
        /// The account the unit does not hold.
        account: AccountId,
    },
    /// A pipeline lists the organization's management account for a target by organizational
    /// unit whose deploy roles come from a StackSet, which never deploys to it.
    ManagementAccountListed {
        /// The pipeline that lists the account.
        pipeline: String,
        /// The target by organizational unit it lists it for.
        target: String,
        /// The management account.
        account: AccountId,
    },
    /// A document (a policy) or count of a stack is over AWS's limit.
    LimitExceeded {
        /// Which document, how large, and its limit.
        measure: crate::templates::limits::Measure,
        /// What the user can do about it.
        way_out: String,
    },
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Finding::RoleConflict {
                account,
                role,
                stack,
                holder,
            } => write!(
                f,
                "role {role} already exists in account {account} but is not part of this foundation (stack {holder} holds it), so {stack} cannot create it; \
                 delete that stack or take the role out of it, or choose another foundation name"
            ),
            Finding::BucketTaken { bucket, stack } => write!(
                f,
                "bucket {bucket} is owned by another account, so {stack} cannot create it; bucket names are global: choose another foundation name"
            ),
            Finding::BucketInOtherRegion {
                bucket,
                account,
                region,
                stack,
                stack_region,
            } => write!(
                f,
                "bucket {bucket} exists in account {account} outside any stack, but in {region}, not in {stack_region} where {stack} declares it: \
                 CloudFormation imports a bucket only into a stack of its own region; move its objects to a bucket of another name and delete it, \
                 or `plinth destroy` removes it"
            ),
            Finding::OriginalTemplateNotJson {
                stack,
                account,
                region,
            } => write!(
                f,
                "the template of {stack} (account {account}, {region}) is not JSON, so plinth cannot tell which resources its exports name and adopts nothing; \
                 update the stack with the same template as JSON (`aws cloudformation get-template --stack-name {stack} --region {region}`, converted with cfn-flip), then plan again"
            ),
            Finding::KeyPendingDeletion {
                alias,
                key_id,
                account,
                region,
                until,
                stack,
            } => write!(
                f,
                "alias {alias} in account {account}, {region} exists outside any stack and points at key {key_id}, which is pending deletion (until {until}): \
                 a key pending deletion cannot be imported into {stack}; keep it with `aws kms cancel-key-deletion --key-id {key_id} --region {region}` \
                 then `aws kms enable-key --key-id {key_id} --region {region}` (apply then imports it), or let it go with \
                 `aws kms delete-alias --alias-name {alias} --region {region}` (apply then creates a new key)"
            ),
            Finding::UnitAccountMissing {
                pipeline,
                target,
                account,
            } => write!(
                f,
                "pipeline {pipeline} deploys to account {account} of target `{target}`, but its organizational unit does not hold it now \
                 (or `exclude` names it), so the pipeline would have no stage for it; move the account into the unit, or remove it from the pipeline's `accounts`"
            ),
            Finding::ManagementAccountListed {
                pipeline,
                target,
                account,
            } => write!(
                f,
                "pipeline {pipeline} deploys to account {account} of target `{target}`, but it is the organization's management account, \
                 which StackSets never deploy to, so it would have no deploy roles and the pipeline no stage for it; \
                 give the account a `[[targets]]` entry of its own, or remove it from the pipeline's `accounts`"
            ),
            Finding::LimitExceeded { measure, way_out } => write!(
                f,
                "the {measure}, over AWS's limit, so apply would fail halfway; {way_out}"
            ),
            Finding::TemplateTooLarge { stack, bytes } => write!(
                f,
                "the template of {stack} is {bytes} bytes; CloudFormation takes at most {} in a request, \
                 and {} by URL from the build bucket (for stacks of the build account once that bucket exists): \
                 split its pipeline's targets over several pipelines",
                crate::plan::TEMPLATE_BODY_LIMIT,
                crate::plan::TEMPLATE_URL_LIMIT
            ),
        }
    }
}

/// Everything plinth found of a foundation in the accounts and regions it can reach.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Deployed {
    /// The stacks of the original foundation that `[adopt]` names, as read.
    pub(crate) old_stacks: Vec<super::adopt::OldStack>,
    /// Stacks of this foundation (by tag or by name), with their place.
    pub stacks: Vec<DeployedStack>,
    /// Problems found while reading that would make apply fail.
    pub(crate) findings: Vec<Finding>,
    /// Buckets with plinth's names that no stack holds.
    pub(crate) orphan_buckets: Vec<OrphanBucket>,
    /// Buckets under kept names (the original foundation's) that no stack holds: an adoption
    /// stopped between the release and the import. Apply imports them; destroy leaves them.
    pub(crate) adopted_outside: Vec<OrphanBucket>,
    /// Resources under names the stacks to create declare that exist outside any stack:
    /// apply imports them.
    pub(crate) outside: Vec<super::imports::Outside>,
    /// Target accounts an earlier topology had and this one does not: their deploy stacks are
    /// out of plinth's reach, since the topology no longer says how to reach those accounts.
    pub(crate) dropped_accounts: Vec<AccountId>,
    /// Accounts a StackSet serves now that the last apply gave a deploy stack of plinth's own
    /// (the foundation switched to deploy roles by StackSet): that stack is out of plinth's
    /// reach, and its roles are in the way of the set's instance.
    pub(crate) superseded_deploy_stacks: Vec<AccountId>,
    /// The target accounts the primary stack recorded at the last apply; `None` without one.
    pub(crate) recorded_accounts: Option<std::collections::BTreeSet<AccountId>>,
    /// Accounts a StackSet served at the last apply that no unit target reaches now: they left
    /// their unit (auto-deployment removed their instances) or were excluded.
    pub(crate) left_stack_set_accounts: Vec<AccountId>,
    /// The accounts the StackSets served at the last apply, as the build bucket records them.
    pub(crate) stack_set_record: Option<super::units::SetRecord>,
}

impl Deployed {
    /// The names of the buckets to keep: those the original foundation's stacks hold, and those
    /// plinth's own stacks hold under another name than the derived one (adopted earlier).
    pub(crate) fn bucket_names(
        &self,
        topology: &crate::topology::Topology,
    ) -> BTreeMap<(crate::layout::BucketKind, crate::topology::Region), String> {
        use crate::layout::BucketKind;
        let mut names = super::adopt::bucket_names(topology, &self.old_stacks);
        for stack in &self.stacks {
            let Some(template) = &stack.template else {
                continue;
            };
            let kinds: &[(&str, BucketKind)] = match stack.spec.key {
                StackKey::Primary => &[
                    ("BuildBucket", BucketKind::Build),
                    ("ArtifactBucket", BucketKind::Artifacts),
                ],
                StackKey::Regional { .. } => &[("ArtifactBucket", BucketKind::Artifacts)],
                _ => &[],
            };
            for (logical, kind) in kinds {
                let name = template
                    .pointer(&format!("/Resources/{logical}/Properties/BucketName"))
                    .and_then(Value::as_str);
                let derived =
                    topology.derived_bucket_name(*kind, &stack.spec.account, &stack.spec.region);
                if let Some(name) = name.filter(|n| *n != derived) {
                    names.insert((*kind, stack.spec.region.clone()), name.to_owned());
                }
            }
        }
        names
    }

    /// What was found outside any stack under the names a stack declares.
    pub(crate) fn outside_of(&self, spec: &StackSpec) -> Vec<&super::imports::Found> {
        self.outside
            .iter()
            .filter(|o| {
                o.account == spec.account && o.region == spec.region && o.stack == spec.name
            })
            .map(|o| &o.found)
            .collect()
    }

    /// The stack at a spec's place and name, unless it is deleted.
    pub(crate) fn find(&self, spec: &StackSpec) -> Option<&DeployedStack> {
        self.stacks.iter().find(|s| {
            !s.summary.is_deleted()
                && s.spec.account == spec.account
                && s.spec.region == spec.region
                && s.spec.name == spec.name
        })
    }

    /// The outputs of the given stacks that exist.
    pub(crate) fn outputs_of(
        &self,
        specs: &[StackSpec],
    ) -> BTreeMap<StackKey, BTreeMap<String, String>> {
        specs
            .iter()
            .filter_map(|spec| {
                let stack = self.find(spec)?;
                stack
                    .summary
                    .status
                    .resources_exist()
                    .then(|| (spec.key.clone(), stack.summary.outputs.clone()))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_reads_back_as_itself() {
        for (status, name) in STATUSES {
            assert_eq!(StackStatus::parse(name), *status);
            assert_eq!(status.as_str(), *name);
        }
        assert_eq!(
            StackStatus::parse("SOMETHING_NEW_IN_PROGRESS"),
            StackStatus::Other("SOMETHING_NEW_IN_PROGRESS".into())
        );
        assert!(StackStatus::parse("SOMETHING_NEW_IN_PROGRESS").is_in_progress());
    }

    #[test]
    fn what_each_status_means_for_plinth() {
        let state = |s: &str| StackStatus::parse(s).state();
        assert_eq!(state("CREATE_COMPLETE"), StackState::Ready);
        assert_eq!(state("UPDATE_ROLLBACK_COMPLETE"), StackState::Ready);
        assert_eq!(
            state("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"),
            StackState::InProgress
        );
        assert_eq!(
            state("UPDATE_ROLLBACK_FAILED"),
            StackState::UpdateRollbackFailed
        );
        for replaced in [
            "ROLLBACK_COMPLETE",
            "ROLLBACK_FAILED",
            "CREATE_FAILED",
            "DELETE_FAILED",
            "REVIEW_IN_PROGRESS",
        ] {
            assert_eq!(state(replaced), StackState::NeedsReplacement, "{replaced}");
        }
        assert_eq!(state("DELETE_COMPLETE"), StackState::Deleted);
        assert!(!StackState::Deleted.exists());
        assert!(!StackStatus::DeleteComplete.resources_exist());
        // a change set's stack that nobody executes is not waited for: it never settles
        assert!(StackStatus::ReviewInProgress.is_settled());
        assert!(StackStatus::UpdateRollbackComplete.is_failed());
        assert!(!StackStatus::UpdateComplete.is_failed());
    }
}
