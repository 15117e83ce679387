//! Reads the StackSets of a foundation whose deploy roles come from StackSets, and the record of
//! the accounts they served at the last apply.

use std::collections::{BTreeMap, BTreeSet};

use futures::stream::{self, StreamExt};

use super::read_error::ReadError;
use super::{AwsError, Cloud, StackSets};
use crate::layout::{self, FOUNDATION_TAG, StackKey, StackKind, StackSpec};
use crate::plan::units::SetRecord;
use crate::plan::{DeployedStack, StackStatus, StackSummary};
use crate::topology::{AccountId, Topology};

/// The status plinth gives a StackSet while an operation runs on it: like a stack's
/// `*_IN_PROGRESS`, apply waits for it.
pub(crate) const OPERATION_IN_PROGRESS: &str = "OPERATION_IN_PROGRESS";

/// The organization account and its StackSets client.
type SetsClient = (AccountId, std::sync::Arc<dyn StackSets>);

fn sets(cloud: &dyn Cloud, topology: &Topology) -> Result<Option<SetsClient>, AwsError> {
    let Some(organization) = topology.stack_set_organization() else {
        return Ok(None);
    };
    let sets = cloud.stack_sets(
        &organization.account,
        &topology.build.region,
        organization.stack_set.delegated_admin,
    )?;
    Ok(Some((organization.account.clone(), sets)))
}

/// Every StackSet of the foundation in the organization account (those the topology names, and
/// those named like them and tagged with the foundation), as deployed stacks with instances.
pub(crate) async fn read(
    cloud: &dyn Cloud,
    topology: &Topology,
    concurrency: usize,
) -> Result<Vec<DeployedStack>, ReadError> {
    let region = &topology.build.region;
    let failed = |account: &AccountId, stack: &str| {
        let account = account.clone();
        let stack = stack.to_owned();
        move |source: AwsError| ReadError::Stack {
            stack,
            account,
            region: region.clone(),
            source,
        }
    };
    let Some((account, sets)) = sets(cloud, topology).map_err(|source| ReadError::Stack {
        stack: "the foundation's StackSets".into(),
        account: topology.build.account.clone(),
        region: region.clone(),
        source,
    })?
    else {
        return Ok(Vec::new());
    };
    let prefix = format!("{}-deploy-", topology.name);
    let mut names: BTreeSet<String> = sets
        .names(&prefix)
        .await
        .map_err(failed(&account, "the foundation's StackSets"))?
        .into_iter()
        .collect();
    names.extend(
        layout::stacks(topology)
            .into_iter()
            .filter(|s| s.key.kind() == StackKind::StackSet)
            .map(|s| s.name),
    );
    let reads = names.into_iter().map(|name| {
        let sets = sets.clone();
        let account = account.clone();
        async move {
            let Some(key) =
                StackKey::recognise(&topology.name, StackKind::StackSet, &name, &account, region)
            else {
                return Ok(None);
            };
            let Some(set) = sets
                .describe(&name)
                .await
                .map_err(failed(&account, &name))?
            else {
                return Ok(None);
            };
            if set.tags.get(FOUNDATION_TAG).map(String::as_str) != Some(topology.name.as_str()) {
                return Ok(None);
            }
            let instances = sets
                .instances(&name)
                .await
                .map_err(failed(&account, &name))?;
            let operations = sets
                .operations(&name)
                .await
                .map_err(failed(&account, &name))?;
            let newest = operations.first();
            let status = if newest.is_some_and(|o| !o.is_done()) {
                OPERATION_IN_PROGRESS
            } else {
                set.status.as_str()
            };
            Ok::<_, ReadError>(Some(DeployedStack {
                spec: StackSpec {
                    key,
                    name: name.clone(),
                    account: account.clone(),
                    region: region.clone(),
                },
                summary: StackSummary {
                    id: set.id,
                    name,
                    status: StackStatus::parse(status),
                    status_reason: newest
                        .filter(|o| o.status == "FAILED" || o.status == "STOPPED")
                        .map(|o| {
                            format!(
                                "its last operation ({}) {}{}",
                                o.action,
                                o.status,
                                o.reason
                                    .as_deref()
                                    .map(|r| format!(": {r}"))
                                    .unwrap_or_default()
                            )
                        }),
                    parameters: set.parameters,
                    tags: set.tags,
                    outputs: BTreeMap::new(),
                    changed_at: newest.map(|o| o.id.clone()).unwrap_or_default(),
                },
                template: serde_json::from_str(&set.template).ok(),
                live: None,
                last_failure: None,
                instances: Some(instances),
            }))
        }
    });
    let mut out = Vec::new();
    for result in stream::iter(reads)
        .buffer_unordered(concurrency.max(1))
        .collect::<Vec<_>>()
        .await
    {
        out.extend(result?);
    }
    out.sort_by(|a, b| a.spec.name.cmp(&b.spec.name));
    Ok(out)
}

/// The record of the accounts the StackSets served at the last apply; `None` before the first
/// apply (or without StackSets).
pub(crate) async fn read_record(
    cloud: &dyn Cloud,
    topology: &Topology,
) -> Result<Option<SetRecord>, ReadError> {
    if !topology.stack_sets() {
        return Ok(None);
    }
    let build = &topology.build;
    let failed = |source: AwsError| ReadError::Stack {
        stack: format!(
            "{} (record of the StackSets' accounts)",
            layout::STACK_SET_RECORD
        ),
        account: build.account.clone(),
        region: build.region.clone(),
        source,
    };
    let body = match cloud
        .s3(&build.account)
        .map_err(failed)?
        .get_object(
            &topology.build_bucket(),
            &build.region,
            layout::STACK_SET_RECORD,
        )
        .await
    {
        Ok(body) => body,
        Err(e) if e.is_no_such_bucket() => None,
        Err(e) => return Err(failed(e)),
    };
    Ok(body.and_then(|b| serde_json::from_str(&b).ok()))
}
