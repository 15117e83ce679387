//! What the executor reports. Views in `output` draw these; the executor never prints.

use serde::Serialize;

use crate::aws::StackEvent;
use crate::plan::Action;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A change started.
    Started {
        change: usize,
        stack: String,
        action: Action,
    },
    /// CloudFormation reported a new status for the stack.
    Status {
        change: usize,
        stack: String,
        status: String,
        elapsed_seconds: f64,
    },
    /// A change finished; `unchanged` when CloudFormation found nothing to do.
    Succeeded {
        change: usize,
        stack: String,
        elapsed_seconds: f64,
        unchanged: bool,
    },
    /// A change failed; `events` are the stack events that explain it, newest first.
    Failed {
        change: usize,
        stack: String,
        elapsed_seconds: f64,
        error: String,
        events: Vec<StackEvent>,
    },
    /// A change was not started because one it waits for failed or was skipped.
    Skipped {
        change: usize,
        stack: String,
        because: String,
    },
    /// A change was not started because the run was interrupted.
    NotStarted { change: usize, stack: String },
    /// A bucket was emptied before its stack or itself was deleted.
    BucketEmptied { bucket: String, objects: u64 },
    /// A bucket outside any stack was deleted.
    BucketDeleted { bucket: String },
    /// A KMS key of a deleted stack, and when AWS deletes it.
    KeyDeletion {
        key_id: String,
        account: String,
        region: String,
        pending_until: Option<String>,
        gone: bool,
    },
    /// Ctrl-C: no new work starts; what runs settles.
    Interrupted { running: Vec<String> },
}

/// Receives events as they happen. Implementations must be cheap: the executor calls them
/// from its scheduling loop.
pub trait Reporter: Send + Sync {
    fn report(&self, event: Event);
}

/// A reporter that keeps every event, for tests.
#[derive(Default)]
pub struct Recorder {
    pub events: std::sync::Mutex<Vec<Event>>,
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
    pub fn take(&self) -> Vec<Event> {
        std::mem::take(
            &mut *self
                .events
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }
}
