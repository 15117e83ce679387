//! Views of the executor's events: plain lines (not a terminal), live spinners (a terminal),
//! JSON lines (`--json`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use super::{Style, data, say};
use crate::apply::{Event, Reporter};
use crate::plan::Action;

/// The text of an event for a person; `None` for events a view shows otherwise.
pub fn describe(style: &Style, event: &Event) -> Option<String> {
    Some(match event {
        Event::Started { stack, action, .. } if *action == Action::NoChange => {
            format!("  {stack}: drift repair started")
        }
        Event::Started { stack, action, .. } => format!("  {stack}: {} started", action.as_str()),
        Event::Status {
            stack,
            status,
            elapsed_seconds,
            ..
        } => format!("  {stack}: {status} ({elapsed_seconds:.1}s)"),
        Event::Succeeded {
            stack,
            elapsed_seconds,
            unchanged,
            ..
        } => {
            let what = if *unchanged {
                "already up to date"
            } else {
                "done"
            };
            format!(
                "{} {stack}: {what} in {elapsed_seconds:.1}s",
                style.green("ok")
            )
        }
        Event::Failed {
            stack,
            elapsed_seconds,
            error,
            events,
            ..
        } => {
            let mut text = format!(
                "{} {stack}: failed after {elapsed_seconds:.1}s: {error}",
                style.red("failed")
            );
            for e in events {
                text.push_str(&format!(
                    "\n      {} {} {}: {}",
                    e.logical_id,
                    e.resource_type,
                    e.status,
                    e.reason.as_deref().unwrap_or("")
                ));
            }
            text
        }
        Event::Skipped { stack, because, .. } => {
            format!(
                "{} {stack}: skipped, because {because} did not succeed",
                style.yellow("skipped")
            )
        }
        Event::NotStarted { stack, .. } => format!(
            "{} {stack}: not started (interrupted)",
            style.yellow("not started")
        ),
        Event::BucketEmptied { bucket, objects } => {
            let what = if *objects == 1 {
                "object version or delete marker"
            } else {
                "object versions and delete markers"
            };
            format!("  emptied bucket {bucket} ({objects} {what})")
        }
        Event::Adoption { stack, step } => format!("  original {stack}: {step}"),
        Event::BucketDeleted { bucket } => {
            format!("{} bucket {bucket}: deleted", style.green("ok"))
        }
        Event::KeyDeletion {
            key_id,
            account,
            region,
            pending_until,
            gone,
        } => match (pending_until, gone) {
            (Some(until), _) => {
                format!("  KMS key {key_id} ({account} {region}) is pending deletion until {until}")
            }
            (None, true) => format!("  KMS key {key_id} ({account} {region}) is deleted"),
            (None, false) => return None,
        },
        Event::Interrupted { running } => format!(
            "{} no new stacks start; waiting for {} in flight to settle (Ctrl-C again leaves at once)",
            style.yellow("interrupted:"),
            running.len()
        ),
    })
}

/// One line per event on stderr.
pub struct HumanView {
    /// Colour or not.
    pub style: Style,
    /// Each line starts with the time it was written (UTC, to the second): for logs of runs
    /// nobody watches, such as CI.
    pub timestamps: bool,
}

/// Starts every line of `text` with `at`.
fn stamped(at: &str, text: &str) -> String {
    text.lines()
        .map(|line| format!("{at} {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl Reporter for HumanView {
    fn report(&self, event: Event) {
        if let Some(text) = describe(&self.style, &event) {
            if self.timestamps {
                let at = humantime::format_rfc3339_seconds(std::time::SystemTime::now());
                say(&stamped(&at.to_string(), &text));
            } else {
                say(&text);
            }
        }
    }
}

/// One JSON object per event on stdout.
pub struct JsonView;

impl Reporter for JsonView {
    fn report(&self, event: Event) {
        data(&serde_json::to_string(&event).expect("an event of strings and numbers serialises"));
    }
}

/// A live view on a terminal: a spinner per stack in flight with its status and elapsed time;
/// finished stacks as lines above.
pub struct ProgressView {
    style: Style,
    multi: MultiProgress,
    bars: Mutex<HashMap<usize, ProgressBar>>,
}

impl ProgressView {
    /// A live view drawn with `style`.
    pub fn new(style: Style) -> Self {
        Self {
            style,
            multi: MultiProgress::new(),
            bars: Mutex::new(HashMap::new()),
        }
    }

    fn line(&self, text: &str) {
        let _ = self.multi.println(text);
    }
}

impl Reporter for ProgressView {
    fn report(&self, event: Event) {
        let mut bars = self
            .bars
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match &event {
            Event::Started {
                change,
                stack,
                action,
            } => {
                let bar = self.multi.add(ProgressBar::new_spinner());
                bar.set_style(
                    ProgressStyle::with_template("  {spinner} {prefix} {msg} [{elapsed}]")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                bar.set_prefix(stack.clone());
                bar.set_message(action.as_str().to_owned());
                bar.enable_steady_tick(Duration::from_millis(120));
                bars.insert(*change, bar);
            }
            Event::Status { change, status, .. } => {
                if let Some(bar) = bars.get(change) {
                    bar.set_message(status.clone());
                }
            }
            Event::Succeeded { change, .. } | Event::Failed { change, .. } => {
                if let Some(bar) = bars.remove(change) {
                    bar.finish_and_clear();
                    self.multi.remove(&bar);
                }
                if let Some(text) = describe(&self.style, &event) {
                    self.line(&text);
                }
            }
            _ => {
                if let Some(text) = describe(&self.style, &event) {
                    self.line(&text);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamped_event_carries_the_time_on_each_of_its_lines() {
        let text = describe(
            &Style { color: false },
            &Event::Failed {
                change: 0,
                stack: "acme-primary".into(),
                elapsed_seconds: 1.0,
                error: "ended in ROLLBACK_COMPLETE".into(),
                events: vec![crate::aws::StackEvent {
                    timestamp: String::new(),
                    logical_id: "ArtifactKey".into(),
                    resource_type: "AWS::KMS::Key".into(),
                    status: "CREATE_FAILED".into(),
                    reason: Some("denied".into()),
                }],
            },
        )
        .unwrap();
        let stamped = stamped("2026-12-02T10:00:00Z", &text);
        assert_eq!(stamped.lines().count(), 2);
        assert!(
            stamped
                .lines()
                .all(|l| l.starts_with("2026-12-02T10:00:00Z ")),
            "{stamped}"
        );
    }

    #[test]
    fn an_emptied_bucket_counts_what_was_deleted_in_words_that_agree() {
        let line = |objects| {
            describe(
                &Style { color: false },
                &Event::BucketEmptied {
                    bucket: "b".into(),
                    objects,
                },
            )
            .unwrap()
        };
        assert_eq!(
            line(1),
            "  emptied bucket b (1 object version or delete marker)"
        );
        assert_eq!(
            line(4),
            "  emptied bucket b (4 object versions and delete markers)"
        );
    }
}
