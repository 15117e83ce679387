//! What the executor reports. Views in `output` draw these; the executor never prints.

use serde::Serialize;

use crate::aws::StackEvent;
use crate::plan::Action;

/// One thing that happened during a run, for a view to draw.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A change started.
    Started {
        /// The change's index in the plan.
        change: usize,
        /// The change's label: stack, account, region and pass.
        stack: String,
        /// What the change does.
        action: Action,
    },
    /// CloudFormation reported a new status for the stack.
    Status {
        /// The change's index in the plan.
        change: usize,
        /// The change's label: stack, account, region and pass.
        stack: String,
        /// The stack's status, or what the change is doing (waiting for IAM, repairing drift).
        status: String,
        /// Seconds since the change started.
        elapsed_seconds: f64,
    },
    /// A change finished; `unchanged` when CloudFormation found nothing to do.
    Succeeded {
        /// The change's index in the plan.
        change: usize,
        /// The change's label: stack, account, region and pass.
        stack: String,
        /// Seconds since the change started.
        elapsed_seconds: f64,
        /// CloudFormation found nothing to change and no drift was repaired.
        unchanged: bool,
    },
    /// A change failed; `events` are the stack events that explain it, newest first.
    Failed {
        /// The change's index in the plan.
        change: usize,
        /// The change's label: stack, account, region and pass.
        stack: String,
        /// Seconds since the change started.
        elapsed_seconds: f64,
        /// Why it failed, in one line.
        error: String,
        /// The failed resources' events (or a StackSet's failed instances), newest first.
        events: Vec<StackEvent>,
    },
    /// A change was not started because one it waits for failed or was skipped.
    Skipped {
        /// The change's index in the plan.
        change: usize,
        /// The change's label: stack, account, region and pass.
        stack: String,
        /// The label of the change it waited for.
        because: String,
    },
    /// A change was not started because the run was interrupted.
    NotStarted {
        /// The change's index in the plan.
        change: usize,
        /// The change's label: stack, account, region and pass.
        stack: String,
    },
    /// A bucket was emptied before its stack or itself was deleted.
    BucketEmptied {
        /// The bucket's name.
        bucket: String,
        /// How many object versions and delete markers were deleted.
        objects: u64,
    },
    /// A step of the adoption of the original foundation, on one of its stacks.
    Adoption {
        /// The old stack, with its account and region.
        stack: String,
        /// What happened.
        step: String,
    },
    /// A bucket outside any stack was deleted.
    BucketDeleted {
        /// The bucket's name.
        bucket: String,
    },
    /// A KMS key of a deleted stack, and when AWS deletes it.
    KeyDeletion {
        /// The key's id.
        key_id: String,
        /// The key's account.
        account: String,
        /// The key's region.
        region: String,
        /// When KMS deletes it for good, while it is pending deletion.
        pending_until: Option<String>,
        /// Whether it is gone already.
        gone: bool,
    },
    /// Ctrl-C: no new work starts; what runs settles.
    Interrupted {
        /// The labels of the changes still running.
        running: Vec<String>,
    },
}

/// Receives events as they happen. Implementations must be cheap: the executor calls them
/// from its scheduling loop.
pub trait Reporter: Send + Sync {
    /// Takes one event, as it happens.
    fn report(&self, event: Event);
}

/// A reporter that keeps every event, for tests.
#[derive(Default)]
pub struct Recorder {
    /// Every event so far, in order.
    pub(crate) events: std::sync::Mutex<Vec<Event>>,
}

impl Reporter for Recorder {
    fn report(&self, event: Event) {
        self.events
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(event);
    }
}

impl Recorder {
    #[cfg(test)]
    /// The events so far, leaving none.
    pub(crate) fn take(&self) -> Vec<Event> {
        std::mem::take(
            &mut *self
                .events
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }
}
