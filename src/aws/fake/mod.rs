//! An in-memory AWS for what the emulator cannot show: stacks that stay in progress for a while
//! (on tokio's clock, so tests and benchmarks can pause it), failures of a chosen operation on a
//! chosen stack, throttling, and a count of every call.
//!
//! It is as strict as CloudFormation's documented state machine, so that the executor cannot
//! lean on a kindness AWS does not have:
//! - CreateStack of a name that exists (and is not deleted) answers `AlreadyExistsException`;
//! - UpdateStack is accepted only in `CREATE_COMPLETE`, `UPDATE_COMPLETE`,
//!   `UPDATE_ROLLBACK_COMPLETE`, `IMPORT_COMPLETE` and `IMPORT_ROLLBACK_COMPLETE`; elsewhere it
//!   answers CloudFormation's `ValidationError`, as does DeleteStack while another operation is
//!   in progress, and ContinueUpdateRollback outside `UPDATE_ROLLBACK_FAILED`;
//! - an update passes through `UPDATE_COMPLETE_CLEANUP_IN_PROGRESS`; a failed one rolls back
//!   (template, parameters, tags and outputs as before); a failed create rolls back to
//!   `ROLLBACK_COMPLETE`; a failed delete ends in `DELETE_FAILED`;
//! - outputs appear when a create completes, each value naming its stack's account, region,
//!   stack and output, so that a value wired to the wrong stack is seen;
//! - a deleted stack is found by id (as `DELETE_COMPLETE`) but not by name, and not listed;
//! - buckets, roles and keys the stacks create exist on their own, with owners, objects and a
//!   pending deletion date, so that destroy's bucket emptying and orphan cleanup can be tested.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

use super::{
    AwsError, AwsResult, Cloud, CloudFormation, CodePipeline, Iam, Kms, Lambda, Logs,
    Organizations, S3, StackEvent, Sts,
};
use crate::plan::drift::Repair;
use crate::plan::{StackStatus, StackSummary};
use crate::topology::{AccountId, Region};

mod accounts;
mod cloudformation;
mod organizations;

use accounts::FakeAccount;
use cloudformation::FakeCloudFormation;
pub use organizations::FakeOrganization;

/// The operations a test can make fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// CreateStack: the stack ends in `ROLLBACK_COMPLETE`.
    Create,
    /// UpdateStack: the stack rolls back to `UPDATE_ROLLBACK_COMPLETE`.
    Update,
    /// DeleteStack: the stack ends in `DELETE_FAILED`.
    Delete,
    /// The rollback of a failed update fails too (`UPDATE_ROLLBACK_FAILED`).
    UpdateRollback,
}

/// The date the fake's KMS keys are scheduled for deletion on.
pub const KEY_DELETION_DATE: &str = "2026-12-05T00:00:00Z";

#[derive(Debug, Clone)]
struct FakeStack {
    account: String,
    region: String,
    summary: StackSummary,
    template: String,
    /// Statuses still to come, each with the time it is reached.
    steps: Vec<(StackStatus, Instant)>,
    /// Outputs, template, parameters and tags the stack gets when its operation completes.
    on_complete: Option<Completion>,
    /// What a failed update rolls back to.
    before_update: Option<Completion>,
    events: Vec<StackEvent>,
}

#[derive(Debug, Clone)]
struct Completion {
    template: String,
    parameters: BTreeMap<String, String>,
    tags: BTreeMap<String, String>,
    outputs: BTreeMap<String, String>,
}

#[derive(Debug, Default)]
struct Bucket {
    account: String,
    region: String,
    objects: u64,
    /// The objects put through [`S3::put_object`], by key.
    bodies: BTreeMap<String, String>,
}

#[derive(Default)]
struct State {
    /// Every stack by id, deleted ones too.
    stacks: BTreeMap<String, FakeStack>,
    /// (operation, account, stack name) to how many more times it fails, and why.
    failures: HashMap<(Operation, String, String), (u32, String)>,
    /// (account, stack name) of stacks whose next UpdateStack meets another run's update,
    /// started just before it.
    interleaved: BTreeSet<(String, String)>,
    /// (account, stack name) of stacks whose create makes the task panic: a bug in plinth.
    panics: BTreeSet<(String, String)>,
    /// How many of the next calls, of any kind, answer with throttling.
    throttled: u32,
    buckets: BTreeMap<String, Bucket>,
    /// (account, role name).
    roles: BTreeSet<(String, String)>,
    /// Key ids of deleted stacks, pending deletion.
    deleted_keys: BTreeSet<String>,
    next_id: u64,
    /// A counter that stands for time in `changed_at`, so that every change is seen.
    clock: u64,
    /// Stacks in progress now, and the most there ever were at once.
    in_progress: usize,
    max_in_progress: usize,
    /// Drift repairs made, in order, with the account that made them.
    repairs: Vec<(String, Repair)>,
    /// Listings keep deleted stacks (`DELETE_COMPLETE`), and a name finds the latest stack of
    /// that name, deleted or not, as LocalStack answers.
    lists_deleted: bool,
}

/// A fake cloud whose every stack operation takes `latency` of tokio time.
pub struct FakeCloud {
    state: Arc<Mutex<State>>,
    /// The organization that `organizations` reads, in any account.
    pub organization: FakeOrganization,
    latency: Duration,
    calls: Arc<AtomicU64>,
    describes: Arc<AtomicU64>,
}

impl FakeCloud {
    /// An empty cloud whose stack operations each take `latency`.
    pub fn new(latency: Duration) -> Self {
        Self {
            state: Arc::new(Mutex::new(State::default())),
            organization: FakeOrganization::default(),
            latency,
            calls: Arc::new(AtomicU64::new(0)),
            describes: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The next create of this stack in this account fails with `reason` and rolls back.
    pub fn fail_create(&self, account: &str, stack: &str, reason: &str) {
        self.fail(Operation::Create, account, stack, 1, reason);
    }

    /// The next `times` operations of this kind on this stack fail with `reason`.
    pub fn fail(&self, operation: Operation, account: &str, stack: &str, times: u32, reason: &str) {
        self.lock().failures.insert(
            (operation, account.to_owned(), stack.to_owned()),
            (times, reason.to_owned()),
        );
    }

    /// The next UpdateStack of this stack comes just after another run started its own update:
    /// CloudFormation refuses it, as AWS does ("… is in UPDATE_IN_PROGRESS state").
    pub fn interleave_update(&self, account: &str, stack: &str) {
        self.lock()
            .interleaved
            .insert((account.to_owned(), stack.to_owned()));
    }

    /// Creating this stack makes the task that does it panic.
    pub fn panic_on_create(&self, account: &str, stack: &str) {
        self.lock()
            .panics
            .insert((account.to_owned(), stack.to_owned()));
    }

    /// The next `count` calls, whatever they are, answer `Throttling: Rate exceeded`.
    /// Answers as LocalStack does: listings keep deleted stacks, and a name finds a deleted
    /// stack when no live one has it.
    pub fn list_deleted_stacks(&self) {
        self.lock().lists_deleted = true;
    }

    /// The next `count` calls to CloudFormation, S3, IAM, KMS, Lambda, Logs or CodePipeline are
    /// refused with the service's throttling error.
    pub fn throttle(&self, count: u32) {
        self.lock().throttled = count;
    }

    /// A bucket that exists outside any stack.
    pub fn put_bucket(&self, account: &str, region: &str, bucket: &str, objects: u64) {
        self.lock().buckets.insert(
            bucket.to_owned(),
            Bucket {
                region: region.to_owned(),
                account: account.to_owned(),
                objects,
                bodies: BTreeMap::new(),
            },
        );
    }

    /// Puts objects into a bucket (a pipeline writing while destroy runs).
    pub fn fill_bucket(&self, bucket: &str, objects: u64) {
        if let Some(b) = self.lock().buckets.get_mut(bucket) {
            b.objects += objects;
        }
    }

    /// The drift repairs made so far, with the account that made each.
    pub fn repairs(&self) -> Vec<(String, Repair)> {
        self.lock().repairs.clone()
    }

    /// How many objects a bucket holds; `None` when it does not exist.
    pub fn objects(&self, bucket: &str) -> Option<u64> {
        self.lock().buckets.get(bucket).map(|b| b.objects)
    }

    /// Every bucket that exists, in any account.
    pub fn bucket_names(&self) -> Vec<String> {
        self.lock().buckets.keys().cloned().collect()
    }

    /// A role that exists outside any stack.
    pub fn put_role(&self, account: &str, role: &str) {
        self.lock()
            .roles
            .insert((account.to_owned(), role.to_owned()));
    }

    /// Puts a stack in place, as if something else had made it; with `settles_as`, it is in
    /// progress and reaches that status after the given time.
    pub fn put_stack(
        &self,
        account: &str,
        region: &str,
        summary: StackSummary,
        template: &str,
        settles_as: Option<(&str, Duration)>,
    ) {
        let mut state = self.lock();
        let steps: Vec<(StackStatus, Instant)> = settles_as
            .map(|(status, after)| (StackStatus::parse(status), Instant::now() + after))
            .into_iter()
            .collect();
        if !steps.is_empty() {
            state.in_progress += 1;
            state.max_in_progress = state.max_in_progress.max(state.in_progress);
        }
        // a stack of the same name that is not deleted is replaced
        let live: Vec<String> = state
            .stacks
            .iter()
            .filter(|(_, s)| {
                s.account == account
                    && s.region == region
                    && s.summary.name == summary.name
                    && s.summary.status != StackStatus::DeleteComplete
            })
            .map(|(id, _)| id.clone())
            .collect();
        for id in live {
            state.stacks.remove(&id);
        }
        state.stacks.insert(
            summary.id.clone(),
            FakeStack {
                account: account.to_owned(),
                region: region.to_owned(),
                summary,
                template: template.to_owned(),
                steps,
                on_complete: None,
                before_update: None,
                events: Vec::new(),
            },
        );
    }

    /// A stack as it is now (the live one of that name, or else the last deleted one).
    pub fn stack(&self, account: &str, region: &str, name: &str) -> Option<StackSummary> {
        let mut state = self.lock();
        settle_all(&mut state);
        let mut found: Vec<&FakeStack> = state
            .stacks
            .values()
            .filter(|s| s.account == account && s.region == region && s.summary.name == name)
            .collect();
        found.sort_by_key(|s| s.summary.status == StackStatus::DeleteComplete);
        found.first().map(|s| s.summary.clone())
    }

    /// How many DescribeStacks calls waited on stacks.
    pub fn describes(&self) -> u64 {
        self.describes.load(Ordering::Relaxed)
    }

    /// The most stack operations that were ever in progress at once.
    pub fn max_in_progress(&self) -> usize {
        self.lock().max_in_progress
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn event(status: &str, reason: Option<&str>, logical_id: &str, resource_type: &str) -> StackEvent {
    StackEvent {
        timestamp: String::new(),
        logical_id: logical_id.to_owned(),
        resource_type: resource_type.to_owned(),
        status: status.to_owned(),
        reason: reason.map(str::to_owned),
    }
}

/// Advances every stack whose next status is due.
fn settle_all(state: &mut State) {
    let now = Instant::now();
    let ids: Vec<String> = state.stacks.keys().cloned().collect();
    for id in ids {
        loop {
            let stack = state.stacks.get_mut(&id).expect("listed above");
            let Some((status, at)) = stack.steps.first().cloned() else {
                break;
            };
            if at > now {
                break;
            }
            stack.steps.remove(0);
            reach(state, &id, status);
        }
    }
}

/// A stack reaches a status: what that status means happens now.
fn reach(state: &mut State, id: &str, status: StackStatus) {
    state.clock += 1;
    let clock = state.clock;
    let stack = state.stacks.get_mut(id).expect("a known stack");
    let name = stack.summary.name.clone();
    stack.events.insert(
        0,
        event(status.as_str(), None, &name, "AWS::CloudFormation::Stack"),
    );
    stack.summary.status = status.clone();
    stack.summary.changed_at = format!("t{clock}");
    let done = stack.steps.is_empty();
    match status {
        StackStatus::CreateComplete | StackStatus::UpdateComplete => {
            if let Some(completion) = stack.on_complete.take() {
                stack.template = completion.template;
                stack.summary.parameters = completion.parameters;
                stack.summary.tags = completion.tags;
                stack.summary.outputs = completion.outputs;
            }
            stack.before_update = None;
            let template = stack.template.clone();
            let account = stack.account.clone();
            let region = stack.region.clone();
            for (kind, physical) in resources(&name, &template) {
                match kind.as_str() {
                    "AWS::S3::Bucket" => {
                        state.buckets.entry(physical).or_insert(Bucket {
                            account: account.clone(),
                            region: region.clone(),
                            objects: 0,
                            bodies: BTreeMap::new(),
                        });
                    }
                    "AWS::IAM::Role" => {
                        state.roles.insert((account.clone(), physical));
                    }
                    _ => {}
                }
            }
        }
        StackStatus::UpdateRollbackComplete | StackStatus::UpdateRollbackFailed => {
            stack.on_complete = None;
            if let Some(before) = stack.before_update.take() {
                stack.template = before.template;
                stack.summary.parameters = before.parameters;
                stack.summary.tags = before.tags;
                stack.summary.outputs = before.outputs;
            }
        }
        StackStatus::RollbackComplete => {
            stack.on_complete = None;
            stack.summary.outputs.clear();
        }
        StackStatus::DeleteComplete => {
            let template = stack.template.clone();
            let account = stack.account.clone();
            for (kind, physical) in resources(&name, &template) {
                match kind.as_str() {
                    "AWS::S3::Bucket" => {
                        state.buckets.remove(&physical);
                    }
                    "AWS::IAM::Role" => {
                        state.roles.remove(&(account.clone(), physical));
                    }
                    "AWS::KMS::Key" => {
                        state.deleted_keys.insert(physical);
                    }
                    _ => {}
                }
            }
        }
        _ => {}
    }
    if done && status.is_settled() {
        state.in_progress = state.in_progress.saturating_sub(1);
    }
}

/// The resources of a template with their physical ids: a bucket's or role's own name when the
/// template gives it, `<stack>-<logical id>` otherwise.
fn resources(stack: &str, template: &str) -> Vec<(String, String)> {
    let parsed: serde_json::Value = serde_json::from_str(template).unwrap_or_default();
    let Some(resources) = parsed["Resources"].as_object() else {
        return Vec::new();
    };
    resources
        .iter()
        .map(|(logical, resource)| {
            let kind = resource["Type"].as_str().unwrap_or_default().to_owned();
            let properties = &resource["Properties"];
            let named = properties["BucketName"]
                .as_str()
                .or_else(|| properties["RoleName"].as_str());
            let physical = named.map_or_else(|| format!("{stack}-{logical}"), str::to_owned);
            (kind, physical)
        })
        .collect()
}

/// Outputs a template declares, with values that name where they come from.
fn outputs_of(account: &str, region: &str, name: &str, template: &str) -> BTreeMap<String, String> {
    let parsed: serde_json::Value = serde_json::from_str(template).unwrap_or_default();
    parsed["Outputs"]
        .as_object()
        .map(|o| {
            o.keys()
                .map(|k| (k.clone(), format!("arn:fake:{account}:{region}:{name}:{k}")))
                .collect()
        })
        .unwrap_or_default()
}

fn validation(operation: &'static str, message: String) -> AwsError {
    AwsError::new(operation, Some("ValidationError"), message)
}

struct FakeSts(String);

#[async_trait]
impl Sts for FakeSts {
    async fn caller_account(&self) -> AwsResult<String> {
        Ok(self.0.clone())
    }
}

impl FakeCloud {
    fn account(&self, account: &AccountId) -> Arc<FakeAccount> {
        Arc::new(FakeAccount {
            state: self.state.clone(),
            account: account.to_string(),
            calls: self.calls.clone(),
        })
    }
}

impl Cloud for FakeCloud {
    fn cloudformation(
        &self,
        account: &AccountId,
        region: &Region,
    ) -> AwsResult<Arc<dyn CloudFormation>> {
        Ok(Arc::new(FakeCloudFormation {
            state: self.state.clone(),
            account: account.to_string(),
            region: region.to_string(),
            latency: self.latency,
            calls: self.calls.clone(),
            describes: self.describes.clone(),
        }))
    }
    fn s3(&self, account: &AccountId) -> AwsResult<Arc<dyn S3>> {
        Ok(self.account(account))
    }
    fn iam(&self, account: &AccountId) -> AwsResult<Arc<dyn Iam>> {
        Ok(self.account(account))
    }
    fn kms(&self, account: &AccountId, _region: &Region) -> AwsResult<Arc<dyn Kms>> {
        Ok(self.account(account))
    }
    fn lambda(&self, account: &AccountId, _region: &Region) -> AwsResult<Arc<dyn Lambda>> {
        Ok(self.account(account))
    }
    fn logs(&self, account: &AccountId, _region: &Region) -> AwsResult<Arc<dyn Logs>> {
        Ok(self.account(account))
    }
    fn codepipeline(
        &self,
        account: &AccountId,
        _region: &Region,
    ) -> AwsResult<Arc<dyn CodePipeline>> {
        Ok(self.account(account))
    }
    fn sts(&self, account: &AccountId) -> AwsResult<Arc<dyn Sts>> {
        Ok(Arc::new(FakeSts(account.to_string())))
    }
    fn organizations(&self, _account: &AccountId) -> AwsResult<Arc<dyn Organizations>> {
        Ok(Arc::new(self.organization.clone()))
    }
    fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }
}

/// A unit or root: the units and the accounts directly in it.
type Node = (Vec<String>, Vec<String>);

/// Counts a call, answers it with the service's throttling error when asked to, and brings every
/// stack up to now.
fn enter<'s>(
    state: &'s Mutex<State>,
    calls: &AtomicU64,
    operation: &'static str,
    throttling: (&'static str, &'static str),
) -> AwsResult<std::sync::MutexGuard<'s, State>> {
    calls.fetch_add(1, Ordering::Relaxed);
    let mut state = state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if state.throttled > 0 {
        state.throttled -= 1;
        return Err(AwsError::new(operation, Some(throttling.0), throttling.1));
    }
    settle_all(&mut state);
    Ok(state)
}
