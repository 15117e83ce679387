//! An in-memory AWS for what the emulator cannot show: stacks that stay in progress for a
//! while (on tokio's clock, so tests and benchmarks can pause it), failures at a chosen stack,
//! and a count of every call. Used by the executor's tests and the apply benchmark.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

use super::{
    AwsError, AwsResult, BucketOwner, Cloud, CloudFormation, Iam, KeyDeletion, Kms, S3, StackEvent,
    StackRequest, StackResource, Sts, UpdateOutcome,
};
use crate::plan::{StackStatus, StackSummary};
use crate::topology::{AccountId, Region};

#[derive(Debug, Clone)]
struct FakeStack {
    summary: StackSummary,
    template: String,
    /// The status the stack reaches at `done_at`, and its reason.
    pending: Option<(String, Option<String>, Instant)>,
    events: Vec<StackEvent>,
}

#[derive(Default)]
struct State {
    stacks: HashMap<(String, String, String), FakeStack>,
    /// `account/stack name` to the reason its next create fails.
    failures: HashMap<String, String>,
    /// How many of the next `DescribeStacks` calls answer with throttling.
    throttled: u32,
    next_id: u64,
}

/// A fake cloud whose every stack operation takes `latency` of tokio time.
pub struct FakeCloud {
    state: Arc<Mutex<State>>,
    latency: Duration,
    calls: Arc<AtomicU64>,
    describes: Arc<AtomicU64>,
}

impl FakeCloud {
    pub fn new(latency: Duration) -> Self {
        Self {
            state: Arc::new(Mutex::new(State::default())),
            latency,
            calls: Arc::new(AtomicU64::new(0)),
            describes: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The next create of this stack in this account fails with `reason` and rolls back.
    pub fn fail_create(&self, account: &str, stack: &str, reason: &str) {
        self.lock()
            .failures
            .insert(format!("{account}/{stack}"), reason.to_owned());
    }

    /// The next `count` `DescribeStacks` calls answer `Throttling: Rate exceeded`.
    pub fn throttle_describes(&self, count: u32) {
        self.lock().throttled = count;
    }

    /// Puts a stack in place, as if something else had started an operation on it.
    pub fn put_stack(
        &self,
        account: &str,
        region: &str,
        summary: StackSummary,
        template: &str,
        settles_as: Option<(&str, Duration)>,
    ) {
        let pending =
            settles_as.map(|(status, after)| (status.to_owned(), None, Instant::now() + after));
        let key = (account.to_owned(), region.to_owned(), summary.name.clone());
        self.lock().stacks.insert(
            key,
            FakeStack {
                summary,
                template: template.to_owned(),
                pending,
                events: Vec::new(),
            },
        );
    }

    /// A stack as it is now.
    pub fn stack(&self, account: &str, region: &str, name: &str) -> Option<StackSummary> {
        let mut state = self.lock();
        let stack =
            state
                .stacks
                .get_mut(&(account.to_owned(), region.to_owned(), name.to_owned()))?;
        settle(stack);
        Some(stack.summary.clone())
    }

    /// How many `DescribeStacks` calls waited on stacks.
    pub fn describes(&self) -> u64 {
        self.describes.load(Ordering::Relaxed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn settle(stack: &mut FakeStack) {
    if let Some((status, reason, at)) = stack.pending.clone() {
        if Instant::now() >= at {
            stack.pending = None;
            if let Some(reason) = &reason {
                stack.events.insert(
                    0,
                    event(
                        &stack.summary.name,
                        "AWS::IAM::Role",
                        "CREATE_FAILED",
                        Some(reason),
                        "Resource",
                    ),
                );
            }
            stack.events.insert(
                0,
                event(
                    &stack.summary.name,
                    "AWS::CloudFormation::Stack",
                    &status,
                    None,
                    &stack.summary.name,
                ),
            );
            stack.summary.status = StackStatus::parse(&status);
            stack.summary.status_reason = reason;
        }
    }
}

fn event(
    _stack: &str,
    resource_type: &str,
    status: &str,
    reason: Option<&str>,
    logical_id: &str,
) -> StackEvent {
    StackEvent {
        timestamp: String::new(),
        logical_id: logical_id.to_owned(),
        resource_type: resource_type.to_owned(),
        status: status.to_owned(),
        reason: reason.map(str::to_owned),
    }
}

/// Outputs a template declares, with values made from the stack and output names.
fn outputs_of(name: &str, template: &str) -> BTreeMap<String, String> {
    let parsed: serde_json::Value = serde_json::from_str(template).unwrap_or_default();
    parsed["Outputs"]
        .as_object()
        .map(|o| {
            o.keys()
                .map(|k| (k.clone(), format!("arn:fake:{name}:{k}")))
                .collect()
        })
        .unwrap_or_default()
}

struct FakeCloudFormation {
    state: Arc<Mutex<State>>,
    account: String,
    region: String,
    latency: Duration,
    calls: Arc<AtomicU64>,
    describes: Arc<AtomicU64>,
}

impl FakeCloudFormation {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn key(&self, name: &str) -> (String, String, String) {
        (self.account.clone(), self.region.clone(), name.to_owned())
    }

    fn find<'a>(&self, state: &'a mut State, name_or_id: &str) -> Option<&'a mut FakeStack> {
        let (account, region) = (&self.account, &self.region);
        state
            .stacks
            .iter_mut()
            .find(|((a, r, n), s)| {
                a == account && r == region && (n == name_or_id || s.summary.id == name_or_id)
            })
            .map(|(_, s)| s)
    }

    fn begin(&self, stack: &mut FakeStack, status: &str, settles_as: &str, reason: Option<String>) {
        stack.summary.status = StackStatus::parse(status);
        stack.events.insert(
            0,
            event(
                &stack.summary.name,
                "AWS::CloudFormation::Stack",
                status,
                None,
                &stack.summary.name,
            ),
        );
        stack.pending = Some((settles_as.to_owned(), reason, Instant::now() + self.latency));
    }
}

#[async_trait]
impl CloudFormation for FakeCloudFormation {
    async fn list_stacks(&self) -> AwsResult<Vec<StackSummary>> {
        let mut state = self.lock();
        let mut out = Vec::new();
        for ((a, r, _), stack) in &mut state.stacks {
            if *a == self.account && *r == self.region {
                settle(stack);
                out.push(stack.summary.clone());
            }
        }
        Ok(out)
    }

    async fn describe_stack(&self, name_or_id: &str) -> AwsResult<Option<StackSummary>> {
        self.describes.fetch_add(1, Ordering::Relaxed);
        let mut state = self.lock();
        if state.throttled > 0 {
            state.throttled -= 1;
            return Err(AwsError::new(
                "DescribeStacks",
                Some("Throttling"),
                "Rate exceeded",
            ));
        }
        let Some(stack) = self.find(&mut state, name_or_id) else {
            return Ok(None);
        };
        settle(stack);
        if stack.summary.status == StackStatus::DeleteComplete {
            return Ok(None);
        }
        Ok(Some(stack.summary.clone()))
    }

    async fn get_template(&self, name_or_id: &str) -> AwsResult<String> {
        let mut state = self.lock();
        let stack = self.find(&mut state, name_or_id).ok_or_else(|| {
            AwsError::new("GetTemplate", Some("ValidationError"), "does not exist")
        })?;
        Ok(stack.template.clone())
    }

    async fn create_stack(&self, request: &StackRequest) -> AwsResult<String> {
        let mut state = self.lock();
        if let Some(existing) = self.find(&mut state, &request.name) {
            settle(existing);
            if existing.summary.status != StackStatus::DeleteComplete {
                return Err(AwsError::new(
                    "CreateStack",
                    Some("AlreadyExistsException"),
                    format!("Stack [{}] already exists", request.name),
                ));
            }
        }
        state.next_id += 1;
        let id = format!(
            "arn:aws:cloudformation:{}:{}:stack/{}/{}",
            self.region, self.account, request.name, state.next_id
        );
        let failure = state
            .failures
            .remove(&format!("{}/{}", self.account, request.name));
        let mut stack = FakeStack {
            summary: StackSummary {
                id: id.clone(),
                name: request.name.clone(),
                status: StackStatus::CreateInProgress,
                status_reason: None,
                parameters: request.parameters.clone(),
                tags: request.tags.clone(),
                outputs: if failure.is_some() {
                    BTreeMap::new()
                } else {
                    outputs_of(&request.name, &request.template_body)
                },
                changed_at: format!("{:?}", Instant::now()),
            },
            template: request.template_body.clone(),
            pending: None,
            events: Vec::new(),
        };
        let settles_as = if failure.is_some() {
            "ROLLBACK_COMPLETE"
        } else {
            "CREATE_COMPLETE"
        };
        self.begin(&mut stack, "CREATE_IN_PROGRESS", settles_as, failure);
        state.stacks.insert(self.key(&request.name), stack);
        Ok(id)
    }

    async fn update_stack(&self, request: &StackRequest) -> AwsResult<UpdateOutcome> {
        let mut state = self.lock();
        let latency = self.latency;
        let stack = self.find(&mut state, &request.name).ok_or_else(|| {
            AwsError::new("UpdateStack", Some("ValidationError"), "does not exist")
        })?;
        settle(stack);
        if stack.template == request.template_body && stack.summary.parameters == request.parameters
        {
            return Ok(UpdateOutcome::NoChanges);
        }
        stack.template.clone_from(&request.template_body);
        stack.summary.parameters = request.parameters.clone();
        stack.summary.outputs = outputs_of(&request.name, &request.template_body);
        stack.summary.status = StackStatus::UpdateInProgress;
        stack.events.insert(
            0,
            event(
                &request.name,
                "AWS::CloudFormation::Stack",
                "UPDATE_IN_PROGRESS",
                None,
                &request.name,
            ),
        );
        stack.pending = Some(("UPDATE_COMPLETE".into(), None, Instant::now() + latency));
        Ok(UpdateOutcome::Started)
    }

    async fn delete_stack(&self, name_or_id: &str) -> AwsResult<()> {
        let mut state = self.lock();
        let latency = self.latency;
        if let Some(stack) = self.find(&mut state, name_or_id) {
            stack.summary.status = StackStatus::DeleteInProgress;
            stack.pending = Some(("DELETE_COMPLETE".into(), None, Instant::now() + latency));
        }
        Ok(())
    }

    async fn continue_update_rollback(&self, name_or_id: &str) -> AwsResult<()> {
        let mut state = self.lock();
        let latency = self.latency;
        if let Some(stack) = self.find(&mut state, name_or_id) {
            stack.summary.status = StackStatus::UpdateRollbackInProgress;
            stack.pending = Some((
                "UPDATE_ROLLBACK_COMPLETE".into(),
                None,
                Instant::now() + latency,
            ));
        }
        Ok(())
    }

    async fn stack_events(&self, name_or_id: &str) -> AwsResult<Vec<StackEvent>> {
        let mut state = self.lock();
        Ok(self
            .find(&mut state, name_or_id)
            .map(|s| s.events.clone())
            .unwrap_or_default())
    }

    async fn stack_resources(&self, _name_or_id: &str) -> AwsResult<Vec<StackResource>> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        Ok(Vec::new())
    }
}

struct Nothing;

#[async_trait]
impl S3 for Nothing {
    async fn bucket_owner(&self, _bucket: &str) -> AwsResult<BucketOwner> {
        Ok(BucketOwner::Nobody)
    }
    async fn empty_bucket(&self, _bucket: &str, _region: &Region) -> AwsResult<u64> {
        Ok(0)
    }
    async fn delete_bucket(&self, _bucket: &str, _region: &Region) -> AwsResult<()> {
        Ok(())
    }
}

#[async_trait]
impl Iam for Nothing {
    async fn role_exists(&self, _name: &str) -> AwsResult<bool> {
        Ok(false)
    }
}

#[async_trait]
impl Kms for Nothing {
    async fn key_deletion(&self, _key_id: &str) -> AwsResult<KeyDeletion> {
        Ok(KeyDeletion::Gone)
    }
}

struct FakeSts(String);

#[async_trait]
impl Sts for FakeSts {
    async fn caller_account(&self) -> AwsResult<String> {
        Ok(self.0.clone())
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
    fn s3(&self, _account: &AccountId) -> AwsResult<Arc<dyn S3>> {
        Ok(Arc::new(Nothing))
    }
    fn iam(&self, _account: &AccountId) -> AwsResult<Arc<dyn Iam>> {
        Ok(Arc::new(Nothing))
    }
    fn kms(&self, _account: &AccountId, _region: &Region) -> AwsResult<Arc<dyn Kms>> {
        Ok(Arc::new(Nothing))
    }
    fn sts(&self, account: &AccountId) -> AwsResult<Arc<dyn Sts>> {
        Ok(Arc::new(FakeSts(account.to_string())))
    }
    fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }
}
