//! The DAG executor: carries out a [`Plan`], starting each change as soon as everything it waits
//! for has succeeded, independent changes concurrently under a bound. Outputs flow into the
//! parameters of downstream stacks. A failure stops only what depends on it; Ctrl-C stops new
//! work and lets what runs settle. Decisions are made from what CloudFormation says now, so a
//! rerun after any failure or interruption converges. Destroy is the same executor running a
//! plan of deletes.

mod adopt;
mod events;
mod stack;
mod stack_set;
mod wait;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::time::Instant;

use tokio::sync::Notify;
use tokio::task::JoinSet;

pub(crate) use adopt::AdoptionError;
pub use events::{Event, Recorder, Reporter};
pub(crate) use stack::{Cause, ChangeError};
pub use wait::Backoff;

use crate::aws::{AwsError, Cloud};
use crate::layout::StackKey;
use crate::plan::{Action, OrphanBucket, Plan};
use crate::topology::{AccountId, Region};

/// What a change task returns: the stack's outputs, or why it failed.
type TaskResult = Result<Option<BTreeMap<String, String>>, ChangeError>;

/// Raised once to stop starting new work.
#[derive(Default)]
pub struct Cancel {
    cancelled: AtomicBool,
    notify: Notify,
}

impl Cancel {
    /// Stops new work: no change starts after this.
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    /// Whether the run was cancelled.
    pub(crate) fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst)
    }

    async fn cancelled(&self) {
        let notified = self.notify.notified();
        if self.is_cancelled() {
            return;
        }
        notified.await;
    }
}

/// What happened to one change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ChangeResult {
    /// It did what the plan said (or found nothing to do).
    Succeeded,
    /// It failed, with why and the events that explain it.
    Failed(ChangeError),
    /// Not started: the named change it waits for failed or was skipped.
    Skipped(usize),
    /// Not started: the run was interrupted.
    NotStarted,
}

/// How a run ended: what happened to each change of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// One result per change, in the plan's order.
    pub(crate) results: Vec<ChangeResult>,
    /// Whether Ctrl-C stopped new work.
    pub(crate) interrupted: bool,
}

impl Outcome {
    /// A run that started none of the plan's changes.
    pub(crate) fn not_started(plan: &Plan) -> Self {
        Self {
            results: vec![ChangeResult::NotStarted; plan.changes.len()],
            interrupted: false,
        }
    }

    /// Whether every change succeeded and nothing interrupted the run.
    pub fn succeeded(&self) -> bool {
        !self.interrupted && self.results.iter().all(|r| *r == ChangeResult::Succeeded)
    }

    /// How many results `pick` chooses.
    pub(crate) fn count(&self, pick: impl Fn(&ChangeResult) -> bool) -> usize {
        self.results.iter().filter(|r| pick(r)).count()
    }
}

/// Carries out a plan's changes as their waits allow, under its bounds.
pub struct Executor {
    /// The clients every change uses.
    pub cloud: Arc<dyn Cloud>,
    /// Where the events go.
    pub reporter: Arc<dyn Reporter>,
    /// How many changes run at once in one account and region: CloudFormation's API limits
    /// are per account and region.
    pub per_region: usize,
    /// How many changes run at once in all: a guard, not the usual bound.
    pub parallelism: usize,
    /// The delays between polls of a stack or operation in progress.
    pub backoff: Backoff,
    /// How long a change waits for a stack that CloudFormation is changing.
    pub wait_timeout: Duration,
    /// How long a change refused for a principal IAM has not yet propagated is tried again.
    pub propagation_timeout: Duration,
    /// Raised to stop starting new changes.
    pub cancel: Arc<Cancel>,
}

/// The defaults of the executor's bounds.
pub mod defaults {
    use std::time::Duration;

    /// Changes at once in one account and region.
    pub const PER_REGION: usize = 8;
    /// Changes at once in all.
    pub const PARALLELISM: usize = 1024;
    /// How long a change waits for a stack in progress.
    pub const WAIT_TIMEOUT: Duration = Duration::from_secs(60 * 60);
    /// How long a change refused for a principal not yet visible is tried again: IAM
    /// propagates a new role within seconds, sometimes a minute.
    pub const PROPAGATION_TIMEOUT: Duration = Duration::from_secs(2 * 60);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Pending,
    Running,
    Done(bool),
    Skipped,
    NotStarted,
}

impl Executor {
    /// Carries out the plan. Each parameter takes the output of an upstream stack changed in
    /// this run, or else the value the plan read from what is deployed.
    pub async fn execute(&self, plan: &Plan) -> Outcome {
        let n = plan.changes.len();
        let mut outputs: BTreeMap<StackKey, BTreeMap<String, String>> = BTreeMap::new();
        let mut state = vec![State::Pending; n];
        let mut results: Vec<Option<ChangeResult>> = vec![None; n];
        let mut running: JoinSet<TaskResult> = JoinSet::new();
        // Which change each running task carries out, so that a panic is reported against it.
        let mut task_of: HashMap<tokio::task::Id, usize> = HashMap::new();
        // Changes running in each account and region.
        let mut in_place: HashMap<(&AccountId, &Region), usize> = HashMap::new();
        let mut interrupted = false;
        loop {
            // Skip what waits for a failure; start what is ready.
            let mut progress = true;
            while progress {
                progress = false;
                for i in 0..n {
                    if state[i] != State::Pending {
                        continue;
                    }
                    let change = &plan.changes[i];
                    if let Some(&blocker) = change
                        .after
                        .iter()
                        .find(|&&j| matches!(state[j], State::Done(false) | State::Skipped))
                    {
                        state[i] = State::Skipped;
                        results[i] = Some(ChangeResult::Skipped(blocker));
                        self.reporter.report(Event::Skipped {
                            change: i,
                            stack: change.label(),
                            because: plan.changes[blocker].label(),
                        });
                        progress = true;
                    }
                }
            }
            if self.cancel.is_cancelled() && !interrupted {
                interrupted = true;
                let names = (0..n)
                    .filter(|&i| state[i] == State::Running)
                    .map(|i| plan.changes[i].label())
                    .collect();
                self.reporter.report(Event::Interrupted { running: names });
            }
            if !interrupted {
                for i in 0..n {
                    if running.len() >= self.parallelism.max(1) {
                        break;
                    }
                    let change = &plan.changes[i];
                    let place = (&change.stack.account, &change.stack.region);
                    if state[i] == State::Pending
                        && change.after.iter().all(|&j| state[j] == State::Done(true))
                        && in_place.get(&place).copied().unwrap_or(0) < self.per_region.max(1)
                    {
                        state[i] = State::Running;
                        *in_place.entry(place).or_default() += 1;
                        let parameters = stack::resolve(change, &outputs);
                        let task = stack::ChangeTask {
                            index: i,
                            change: change.clone(),
                            parameters,
                            cloud: self.cloud.clone(),
                            reporter: self.reporter.clone(),
                            backoff: self.backoff,
                            wait_timeout: self.wait_timeout,
                            propagation_timeout: self.propagation_timeout,
                        };
                        let handle = running.spawn(task.run());
                        task_of.insert(handle.id(), i);
                    }
                }
            }
            if running.is_empty() {
                break;
            }
            let joined = tokio::select! {
                joined = running.join_next_with_id() => joined,
                () = self.cancel.cancelled(), if !interrupted => continue,
            };
            let Some(joined) = joined else { break };
            let (i, result) = match joined {
                Ok((id, result)) => (task_of[&id], result),
                Err(e) => {
                    // A panicking task is a bug; its own change is reported as failed, not lost.
                    let i = task_of[&e.id()];
                    let error = ChangeError {
                        stack: plan.changes[i].label(),
                        cause: Cause::Panicked(e.to_string()),
                        events: Vec::new(),
                    };
                    self.reporter.report(Event::Failed {
                        change: i,
                        stack: error.stack.clone(),
                        elapsed_seconds: 0.0,
                        error: error.cause.to_string(),
                        events: Vec::new(),
                    });
                    (i, Err(error))
                }
            };
            let change = &plan.changes[i];
            if let Some(count) = in_place.get_mut(&(&change.stack.account, &change.stack.region)) {
                *count = count.saturating_sub(1);
            }
            match result {
                Ok(new_outputs) => {
                    if let Some(new_outputs) = new_outputs {
                        outputs.insert(plan.changes[i].stack.key.clone(), new_outputs);
                    }
                    state[i] = State::Done(true);
                    results[i] = Some(ChangeResult::Succeeded);
                }
                Err(error) => {
                    state[i] = State::Done(false);
                    results[i] = Some(ChangeResult::Failed(error));
                }
            }
        }
        for i in 0..n {
            if state[i] == State::Pending {
                state[i] = State::NotStarted;
                results[i] = Some(ChangeResult::NotStarted);
                self.reporter.report(Event::NotStarted {
                    change: i,
                    stack: plan.changes[i].label(),
                });
            }
        }
        Outcome {
            results: results
                .into_iter()
                .map(|r| r.unwrap_or(ChangeResult::NotStarted))
                .collect(),
            interrupted,
        }
    }

    /// Empties and deletes buckets with plinth's names that no stack holds.
    pub(crate) async fn remove_orphan_buckets(
        &self,
        buckets: &[OrphanBucket],
    ) -> Result<(), OrphanBucketError> {
        for b in buckets {
            let failed = |error| OrphanBucketError {
                bucket: b.bucket.clone(),
                error,
            };
            let s3 = self.cloud.s3(&b.account).map_err(failed)?;
            let objects = s3
                .empty_bucket(&b.bucket, &b.region)
                .await
                .map_err(failed)?;
            if objects > 0 {
                self.reporter.report(Event::BucketEmptied {
                    bucket: b.bucket.clone(),
                    objects,
                });
            }
            s3.delete_bucket(&b.bucket, &b.region)
                .await
                .map_err(failed)?;
            self.reporter.report(Event::BucketDeleted {
                bucket: b.bucket.clone(),
            });
        }
        Ok(())
    }
}

/// A bucket outside any stack that destroy could not remove.
#[derive(Debug, Clone, thiserror::Error)]
#[error("bucket {bucket}: {error}")]
pub(crate) struct OrphanBucketError {
    /// The bucket.
    pub(crate) bucket: String,
    /// What AWS answered.
    pub(crate) error: AwsError,
}

/// Whether a plan has anything for the executor to do.
pub fn has_work(plan: &Plan) -> bool {
    plan.changes
        .iter()
        .any(|c| c.action != Action::NoChange || !c.drift.is_empty())
        || !plan.orphan_buckets.is_empty()
        || plan
            .adoption
            .iter()
            .flat_map(|a| &a.stacks)
            .any(crate::plan::adopt::OldStackPlan::changes_something)
}

/// Elapsed seconds on tokio's clock (so that tests on a paused clock see simulated time),
/// rounded for display and JSON.
fn seconds(since: Instant) -> f64 {
    (since.elapsed().as_secs_f64() * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests;
