//! One change carried out on one stack: create, update, replace or delete, then wait.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::{Backoff, Event, Reporter, seconds};
use crate::aws::{
    AwsError, ChangeSetState, Cloud, CloudFormation, ImportRequest, KeyDeletion, StackEvent,
    StackRequest, UpdateOutcome,
};
use crate::layout::StackKey;
use crate::plan::{Action, Change, StackState, StackStatus, StackSummary};

/// Why a change failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Cause {
    /// AWS refused a call.
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// The operation ran and the stack ended somewhere else than wanted.
    #[error("ended in {status}: {reason}")]
    Ended {
        /// Where the stack ended.
        status: StackStatus,
        /// Its failed resource's reason, or the stack's own.
        reason: String,
    },
    /// A delete that CloudFormation could not finish.
    #[error("{status}{}", reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default())]
    NotDeleted {
        /// Where the stack ended (`DELETE_FAILED`).
        status: StackStatus,
        /// Why, when CloudFormation says.
        reason: Option<String>,
    },
    /// The stack was deleted by someone else while plinth waited for its operation.
    #[error("the stack disappeared while plinth waited for it")]
    Disappeared,
    /// A policy still named a principal the service could not see when the propagation window
    /// (`--propagation-timeout`) ran out.
    #[error(
        "IAM propagation: a principal that a policy names was still not valid after {seconds} s \
         of retries (--propagation-timeout); a role created moments ago can take longer to \
         propagate (raise the timeout), a deleted one never does: {reason}"
    )]
    PropagationTimedOut {
        /// The window, `--propagation-timeout`.
        seconds: u64,
        /// The last refusal.
        reason: String,
    },
    /// The stack stayed in progress longer than `--wait-timeout`.
    #[error("still {status} after {minutes} minutes; plinth stopped waiting (--wait-timeout)")]
    WaitTimedOut {
        /// The status it was still in.
        status: StackStatus,
        /// The wait, `--wait-timeout`.
        minutes: u64,
    },
    /// A parameter's upstream output does not exist (its stack failed or is gone).
    #[error(
        "parameter {parameter} needs output {output} of an upstream stack, which does not exist"
    )]
    MissingOutput {
        /// The template's parameter.
        parameter: String,
        /// The output it takes.
        output: String,
    },
    /// A saved plan's change to create or update has no template (the file was edited).
    #[error("the plan holds no template for this change")]
    NoTemplate,
    /// A StackSet operation ended with instances that failed (each reported against its
    /// account), or failed as a whole.
    #[error(
        "StackSet operation {operation} ended {status}: {failed} of {total} instance(s) failed ({accounts})"
    )]
    StackSetOperation {
        /// The operation's id.
        operation: String,
        /// How the operation ended.
        status: String,
        /// How many instances failed.
        failed: usize,
        /// How many instances the operation reached.
        total: usize,
        /// The failed instances' accounts and regions.
        accounts: String,
    },
    /// CloudFormation refused the change set that imports resources outside any stack.
    #[error("CloudFormation refused to import {resources}: {reason}")]
    ImportRefused {
        /// The resources, with their identifiers.
        resources: String,
        /// The change set's status reason.
        reason: String,
    },
    /// A saved plan's template is not JSON (the file was edited).
    #[error("the planned template is not JSON: {0}")]
    TemplateNotJson(String),
    /// A bucket of a stack to delete could not be emptied.
    #[error("cannot empty bucket {bucket}: {error}")]
    EmptyBucket {
        /// The bucket.
        bucket: String,
        /// What S3 answered.
        error: AwsError,
    },
    /// A bug in plinth: the task carrying out the change panicked.
    #[error("internal error: {0}")]
    Panicked(String),
}

/// A change that failed: which stack and pass, why, and the stack events that explain it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{stack}: {cause}")]
pub(crate) struct ChangeError {
    /// The change's label (stack, account, region, pass).
    pub(crate) stack: String,
    /// Why it failed.
    pub(crate) cause: Cause,
    /// The failed resource events, newest first.
    pub(crate) events: Vec<StackEvent>,
}

impl ChangeError {
    #[cfg(test)]
    /// The AWS error behind the failure, if AWS refused a call.
    pub(crate) fn aws(&self) -> Option<&AwsError> {
        match &self.cause {
            Cause::Aws(e) | Cause::EmptyBucket { error: e, .. } => Some(e),
            _ => None,
        }
    }
}

impl Cause {
    /// A refusal that IAM's eventual consistency explains: a policy named a principal the
    /// service could not see yet, refused by a direct call or inside the stack (the reason
    /// of the stack's failed resource).
    pub(crate) fn is_iam_propagation(&self) -> bool {
        match self {
            Cause::Aws(error) => error.is_invisible_principal(),
            Cause::Ended { reason, .. } => crate::aws::names_invisible_principal(reason),
            _ => false,
        }
    }
}

/// A failure with the stack events that explain it.
pub(super) type Failed = (Cause, Vec<StackEvent>);

fn plain(cause: impl Into<Cause>) -> Failed {
    (cause.into(), Vec::new())
}

/// Parameter values for a change: the output of an upstream stack changed in this run, else the
/// value the plan read from what is deployed.
pub(crate) fn resolve(
    change: &Change,
    outputs: &BTreeMap<StackKey, BTreeMap<String, String>>,
) -> Result<BTreeMap<String, String>, Cause> {
    change
        .parameters
        .iter()
        .map(|p| {
            let value = outputs
                .get(&p.from.stack)
                .and_then(|o| o.get(&p.from.output))
                .cloned()
                .or_else(|| p.value.clone())
                .ok_or_else(|| Cause::MissingOutput {
                    parameter: p.name.clone(),
                    output: p.from.output.clone(),
                })?;
            Ok((p.name.clone(), value))
        })
        .collect()
}

/// How many failed polls in a row a wait tolerates when the errors say nothing about the stack.
const MAX_TRANSIENT_ERRORS: u32 = 5;

pub(crate) struct ChangeTask {
    pub(crate) index: usize,
    pub(crate) change: Change,
    pub(crate) parameters: Result<BTreeMap<String, String>, Cause>,
    pub(crate) cloud: Arc<dyn Cloud>,
    pub(crate) reporter: Arc<dyn Reporter>,
    pub(crate) backoff: Backoff,
    pub(crate) wait_timeout: Duration,
    /// How long a change refused for a principal not yet visible is tried again.
    pub(crate) propagation_timeout: Duration,
}

/// Delays between the tries of a change refused for a principal not yet visible: IAM usually
/// propagates within seconds, sometimes a minute.
const PROPAGATION_BACKOFF: Backoff = Backoff {
    initial: Duration::from_secs(2),
    factor: 1.5,
    max: Duration::from_secs(10),
};

/// How many times a change re-reads and acts again when another run's operation on the same
/// stack made CloudFormation refuse its own.
const MAX_ROUNDS: u32 = 5;

/// How a wait ended.
enum Settled {
    Stack(StackSummary),
    Gone,
}

impl ChangeTask {
    pub(super) fn label(&self) -> String {
        self.change.label()
    }

    /// Runs the change; on success returns the stack's outputs (`None` when it has none now).
    pub(crate) async fn run(self) -> Result<Option<BTreeMap<String, String>>, ChangeError> {
        let started = Instant::now();
        if self.change.action == Action::NoChange && self.change.drift.is_empty() {
            return Ok(None);
        }
        self.reporter.report(Event::Started {
            change: self.index,
            stack: self.label(),
            action: self.change.action,
        });
        match self.converge_through_propagation(started).await {
            Ok((outputs, unchanged)) => {
                self.reporter.report(Event::Succeeded {
                    change: self.index,
                    stack: self.label(),
                    elapsed_seconds: seconds(started),
                    unchanged,
                });
                Ok(outputs)
            }
            Err((failure, events)) => {
                self.reporter.report(Event::Failed {
                    change: self.index,
                    stack: self.label(),
                    elapsed_seconds: seconds(started),
                    error: failure.to_string(),
                    events: events.clone(),
                });
                Err(ChangeError {
                    stack: self.label(),
                    cause: failure,
                    events,
                })
            }
        }
    }

    /// Converges the stack and repairs its drift, trying again while the only obstacle is a
    /// principal that IAM has not yet propagated (within `propagation_timeout` of the first
    /// such refusal). Any other failure ends the change at once.
    async fn converge_through_propagation(
        &self,
        started: Instant,
    ) -> Result<(Option<BTreeMap<String, String>>, bool), Failed> {
        let mut first_refusal: Option<Instant> = None;
        let mut attempt = 0;
        loop {
            match self.converge(started).await {
                Err((cause, events)) if cause.is_iam_propagation() => {
                    let since = *first_refusal.get_or_insert_with(Instant::now);
                    let left = self.propagation_timeout.saturating_sub(since.elapsed());
                    if left.is_zero() {
                        return Err((
                            Cause::PropagationTimedOut {
                                seconds: self.propagation_timeout.as_secs(),
                                reason: cause.to_string(),
                            },
                            events,
                        ));
                    }
                    let delay = PROPAGATION_BACKOFF.delay(attempt).min(left);
                    self.reporter.report(Event::Status {
                        change: self.index,
                        stack: self.label(),
                        status: format!(
                            "waiting for IAM to propagate a new principal ({cause}); trying again in {:.0} s",
                            delay.as_secs_f64().ceil()
                        ),
                        elapsed_seconds: seconds(started),
                    });
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// One try: the stack operation, then the drift repairs.
    async fn converge(
        &self,
        started: Instant,
    ) -> Result<(Option<BTreeMap<String, String>>, bool), Failed> {
        if self.change.stack.key.kind() == crate::layout::StackKind::StackSet {
            return self.converge_stack_set(started).await;
        }
        let (outputs, unchanged) = if self.change.action == Action::NoChange {
            (None, true)
        } else {
            let cfn = self
                .cloud
                .cloudformation(&self.change.stack.account, &self.change.stack.region)
                .map_err(plain)?;
            self.perform(cfn.as_ref(), started).await?
        };
        // Drift is repaired once CloudFormation is done with the stack, so that what it wrote
        // is not written again under it; each call sets exactly what the template declares.
        let repaired = self.repair_drift(started).await?;
        Ok((outputs, unchanged && !repaired))
    }

    /// Makes the repair of every drifted property; whether there was any.
    async fn repair_drift(&self, started: Instant) -> Result<bool, Failed> {
        use crate::plan::drift::Service;
        let (account, region) = (&self.change.stack.account, &self.change.stack.region);
        // One call can put several properties back (a function's configuration, a pipeline's
        // definition); it is made once.
        let mut made: Vec<&crate::plan::drift::Repair> = Vec::new();
        for drift in &self.change.drift {
            if made.contains(&&drift.repair) {
                continue;
            }
            made.push(&drift.repair);
            let properties: Vec<&str> = self
                .change
                .drift
                .iter()
                .filter(|d| d.repair == drift.repair)
                .map(|d| d.property.as_str())
                .collect();
            let result = match drift.repair.service() {
                Service::S3 => match self.cloud.s3(account) {
                    Ok(s3) => s3.repair(region, &drift.repair).await,
                    Err(e) => Err(e),
                },
                Service::Kms => match self.cloud.kms(account, region) {
                    Ok(kms) => kms.repair(&drift.repair).await,
                    Err(e) => Err(e),
                },
                Service::Iam => match self.cloud.iam(account) {
                    Ok(iam) => iam.repair(&drift.repair).await,
                    Err(e) => Err(e),
                },
                Service::Lambda => match self.cloud.lambda(account, region) {
                    Ok(lambda) => lambda.repair(&drift.repair).await,
                    Err(e) => Err(e),
                },
                Service::CodePipeline => match self.cloud.codepipeline(account, region) {
                    Ok(codepipeline) => codepipeline.repair(&drift.repair).await,
                    Err(e) => Err(e),
                },
                Service::Logs => match self.cloud.logs(account, region) {
                    Ok(logs) => logs.repair(&drift.repair).await,
                    Err(e) => Err(e),
                },
            };
            result.map_err(plain)?;
            let status = if properties == ["deleted"] {
                format!(
                    "repaired drift: {} (deleted outside CloudFormation) is created again as declared",
                    drift.resource
                )
            } else {
                format!(
                    "repaired drift: {} {} {} as declared again",
                    drift.resource,
                    properties.join(", "),
                    if properties.len() == 1 { "is" } else { "are" }
                )
            };
            self.reporter.report(Event::Status {
                change: self.index,
                stack: self.label(),
                status,
                elapsed_seconds: seconds(started),
            });
        }
        Ok(!self.change.drift.is_empty())
    }

    /// Level-triggered and patient: each round re-reads the stack, waits while CloudFormation is
    /// changing it (an interrupted run, or another operator's), and acts on what it is then. When
    /// another run acts on the same stack at the same moment, CloudFormation refuses one of the
    /// two (`AlreadyExistsException`, "… is in UPDATE_IN_PROGRESS state"); the refused run
    /// starts a new round instead of failing, so neither damages the other.
    async fn perform(
        &self,
        cfn: &dyn CloudFormation,
        started: Instant,
    ) -> Result<(Option<BTreeMap<String, String>>, bool), Failed> {
        let mut round = 1;
        loop {
            match self.act(cfn, started).await {
                Err((Cause::Aws(error), _)) if error.is_conflict() && round < MAX_ROUNDS => {
                    round += 1;
                    self.reporter.report(Event::Status {
                        change: self.index,
                        stack: self.label(),
                        status: format!("busy ({}); reading it again", error.message),
                        elapsed_seconds: seconds(started),
                    });
                }
                other => return other,
            }
        }
    }

    async fn act(
        &self,
        cfn: &dyn CloudFormation,
        started: Instant,
    ) -> Result<(Option<BTreeMap<String, String>>, bool), Failed> {
        let name = self.change.stack.name.clone();
        // Level-triggered: act on what the stack is now, not on what it was when planned.
        let current = match self.describe(cfn, &name).await.map_err(plain)? {
            Some(s) if s.status.is_in_progress() => {
                match self.wait(cfn, &s.id, started).await.map_err(plain)? {
                    Settled::Stack(s) => Some(s),
                    Settled::Gone => None,
                }
            }
            other => other,
        };
        match self.change.action {
            Action::NoChange => Ok((None, true)),
            Action::Delete => {
                let Some(stack) = current else {
                    return Ok((None, true));
                };
                self.delete(cfn, &stack, started)
                    .await
                    .map(|()| (None, false))
            }
            Action::Create | Action::Replace | Action::Update | Action::Wait => {
                let mut request = self.request().map_err(plain)?;
                if let Some(upload) = &self.change.template_upload {
                    self.cloud
                        .s3(&upload.account)
                        .map_err(plain)?
                        .put_object(
                            &upload.bucket,
                            &upload.region,
                            &upload.key,
                            &request.template_body,
                        )
                        .await
                        .map_err(plain)?;
                    request.template_url = Some(upload.url.clone());
                }
                match current {
                    Some(stack) if stack.state() == StackState::NeedsReplacement => {
                        self.delete(cfn, &stack, started).await?;
                        self.create(cfn, &request, started)
                            .await
                            .map(|o| (Some(o), false))
                    }
                    Some(stack) => self.update(cfn, &stack, &request, started).await,
                    None => self
                        .create(cfn, &request, started)
                        .await
                        .map(|o| (Some(o), false)),
                }
            }
        }
    }

    fn request(&self) -> Result<StackRequest, Cause> {
        let parameters = self.parameters.clone()?;
        let template = self.change.template.as_deref().ok_or(Cause::NoTemplate)?;
        // Compact JSON: the canonical form is for people; CloudFormation limits bodies to 51,200 bytes.
        let body = serde_json::from_str::<serde_json::Value>(template)
            .map(|v| v.to_string())
            .map_err(|e| Cause::TemplateNotJson(e.to_string()))?;
        Ok(StackRequest {
            name: self.change.stack.name.clone(),
            template_body: body,
            template_url: None,
            parameters,
            tags: self.change.tags.clone(),
        })
    }

    /// Creates the stack; with resources to import, imports them first (a change set of type
    /// `IMPORT` that makes the stack with them alone), then updates it to its template.
    async fn create(
        &self,
        cfn: &dyn CloudFormation,
        request: &StackRequest,
        started: Instant,
    ) -> Result<BTreeMap<String, String>, Failed> {
        let Some(import) = &self.change.import else {
            let id = cfn.create_stack(request).await.map_err(plain)?;
            return self
                .expect(cfn, &id, &StackStatus::CreateComplete, started)
                .await;
        };
        let template_body = serde_json::from_str::<serde_json::Value>(&import.template)
            .map(|v| v.to_string())
            .map_err(|e| plain(Cause::TemplateNotJson(e.to_string())))?;
        let change_set = cfn
            .create_import_change_set(&ImportRequest {
                name: request.name.clone(),
                template_body,
                tags: request.tags.clone(),
                resources: import.resources.clone(),
            })
            .await
            .map_err(plain)?;
        let waiting_since = Instant::now();
        let mut attempt = 0;
        loop {
            match cfn.change_set_state(&change_set).await.map_err(plain)? {
                ChangeSetState::Ready => break,
                ChangeSetState::Failed(reason) => {
                    let resources = import
                        .resources
                        .iter()
                        .map(|r| format!("{} ({})", r.logical_id, r.identifier_text()))
                        .collect::<Vec<_>>()
                        .join(", ");
                    return Err(plain(Cause::ImportRefused { resources, reason }));
                }
                ChangeSetState::Pending if waiting_since.elapsed() >= self.wait_timeout => {
                    return Err(plain(Cause::WaitTimedOut {
                        status: StackStatus::ReviewInProgress,
                        minutes: self.wait_timeout.as_secs() / 60,
                    }));
                }
                ChangeSetState::Pending => {
                    tokio::time::sleep(self.backoff.delay(attempt)).await;
                    attempt += 1;
                }
            }
        }
        cfn.execute_change_set(&change_set).await.map_err(plain)?;
        let outputs = self
            .expect(cfn, &request.name, &StackStatus::ImportComplete, started)
            .await?;
        match cfn.update_stack(request).await.map_err(plain)? {
            UpdateOutcome::NoChanges => Ok(outputs),
            UpdateOutcome::Started => {
                self.expect(cfn, &request.name, &StackStatus::UpdateComplete, started)
                    .await
            }
        }
    }

    async fn update(
        &self,
        cfn: &dyn CloudFormation,
        stack: &StackSummary,
        request: &StackRequest,
        started: Instant,
    ) -> Result<(Option<BTreeMap<String, String>>, bool), Failed> {
        self.finish_failed_rollback(cfn, stack, started).await?;
        match cfn.update_stack(request).await.map_err(plain)? {
            UpdateOutcome::NoChanges => Ok((Some(stack.outputs.clone()), true)),
            UpdateOutcome::Started => self
                .expect(cfn, &stack.id, &StackStatus::UpdateComplete, started)
                .await
                .map(|o| (Some(o), false)),
        }
    }

    /// Continues the rollback of a stack in `UPDATE_ROLLBACK_FAILED` and waits for it to end;
    /// nothing for any other stack.
    async fn finish_failed_rollback(
        &self,
        cfn: &dyn CloudFormation,
        stack: &StackSummary,
        started: Instant,
    ) -> Result<(), Failed> {
        if stack.status != StackStatus::UpdateRollbackFailed {
            return Ok(());
        }
        cfn.continue_update_rollback(&stack.id)
            .await
            .map_err(plain)?;
        self.expect(
            cfn,
            &stack.id,
            &StackStatus::UpdateRollbackComplete,
            started,
        )
        .await
        .map(|_| ())
    }

    /// Empties the stack's buckets, deletes it, retries once if a bucket refilled, and reports
    /// when its keys will be deleted.
    async fn delete(
        &self,
        cfn: &dyn CloudFormation,
        stack: &StackSummary,
        started: Instant,
    ) -> Result<(), Failed> {
        let spec = &self.change.stack;
        let resources = cfn.stack_resources(&stack.id).await.map_err(plain)?;
        // What the template retains (a stack made by an import and not updated since) stays
        // when the stack goes: its buckets are not emptied.
        let template = cfn.get_template(&stack.id).await.map_err(plain)?;
        let retained = crate::plan::retained(&serde_json::from_str(&template).unwrap_or_default());
        let physical = |kind: &str| -> Vec<String> {
            resources
                .iter()
                .filter(|r| r.resource_type == kind && !retained.contains(&r.logical_id))
                .filter_map(|r| r.physical_id.clone())
                .collect()
        };
        let buckets = physical("AWS::S3::Bucket");
        let keys = physical("AWS::KMS::Key");
        // A stack whose update rollback failed cannot be deleted cleanly until the rollback ends.
        self.finish_failed_rollback(cfn, stack, started).await?;
        let s3 = self.cloud.s3(&spec.account).map_err(plain)?;
        let mut last_error = None;
        for _attempt in 0..2 {
            for bucket in &buckets {
                match s3.empty_bucket(bucket, &spec.region).await {
                    Ok(0) => {}
                    Ok(objects) => self.reporter.report(Event::BucketEmptied {
                        bucket: bucket.clone(),
                        objects,
                    }),
                    // A bucket already deleted with an earlier attempt has nothing to empty.
                    Err(e) if e.is_no_such_bucket() => {}
                    Err(error) => {
                        return Err(plain(Cause::EmptyBucket {
                            bucket: bucket.clone(),
                            error,
                        }));
                    }
                }
            }
            cfn.delete_stack(&stack.id).await.map_err(plain)?;
            match self.wait(cfn, &stack.id, started).await.map_err(plain)? {
                Settled::Gone => {
                    last_error = None;
                    break;
                }
                Settled::Stack(s) => {
                    let events = self.failure_events(cfn, &s.id).await;
                    last_error = Some((
                        Cause::NotDeleted {
                            status: s.status,
                            reason: s.status_reason,
                        },
                        events,
                    ));
                }
            }
        }
        if let Some(error) = last_error {
            return Err(error);
        }
        let kms = self.cloud.kms(&spec.account, &spec.region).map_err(plain)?;
        for key in keys {
            let state = kms.key_deletion(&key).await.unwrap_or(KeyDeletion::Active);
            let (pending_until, gone) = match state {
                KeyDeletion::PendingUntil(until) => (Some(until), false),
                KeyDeletion::Gone => (None, true),
                KeyDeletion::Active => continue,
            };
            self.reporter.report(Event::KeyDeletion {
                key_id: key,
                account: spec.account.to_string(),
                region: spec.region.to_string(),
                pending_until,
                gone,
            });
        }
        Ok(())
    }

    /// Waits for the stack to settle and requires the given status; returns its outputs.
    async fn expect(
        &self,
        cfn: &dyn CloudFormation,
        id: &str,
        wanted: &StackStatus,
        started: Instant,
    ) -> Result<BTreeMap<String, String>, Failed> {
        match self.wait(cfn, id, started).await.map_err(plain)? {
            Settled::Stack(s) if s.status == *wanted => Ok(s.outputs),
            Settled::Stack(s) => {
                let events = self.failure_events(cfn, id).await;
                let reason = events
                    .iter()
                    .find_map(|e| e.reason.clone())
                    .or(s.status_reason.clone())
                    .unwrap_or_else(|| "no reason given".to_owned());
                Err((
                    Cause::Ended {
                        status: s.status,
                        reason,
                    },
                    events,
                ))
            }
            Settled::Gone => Err(plain(Cause::Disappeared)),
        }
    }

    /// DescribeStacks, tolerating a few transient errors: the SDK has already retried them, and
    /// throttling or a dropped connection says nothing about the stack.
    async fn describe(
        &self,
        cfn: &dyn CloudFormation,
        id: &str,
    ) -> Result<Option<StackSummary>, AwsError> {
        let mut errors_in_a_row = 0;
        loop {
            match cfn.describe_stack(id).await {
                // A deleted stack is no stack, whichever way CloudFormation answers for it.
                Ok(described) => return Ok(described.filter(|s| !s.is_deleted())),
                Err(e) if e.is_transient() && errors_in_a_row < MAX_TRANSIENT_ERRORS => {
                    tokio::time::sleep(self.backoff.delay(errors_in_a_row)).await;
                    errors_in_a_row += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Polls until the stack is no longer in progress, reporting each new status.
    async fn wait(
        &self,
        cfn: &dyn CloudFormation,
        id: &str,
        started: Instant,
    ) -> Result<Settled, Cause> {
        let mut last: Option<StackStatus> = None;
        let mut attempt = 0;
        let waiting_since = Instant::now();
        loop {
            let described = self.describe(cfn, id).await?;
            let Some(stack) = described else {
                return Ok(Settled::Gone);
            };
            if last.as_ref() != Some(&stack.status) {
                self.reporter.report(Event::Status {
                    change: self.index,
                    stack: self.label(),
                    status: stack.status.to_string(),
                    elapsed_seconds: seconds(started),
                });
                last = Some(stack.status.clone());
            }
            if stack.status.is_settled() {
                return Ok(Settled::Stack(stack));
            }
            if waiting_since.elapsed() >= self.wait_timeout {
                return Err(Cause::WaitTimedOut {
                    status: stack.status,
                    minutes: self.wait_timeout.as_secs() / 60,
                });
            }
            tokio::time::sleep(self.backoff.delay(attempt)).await;
            attempt += 1;
        }
    }

    /// The failed resource events of the latest operation, newest first.
    async fn failure_events(&self, cfn: &dyn CloudFormation, id: &str) -> Vec<StackEvent> {
        let Ok(events) = cfn.stack_events(id).await else {
            return Vec::new();
        };
        crate::aws::latest_failures(events, &self.change.stack.name)
    }
}
