//! Apply's part of an adoption (`plan::adopt`): before plinth's stacks change, each stack of the
//! original foundation lets go of what moves (an update that retains it, then one without it);
//! once every change succeeded, the old stacks nothing imports from are deleted. Each step
//! starts from what the stack holds now, so a rerun after an interruption takes up where the
//! last one stopped.

use std::time::Duration;

use futures::stream::{self, StreamExt};
use tokio::time::Instant;

use super::{Event, Executor};
use crate::aws::{AwsError, CloudFormation, StackRequest, UpdateOutcome};
use crate::plan::StackStatus;
use crate::plan::adopt::{Adoption, OldStackPlan};

/// An old stack that did not let go, or was not deleted.
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum AdoptionError {
    /// AWS refused a call.
    #[error("{stack}: {error}")]
    Aws {
        /// The stack's label.
        stack: String,
        /// What AWS answered.
        error: AwsError,
    },
    /// The stack ended in another status than the step wanted.
    #[error("{stack}: {step} ended {status}{reason}")]
    Ended {
        /// The stack's label.
        stack: String,
        /// The step.
        step: &'static str,
        /// Where it ended.
        status: StackStatus,
        /// CloudFormation's reason, with its separator.
        reason: String,
    },
    /// The stack stayed in progress past the wait timeout.
    #[error("{stack}: still {status} after {minutes} minutes")]
    TimedOut {
        /// The stack's label.
        stack: String,
        /// Where it was.
        status: StackStatus,
        /// The timeout.
        minutes: u64,
    },
}

fn label(stack: &OldStackPlan) -> String {
    format!("{} ({} {})", stack.name, stack.account, stack.region)
}

fn aws_failure(stack: &OldStackPlan, error: AwsError) -> AdoptionError {
    AdoptionError::Aws {
        stack: label(stack),
        error,
    }
}

impl Executor {
    /// Lets go of what moves out of each old stack, all stacks at once (bounded): the update that
    /// retains, then the update without. Stops at the first failure: nothing of plinth's changes
    /// until every old stack has let go.
    pub(crate) async fn release_old_stacks(
        &self,
        adoption: &Adoption,
    ) -> Result<(), AdoptionError> {
        let work = adoption
            .stacks
            .iter()
            .filter(|s| s.retain_template.is_some() || s.release_template.is_some())
            .map(|stack| self.release(stack));
        let results: Vec<_> = stream::iter(work)
            .buffer_unordered(self.parallelism.max(1))
            .collect()
            .await;
        results.into_iter().collect()
    }

    async fn release(&self, stack: &OldStackPlan) -> Result<(), AdoptionError> {
        let label = label(stack);
        let failed = |error| aws_failure(stack, error);
        let cfn = self.old_stack_client(stack)?;
        for (step, template) in [
            ("retain what moves", &stack.retain_template),
            ("release what moves", &stack.release_template),
        ] {
            let Some(template) = template else { continue };
            let body = serde_json::from_str::<serde_json::Value>(template)
                .map_or_else(|_| template.clone(), |v| v.to_string());
            let request = StackRequest {
                name: stack.name.clone(),
                template_body: body,
                template_url: None,
                parameters: stack.parameters.clone(),
                tags: stack.tags.clone(),
            };
            self.reporter.report(Event::Adoption {
                stack: label.clone(),
                step: format!("{step} started"),
            });
            if cfn.update_stack(&request).await.map_err(failed)? == UpdateOutcome::Started {
                self.settle(cfn.as_ref(), stack, step, &StackStatus::UpdateComplete)
                    .await?;
            }
            self.reporter.report(Event::Adoption {
                stack: label.clone(),
                step: format!("{step}: done"),
            });
        }
        Ok(())
    }

    /// Deletes the old stacks whose exports nothing imports, once plinth's stacks hold what
    /// moved.
    pub(crate) async fn delete_old_stacks(&self, adoption: &Adoption) -> Result<(), AdoptionError> {
        let work = adoption
            .stacks
            .iter()
            .filter(|s| s.delete)
            .map(|stack| async move {
                let label = label(stack);
                let failed = |error| aws_failure(stack, error);
                let cfn = self.old_stack_client(stack)?;
                self.reporter.report(Event::Adoption {
                    stack: label.clone(),
                    step: "delete started".into(),
                });
                cfn.delete_stack(&stack.stack_id).await.map_err(failed)?;
                self.settle(cfn.as_ref(), stack, "delete", &StackStatus::DeleteComplete)
                    .await?;
                self.reporter.report(Event::Adoption {
                    stack: label,
                    step: "deleted".into(),
                });
                Ok(())
            });
        let results: Vec<_> = stream::iter(work)
            .buffer_unordered(self.parallelism.max(1))
            .collect()
            .await;
        results.into_iter().collect()
    }

    fn old_stack_client(
        &self,
        stack: &OldStackPlan,
    ) -> Result<std::sync::Arc<dyn CloudFormation>, AdoptionError> {
        self.cloud
            .cloudformation(&stack.account, &stack.region)
            .map_err(|error| aws_failure(stack, error))
    }

    /// Polls the stack until it settles; an error unless it settles as `wanted` (a stack that
    /// is gone counts as deleted).
    async fn settle(
        &self,
        cfn: &dyn CloudFormation,
        stack: &OldStackPlan,
        step: &'static str,
        wanted: &StackStatus,
    ) -> Result<(), AdoptionError> {
        let since = Instant::now();
        let mut attempt = 0;
        loop {
            let described =
                cfn.describe_stack(&stack.stack_id)
                    .await
                    .map_err(|error| AdoptionError::Aws {
                        stack: label(stack),
                        error,
                    })?;
            let status = described
                .as_ref()
                .map_or(StackStatus::DeleteComplete, |s| s.status.clone());
            if status.is_settled() {
                if status == *wanted {
                    return Ok(());
                }
                let reason = described
                    .and_then(|s| s.status_reason)
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default();
                return Err(AdoptionError::Ended {
                    stack: label(stack),
                    step,
                    status,
                    reason,
                });
            }
            if since.elapsed() >= self.wait_timeout {
                return Err(AdoptionError::TimedOut {
                    stack: label(stack),
                    status,
                    minutes: self.wait_timeout.as_secs() / 60,
                });
            }
            tokio::time::sleep(self.backoff.delay(attempt).min(Duration::from_secs(30))).await;
            attempt += 1;
        }
    }
}
