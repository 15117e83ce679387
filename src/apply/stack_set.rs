//! One change carried out on a StackSet: create or update the set, add and remove instances,
//! or delete the instances and then the set; each StackSet operation waited for by its id, and
//! its failures reported against the accounts where they happened.

use std::collections::{BTreeMap, BTreeSet};

use tokio::time::Instant;

use super::stack::{Cause, ChangeTask, Failed};
use super::{Event, seconds};
use crate::aws::{
    AccountFilter, AwsResult, Preferences, StackEvent, StackSetRequest, StackSets, Targets,
};
use crate::plan::Action;
use crate::plan::units::Instances;

/// How many times a call refused because another operation holds the set waits and tries again.
const MAX_ROUNDS: u32 = 5;

fn plain(cause: impl Into<Cause>) -> Failed {
    (cause.into(), Vec::new())
}

impl ChangeTask {
    /// Converges a StackSet as the change says; the set has no outputs.
    pub(super) async fn converge_stack_set(
        &self,
        started: Instant,
    ) -> Result<(Option<BTreeMap<String, String>>, bool), Failed> {
        let Some(instances) = &self.change.instances else {
            return Err(plain(Cause::NoTemplate));
        };
        let sets = self
            .cloud
            .stack_sets(
                &self.change.stack.account,
                &self.change.stack.region,
                instances.delegated_admin,
            )
            .map_err(plain)?;
        let name = self.change.stack.name.as_str();
        let preferences = Preferences {
            max_concurrent_percentage: instances.max_concurrent_percentage,
            failure_tolerance_percentage: instances.failure_tolerance_percentage,
        };
        self.settle(sets.as_ref(), name, started).await?;
        let unchanged = match self.change.action {
            Action::NoChange => true,
            Action::Delete => {
                self.delete_set(sets.as_ref(), instances, preferences, started)
                    .await?
            }
            Action::Create | Action::Update | Action::Replace | Action::Wait => {
                self.put_set(sets.as_ref(), instances, preferences, started)
                    .await?
            }
        };
        Ok((Some(BTreeMap::new()), unchanged))
    }

    fn set_request(&self) -> Result<StackSetRequest, Cause> {
        let parameters = self.parameters.clone()?;
        let template = self.change.template.as_deref().ok_or(Cause::NoTemplate)?;
        let body = serde_json::from_str::<serde_json::Value>(template)
            .map(|v| v.to_string())
            .map_err(|e| Cause::TemplateNotJson(e.to_string()))?;
        let description = serde_json::from_str::<serde_json::Value>(template)
            .ok()
            .and_then(|v| v["Description"].as_str().map(str::to_owned))
            .unwrap_or_default();
        Ok(StackSetRequest {
            name: self.change.stack.name.clone(),
            description,
            template_body: body,
            parameters,
            tags: self.change.tags.clone(),
        })
    }

    /// Creates or updates the set, then adds and removes instances; whether nothing was done.
    async fn put_set(
        &self,
        sets: &dyn StackSets,
        instances: &Instances,
        preferences: Preferences,
        started: Instant,
    ) -> Result<bool, Failed> {
        let request = self.set_request().map_err(plain)?;
        let name = request.name.as_str();
        let regions = vec![instances.region.to_string()];
        let current = sets.describe(name).await.map_err(plain)?;
        let Some(current) = current else {
            self.status(started, "creating the StackSet");
            sets.create(&request).await.map_err(plain)?;
            if instances.wanted > 0 {
                let targets = Targets {
                    units: instances.units.clone(),
                    accounts: instances.skip.iter().map(ToString::to_string).collect(),
                    filter: (!instances.skip.is_empty()).then_some(AccountFilter::Difference),
                };
                self.operate(sets, name, started, "adding instances", || {
                    sets.create_instances(name, &targets, &regions, preferences)
                })
                .await?;
            }
            return Ok(false);
        };
        let mut unchanged = true;
        // Level-triggered: what the set and its instances are now, not when planned.
        let now = sets.instances(name).await.map_err(plain)?;
        let same_template = serde_json::from_str::<serde_json::Value>(&current.template).ok()
            == serde_json::from_str::<serde_json::Value>(&request.template_body).ok();
        // An INOPERABLE instance is left out of every update: updating for it changes nothing.
        let outdated = now.iter().any(|i| {
            !i.is_current()
                && !i.is_inoperable()
                && !instances.remove.iter().any(|a| a.as_str() == i.account)
        });
        if !same_template
            || current.parameters != request.parameters
            || current.tags != request.tags
            || outdated
        {
            unchanged = false;
            self.operate(
                sets,
                name,
                started,
                "updating the set and its instances",
                || sets.update(&request, preferences),
            )
            .await?;
        }
        let present: BTreeSet<&str> = now
            .iter()
            .filter(|i| i.region == instances.region.as_str())
            .map(|i| i.account.as_str())
            .collect();
        let add: Vec<String> = instances
            .add
            .iter()
            .filter(|a| !present.contains(a.as_str()))
            .map(ToString::to_string)
            .collect();
        if !add.is_empty() {
            unchanged = false;
            let targets = Targets {
                units: instances.units.clone(),
                accounts: add,
                filter: Some(AccountFilter::Intersection),
            };
            self.operate(sets, name, started, "adding instances", || {
                sets.create_instances(name, &targets, &regions, preferences)
            })
            .await?;
        }
        let remove: Vec<String> = instances
            .remove
            .iter()
            .filter(|a| present.contains(a.as_str()))
            .map(ToString::to_string)
            .collect();
        if !remove.is_empty() {
            unchanged = false;
            let units = units_of(&now, &remove, instances);
            let targets = Targets {
                units,
                accounts: remove,
                filter: Some(AccountFilter::Intersection),
            };
            self.operate(sets, name, started, "removing instances", || {
                sets.delete_instances(name, &targets, &regions, preferences)
            })
            .await?;
        }
        Ok(unchanged)
    }

    /// Deletes every instance, then the set; whether there was nothing to delete.
    async fn delete_set(
        &self,
        sets: &dyn StackSets,
        instances: &Instances,
        preferences: Preferences,
        started: Instant,
    ) -> Result<bool, Failed> {
        let name = self.change.stack.name.as_str();
        if sets.describe(name).await.map_err(plain)?.is_none() {
            return Ok(true);
        }
        let now = sets.instances(name).await.map_err(plain)?;
        if !now.is_empty() {
            let accounts: Vec<String> = now.iter().map(|i| i.account.clone()).collect();
            let mut regions: Vec<String> = now.iter().map(|i| i.region.clone()).collect();
            regions.sort();
            regions.dedup();
            let targets = Targets {
                units: units_of(&now, &accounts, instances),
                accounts: Vec::new(),
                filter: None,
            };
            self.operate(sets, name, started, "removing every instance", || {
                sets.delete_instances(name, &targets, &regions, preferences)
            })
            .await?;
        }
        self.status(started, "deleting the StackSet");
        self.retry_busy(sets, name, started, || sets.delete(name))
            .await?;
        Ok(false)
    }

    fn status(&self, started: Instant, status: &str) {
        self.reporter.report(Event::Status {
            change: self.index,
            stack: self.label(),
            status: status.to_owned(),
            elapsed_seconds: seconds(started),
        });
    }

    /// Makes a call, waiting for the set's running operation and trying again while another
    /// operation holds it (an auto-deployment, or another run).
    async fn retry_busy<T, F, Fut>(
        &self,
        sets: &dyn StackSets,
        name: &str,
        started: Instant,
        call: F,
    ) -> Result<T, Failed>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = AwsResult<T>>,
    {
        let mut round = 1;
        loop {
            match call().await {
                Err(error) if error.is_stack_set_busy() && round < MAX_ROUNDS => {
                    round += 1;
                    self.status(
                        started,
                        &format!("busy ({}); waiting for it", error.message),
                    );
                    self.settle(sets, name, started).await?;
                }
                other => return other.map_err(plain),
            }
        }
    }

    /// Starts an operation and follows it to its end: the instances that failed are the
    /// change's failure, each reported against its account and region.
    async fn operate<F, Fut>(
        &self,
        sets: &dyn StackSets,
        name: &str,
        started: Instant,
        what: &str,
        call: F,
    ) -> Result<(), Failed>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = AwsResult<String>>,
    {
        let id = self.retry_busy(sets, name, started, call).await?;
        self.status(started, &format!("{what} (operation {id})"));
        let operation = self.follow(sets, name, &id, started).await?;
        let results = sets.results(name, &id).await.map_err(plain)?;
        let failed: Vec<StackEvent> = results
            .iter()
            .filter(|r| r.status == "FAILED" || r.status == "CANCELLED")
            .map(|r| StackEvent {
                timestamp: String::new(),
                logical_id: format!("{} {}", r.account, r.region),
                resource_type: "AWS::CloudFormation::StackInstance".into(),
                status: r.status.clone(),
                reason: r.reason.clone(),
            })
            .collect();
        if failed.is_empty() && operation.status == "SUCCEEDED" {
            return Ok(());
        }
        let cause = Cause::StackSetOperation {
            operation: id,
            status: operation.status,
            failed: failed.len(),
            total: results.len(),
            accounts: failed
                .iter()
                .map(|e| e.logical_id.clone())
                .collect::<Vec<_>>()
                .join(", "),
        };
        Err((cause, failed))
    }

    /// Polls an operation until it ends, reporting its status as it changes.
    async fn follow(
        &self,
        sets: &dyn StackSets,
        name: &str,
        id: &str,
        started: Instant,
    ) -> Result<crate::aws::Operation, Failed> {
        let waiting_since = Instant::now();
        let mut last = String::new();
        let mut attempt = 0;
        loop {
            let operation = sets.operation(name, id).await.map_err(plain)?;
            if operation.status != last {
                self.status(started, &format!("operation {id}: {}", operation.status));
                last.clone_from(&operation.status);
            }
            if operation.is_done() {
                return Ok(operation);
            }
            if waiting_since.elapsed() >= self.wait_timeout {
                return Err(plain(Cause::WaitTimedOut {
                    status: crate::plan::StackStatus::parse(&operation.status),
                    minutes: self.wait_timeout.as_secs() / 60,
                }));
            }
            tokio::time::sleep(self.backoff.delay(attempt)).await;
            attempt += 1;
        }
    }

    /// Waits for the set's running operation, if any (another run's, or an auto-deployment).
    async fn settle(
        &self,
        sets: &dyn StackSets,
        name: &str,
        started: Instant,
    ) -> Result<(), Failed> {
        if sets.describe(name).await.map_err(plain)?.is_none() {
            return Ok(());
        }
        let operations = sets.operations(name).await.map_err(plain)?;
        if let Some(running) = operations.first().filter(|o| !o.is_done()) {
            self.status(
                started,
                &format!("waiting for the set's running operation {}", running.id),
            );
            self.follow(sets, name, &running.id, started).await?;
        }
        Ok(())
    }
}

/// The organizational units to name for the given accounts' instances: their own units, else
/// the set's.
fn units_of(
    instances: &[crate::plan::StackInstance],
    accounts: &[String],
    planned: &Instances,
) -> Vec<String> {
    let mut units: Vec<String> = instances
        .iter()
        .filter(|i| accounts.contains(&i.account))
        .filter_map(|i| i.unit.clone())
        .collect();
    if units.is_empty() {
        units.clone_from(&planned.units);
    }
    units.sort();
    units.dedup();
    units
}
