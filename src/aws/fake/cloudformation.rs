//! The fake's CloudFormation: the documented state machine of stacks, on tokio's clock.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

use super::super::{
    AwsError, AwsResult, ChangeSetState, CloudFormation, ImportRequest, StackEvent, StackRequest,
    StackResource, UpdateOutcome,
};
use crate::plan::{StackStatus, StackSummary};

use super::{
    Completion, FakeStack, Operation, State, enter, event, outputs_of, reach, resources, validation,
};

pub(super) struct FakeCloudFormation {
    pub(super) state: Arc<Mutex<State>>,
    pub(super) account: String,
    pub(super) region: String,
    pub(super) latency: Duration,
    pub(super) calls: Arc<AtomicU64>,
    pub(super) describes: Arc<AtomicU64>,
}

impl FakeCloudFormation {
    fn enter(&self, operation: &'static str) -> AwsResult<std::sync::MutexGuard<'_, State>> {
        enter(
            &self.state,
            &self.calls,
            operation,
            ("Throttling", "Rate exceeded"),
        )
    }

    /// The id of the stack a name or id means: by id any stack of this place, deleted ones too;
    /// by name only the live one.
    fn find(&self, state: &State, name_or_id: &str) -> Option<String> {
        if let Some(stack) = state.stacks.get(name_or_id) {
            return (stack.account == self.account && stack.region == self.region)
                .then(|| name_or_id.to_owned());
        }
        state
            .stacks
            .iter()
            .find(|(_, s)| {
                s.account == self.account
                    && s.region == self.region
                    && s.summary.name == name_or_id
                    && s.summary.status != StackStatus::DeleteComplete
            })
            .map(|(id, _)| id.clone())
    }

    fn missing(operation: &'static str, name_or_id: &str) -> AwsError {
        validation(
            operation,
            format!("Stack with id {name_or_id} does not exist"),
        )
    }

    /// Takes one failure of `operation` on the stack, if one is set.
    fn failure(&self, state: &mut State, operation: Operation, name: &str) -> Option<String> {
        let key = (operation, self.account.clone(), name.to_owned());
        let (left, reason) = state.failures.get_mut(&key)?;
        let reason = reason.clone();
        *left -= 1;
        if *left == 0 {
            state.failures.remove(&key);
        }
        Some(reason)
    }

    /// Starts an operation: the stack is in progress now and goes through `steps`, one latency
    /// apart.
    fn begin(&self, state: &mut State, id: &str, first: StackStatus, then: &[StackStatus]) {
        let start = Instant::now();
        let step = self.latency / u32::try_from(then.len().max(1)).unwrap_or(1);
        let stack = state.stacks.get_mut(id).expect("a known stack");
        let was_settled = stack.steps.is_empty();
        stack.steps = then
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let i = u32::try_from(i).unwrap_or(u32::MAX);
                (s.clone(), start + step * (i + 1))
            })
            .collect();
        if was_settled {
            state.in_progress += 1;
            state.max_in_progress = state.max_in_progress.max(state.in_progress);
        }
        reach(state, id, first);
    }
}

/// Statuses in which UpdateStack is accepted.
fn updatable(status: &StackStatus) -> bool {
    matches!(
        status,
        StackStatus::CreateComplete
            | StackStatus::UpdateComplete
            | StackStatus::UpdateRollbackComplete
            | StackStatus::ImportComplete
            | StackStatus::ImportRollbackComplete
    )
}

#[async_trait]
impl CloudFormation for FakeCloudFormation {
    async fn list_stacks(&self) -> AwsResult<Vec<StackSummary>> {
        let state = self.enter("DescribeStacks")?;
        Ok(state
            .stacks
            .values()
            .filter(|s| {
                s.account == self.account
                    && s.region == self.region
                    && (state.lists_deleted || s.summary.status != StackStatus::DeleteComplete)
            })
            .map(|s| s.summary.clone())
            .collect())
    }

    async fn describe_stack(&self, name_or_id: &str) -> AwsResult<Option<StackSummary>> {
        self.describes.fetch_add(1, Ordering::Relaxed);
        let state = self.enter("DescribeStacks")?;
        let found = self.find(&state, name_or_id).or_else(|| {
            state.lists_deleted.then(|| {
                state
                    .stacks
                    .iter()
                    .filter(|(_, s)| {
                        s.account == self.account
                            && s.region == self.region
                            && s.summary.name == name_or_id
                    })
                    .map(|(id, _)| id.clone())
                    .next_back()
            })?
        });
        Ok(found
            .map(|id| state.stacks[&id].summary.clone())
            .filter(|s| state.lists_deleted || s.status != StackStatus::DeleteComplete))
    }

    async fn get_template(&self, name_or_id: &str) -> AwsResult<String> {
        let state = self.enter("GetTemplate")?;
        let id = self
            .find(&state, name_or_id)
            .ok_or_else(|| Self::missing("GetTemplate", name_or_id))?;
        Ok(state.stacks[&id].template.clone())
    }

    async fn create_stack(&self, request: &StackRequest) -> AwsResult<String> {
        let mut state = self.enter("CreateStack")?;
        if self.find(&state, &request.name).is_some() {
            return Err(AwsError::new(
                "CreateStack",
                Some("AlreadyExistsException"),
                format!("Stack [{}] already exists", request.name),
            ));
        }
        if state
            .panics
            .contains(&(self.account.clone(), request.name.clone()))
        {
            drop(state);
            panic!("the fake was told to panic on creating {}", request.name);
        }
        state.next_id += 1;
        let id = format!(
            "arn:aws:cloudformation:{}:{}:stack/{}/{}",
            self.region, self.account, request.name, state.next_id
        );
        let failure = self.failure(&mut state, Operation::Create, &request.name);
        state.stacks.insert(
            id.clone(),
            FakeStack {
                account: self.account.clone(),
                region: self.region.clone(),
                summary: StackSummary {
                    id: id.clone(),
                    name: request.name.clone(),
                    status: StackStatus::CreateInProgress,
                    status_reason: None,
                    parameters: request.parameters.clone(),
                    tags: request.tags.clone(),
                    outputs: BTreeMap::new(),
                    changed_at: String::new(),
                },
                template: request.template_body.clone(),
                steps: Vec::new(),
                on_complete: Some(Completion {
                    template: request.template_body.clone(),
                    parameters: request.parameters.clone(),
                    tags: request.tags.clone(),
                    outputs: outputs_of(
                        &self.account,
                        &self.region,
                        &request.name,
                        &request.template_body,
                    ),
                }),
                before_update: None,
                events: Vec::new(),
            },
        );
        match failure {
            None => self.begin(
                &mut state,
                &id,
                StackStatus::CreateInProgress,
                &[StackStatus::CreateComplete],
            ),
            Some(reason) => {
                self.begin(
                    &mut state,
                    &id,
                    StackStatus::CreateInProgress,
                    &[
                        StackStatus::RollbackInProgress,
                        StackStatus::RollbackComplete,
                    ],
                );
                let stack = state.stacks.get_mut(&id).expect("just made");
                stack.events.insert(
                    0,
                    event("CREATE_FAILED", Some(&reason), "Resource", "AWS::IAM::Role"),
                );
                stack.summary.status_reason = Some(reason);
            }
        }
        Ok(id)
    }

    async fn update_stack(&self, request: &StackRequest) -> AwsResult<UpdateOutcome> {
        let mut state = self.enter("UpdateStack")?;
        let id = self
            .find(&state, &request.name)
            .ok_or_else(|| Self::missing("UpdateStack", &request.name))?;
        if state
            .interleaved
            .remove(&(self.account.clone(), request.name.clone()))
        {
            self.begin(
                &mut state,
                &id,
                StackStatus::UpdateInProgress,
                &[
                    StackStatus::UpdateCompleteCleanupInProgress,
                    StackStatus::UpdateComplete,
                ],
            );
        }
        let stack = &state.stacks[&id];
        if !updatable(&stack.summary.status) {
            return Err(validation(
                "UpdateStack",
                format!(
                    "Stack:{id} is in {} state and can not be updated.",
                    stack.summary.status
                ),
            ));
        }
        if stack.template == request.template_body
            && stack.summary.parameters == request.parameters
            && stack.summary.tags == request.tags
        {
            return Ok(UpdateOutcome::NoChanges);
        }
        let failure = self.failure(&mut state, Operation::Update, &request.name);
        let rollback_fails = failure.is_some()
            && self
                .failure(&mut state, Operation::UpdateRollback, &request.name)
                .is_some();
        let stack = state.stacks.get_mut(&id).expect("found above");
        stack.before_update = Some(Completion {
            template: stack.template.clone(),
            parameters: stack.summary.parameters.clone(),
            tags: stack.summary.tags.clone(),
            outputs: stack.summary.outputs.clone(),
        });
        stack.on_complete = Some(Completion {
            template: request.template_body.clone(),
            parameters: request.parameters.clone(),
            tags: request.tags.clone(),
            outputs: outputs_of(
                &self.account,
                &self.region,
                &request.name,
                &request.template_body,
            ),
        });
        // AWS shows the new template and parameters while the update runs
        stack.template.clone_from(&request.template_body);
        stack.summary.parameters.clone_from(&request.parameters);
        stack.summary.status_reason.clone_from(&failure);
        match failure {
            None => self.begin(
                &mut state,
                &id,
                StackStatus::UpdateInProgress,
                &[
                    StackStatus::UpdateCompleteCleanupInProgress,
                    StackStatus::UpdateComplete,
                ],
            ),
            Some(reason) => {
                let end = if rollback_fails {
                    StackStatus::UpdateRollbackFailed
                } else {
                    StackStatus::UpdateRollbackComplete
                };
                self.begin(
                    &mut state,
                    &id,
                    StackStatus::UpdateInProgress,
                    &[StackStatus::UpdateRollbackInProgress, end],
                );
                let stack = state.stacks.get_mut(&id).expect("found above");
                stack.events.insert(
                    0,
                    event("UPDATE_FAILED", Some(&reason), "Resource", "AWS::IAM::Role"),
                );
            }
        }
        Ok(UpdateOutcome::Started)
    }

    async fn delete_stack(&self, name_or_id: &str) -> AwsResult<()> {
        let mut state = self.enter("DeleteStack")?;
        // Deleting a stack that does not exist succeeds, as in AWS.
        let Some(id) = self.find(&state, name_or_id) else {
            return Ok(());
        };
        let status = state.stacks[&id].summary.status.clone();
        if status == StackStatus::DeleteComplete || status == StackStatus::DeleteInProgress {
            return Ok(());
        }
        if status.is_in_progress() {
            return Err(validation(
                "DeleteStack",
                format!("Stack [{name_or_id}] cannot be deleted while in status {status}"),
            ));
        }
        let name = state.stacks[&id].summary.name.clone();
        // A bucket with objects in it cannot be deleted: the stack's delete fails.
        let template = state.stacks[&id].template.clone();
        let full = resources(&name, &template)
            .into_iter()
            .filter(|(kind, _)| kind == "AWS::S3::Bucket")
            .find(|(_, bucket)| state.buckets.get(bucket).is_some_and(|b| b.objects > 0));
        let failure = self
            .failure(&mut state, Operation::Delete, &name)
            .or_else(|| {
                full.map(|(_, bucket)| {
                    format!("The bucket you tried to delete is not empty ({bucket})")
                })
            });
        match failure {
            None => self.begin(
                &mut state,
                &id,
                StackStatus::DeleteInProgress,
                &[StackStatus::DeleteComplete],
            ),
            Some(reason) => {
                self.begin(
                    &mut state,
                    &id,
                    StackStatus::DeleteInProgress,
                    &[StackStatus::DeleteFailed],
                );
                let stack = state.stacks.get_mut(&id).expect("found above");
                stack.summary.status_reason = Some(reason.clone());
                stack.events.insert(
                    0,
                    event(
                        "DELETE_FAILED",
                        Some(&reason),
                        "Resource",
                        "AWS::S3::Bucket",
                    ),
                );
            }
        }
        Ok(())
    }

    async fn continue_update_rollback(&self, name_or_id: &str) -> AwsResult<()> {
        let mut state = self.enter("ContinueUpdateRollback")?;
        let id = self
            .find(&state, name_or_id)
            .ok_or_else(|| Self::missing("ContinueUpdateRollback", name_or_id))?;
        let status = state.stacks[&id].summary.status.clone();
        if status != StackStatus::UpdateRollbackFailed {
            return Err(validation(
                "ContinueUpdateRollback",
                format!("Stack {name_or_id} is in {status} state and cannot continue its rollback"),
            ));
        }
        self.begin(
            &mut state,
            &id,
            StackStatus::UpdateRollbackInProgress,
            &[StackStatus::UpdateRollbackComplete],
        );
        Ok(())
    }

    async fn stack_events(&self, name_or_id: &str) -> AwsResult<Vec<StackEvent>> {
        let state = self.enter("DescribeStackEvents")?;
        let id = self
            .find(&state, name_or_id)
            .ok_or_else(|| Self::missing("DescribeStackEvents", name_or_id))?;
        Ok(state.stacks[&id].events.clone())
    }

    async fn stack_resources(&self, name_or_id: &str) -> AwsResult<Vec<StackResource>> {
        let state = self.enter("DescribeStackResources")?;
        let id = self
            .find(&state, name_or_id)
            .ok_or_else(|| Self::missing("DescribeStackResources", name_or_id))?;
        let stack = &state.stacks[&id];
        let template: serde_json::Value = serde_json::from_str(&stack.template).unwrap_or_default();
        let logical: Vec<String> = template["Resources"]
            .as_object()
            .map(|r| r.keys().cloned().collect())
            .unwrap_or_default();
        Ok(resources(&stack.summary.name, &stack.template)
            .into_iter()
            .zip(logical)
            .map(|((resource_type, physical), logical_id)| StackResource {
                logical_id,
                physical_id: Some(physical),
                resource_type,
            })
            .collect())
    }

    async fn holding_stack(&self, physical_id: &str) -> AwsResult<Option<String>> {
        let state = self.enter("DescribeStackResources")?;
        Ok(state
            .stacks
            .values()
            .filter(|s| {
                s.account == self.account && s.region == self.region && !s.summary.is_deleted()
            })
            .find(|s| {
                resources(&s.summary.name, &s.template)
                    .iter()
                    .any(|(_, p)| p == physical_id)
            })
            .map(|s| s.summary.name.clone()))
    }

    async fn list_imports(&self, _export: &str) -> AwsResult<Vec<String>> {
        drop(self.enter("ListImports")?);
        Ok(Vec::new())
    }

    async fn create_import_change_set(&self, _request: &ImportRequest) -> AwsResult<String> {
        drop(self.enter("CreateChangeSet")?);
        Err(AwsError::new(
            "CreateChangeSet",
            Some("UnsupportedOperation"),
            "the fake cloud has no resource import: the emulator's tests cover it",
        ))
    }

    async fn change_set_state(&self, _id: &str) -> AwsResult<ChangeSetState> {
        drop(self.enter("DescribeChangeSet")?);
        Ok(ChangeSetState::Failed(
            "the fake cloud has no change sets".to_owned(),
        ))
    }

    async fn execute_change_set(&self, _id: &str) -> AwsResult<()> {
        drop(self.enter("ExecuteChangeSet")?);
        Err(AwsError::new(
            "ExecuteChangeSet",
            Some("UnsupportedOperation"),
            "the fake cloud has no change sets",
        ))
    }
}
