//! Which accounts the targets by organizational unit resolved to, and how that changed since
//! the last apply: the part of a plan that says who joined a unit and who left.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{Action, Change, Deployed, StackInstance};
use crate::layout::StackKey;
use crate::topology::{AccountId, OrganizationalUnitId, Region, Topology};

/// The accounts of every unit target, and the accounts no target reaches any more.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct OrganizationAccounts {
    /// Each target by organizational unit, in the topology's order.
    pub(crate) units: Vec<UnitAccounts>,
    /// Target accounts of the last apply that no target names now: they left their unit, were
    /// excluded, or lost their own entry.
    pub(crate) left: Vec<AccountId>,
}

/// What one target by organizational unit resolved to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct UnitAccounts {
    /// The target's name.
    pub(crate) target: String,
    /// The organizational unit it names.
    pub(crate) unit: OrganizationalUnitId,
    /// Every account of the unit (and the units below it) that is a target, in id order.
    pub(crate) accounts: Vec<AccountId>,
    /// Of those, the ones that were no target at the last apply.
    pub(crate) joined: Vec<AccountId>,
    /// Accounts of the unit that `exclude` leaves out.
    pub(crate) excluded: Vec<AccountId>,
    /// The organization's management account, when the unit holds it with no target of its
    /// own and a StackSet serves the unit: StackSets never deploy to it, so it gets no deploy
    /// roles from the set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) management: Option<AccountId>,
    /// The StackSet that gives the accounts their deploy roles, with deploy roles by StackSet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) stack_set: Option<String>,
}

/// The organization part of a plan: `None` for a topology that names no unit, or one not yet
/// resolved. On a foundation never applied, no account has joined: every one is new.
pub(crate) fn accounts(topology: &Topology, deployed: &Deployed) -> Option<OrganizationAccounts> {
    let membership = topology.membership.as_ref()?;
    let stack_set_record = deployed.stack_set_record.as_ref().map(SetRecord::accounts);
    let units = topology
        .units
        .iter()
        .map(|unit| {
            // Accounts a StackSet serves were recorded with the set's record; the others, with
            // the deploy stacks, on the primary stack.
            let recorded = if topology.stack_sets() {
                stack_set_record.as_ref()
            } else {
                deployed.recorded_accounts.as_ref()
            };
            let accounts = topology.unit_accounts(unit);
            let joined = match recorded {
                Some(recorded) => accounts
                    .iter()
                    .filter(|a| !recorded.contains(*a))
                    .cloned()
                    .collect(),
                None => Vec::new(),
            };
            let excluded = membership
                .get(&unit.unit)
                .into_iter()
                .flatten()
                .filter(|a| unit.exclude.contains(a))
                .cloned()
                .collect();
            let management = topology.management.clone().filter(|m| {
                membership
                    .get(&unit.unit)
                    .is_some_and(|held| held.contains(m))
                    && !unit.exclude.contains(m)
                    && !topology.targets.iter().any(|t| &t.account == m)
            });
            UnitAccounts {
                target: unit.name.clone(),
                unit: unit.unit.clone(),
                accounts,
                joined,
                excluded,
                management,
                stack_set: topology.stack_sets().then(|| {
                    StackKey::StackSet {
                        target: unit.name.clone(),
                    }
                    .stack_name(&topology.name)
                }),
            }
        })
        .collect();
    // The snapshot already found them: the recorded accounts no target has now.
    let mut left = deployed.dropped_accounts.clone();
    left.extend(deployed.left_stack_set_accounts.iter().cloned());
    left.sort();
    left.dedup();
    Some(OrganizationAccounts { units, left })
}

/// What apply does to the instances of a StackSet, beside its template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Instances {
    /// The organizational units the set targets (the instances' own units, for a delete).
    pub(crate) units: Vec<String>,
    /// The one region of the instances: the build region, where the deploy stacks live.
    pub(crate) region: Region,
    /// Accounts of the units that get no instance: excluded, or configured by an entry of their
    /// own (which gives them a deploy stack).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) skip: Vec<AccountId>,
    /// Accounts of the units without an instance (auto-deployment adds those that join later).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) add: Vec<AccountId>,
    /// Instances of accounts the set no longer serves.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) remove: Vec<AccountId>,
    /// Instances that do not hold the set's template, with the reason CloudFormation gives: the
    /// set's update puts it there again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) not_current: Vec<StackInstance>,
    /// Instances of accounts the set serves whose delete failed and left their stack
    /// (`INOPERABLE`): CloudFormation leaves them out of every update, so apply cannot bring
    /// them back; the plan says what to do by hand.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) inoperable: Vec<StackInstance>,
    /// Instances whose stack drifted from the template, as the set's last drift detection
    /// (`DetectStackSetDrift`) found.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) drifted: Vec<StackInstance>,
    /// Instances of the set now, by CloudFormation's last word.
    pub(crate) existing: usize,
    /// Instances after apply.
    pub(crate) wanted: usize,
    /// The operations' share of accounts deployed to at once (`[organization]`).
    pub(crate) max_concurrent_percentage: u32,
    /// The operations' share of accounts that may fail before they stop (`[organization]`).
    pub(crate) failure_tolerance_percentage: u32,
    /// Whether the calls are made as a delegated administrator.
    pub(crate) delegated_admin: bool,
}

impl Instances {
    /// Whether apply has to add, remove or bring back any instance.
    pub(crate) fn has_changes(&self) -> bool {
        !(self.add.is_empty() && self.remove.is_empty() && self.not_current.is_empty())
    }
}

/// Fills in the instances of every StackSet change: those to add, remove and bring up to date.
/// A set whose template is unchanged but whose instances are not as they should be is updated.
pub(crate) fn plan_instances(topology: &Topology, changes: &mut [Change], deployed: &Deployed) {
    let Some(organization) = &topology.organization else {
        return;
    };
    for change in changes.iter_mut() {
        let StackKey::StackSet { target } = &change.stack.key else {
            continue;
        };
        let existing: Vec<StackInstance> = deployed
            .find(&change.stack)
            .and_then(|s| s.instances.clone())
            .unwrap_or_default();
        let region = change.stack.region.clone();
        let here: Vec<&StackInstance> = existing
            .iter()
            .filter(|i| i.region == region.as_str())
            .collect();
        let has = |account: &AccountId| here.iter().any(|i| i.account == account.as_str());
        let unit = topology.units.iter().find(|u| &u.name == target);
        let (units, wanted, skip) = match (unit, change.action) {
            (Some(unit), action) if action != Action::Delete => {
                let wanted: Vec<AccountId> = topology
                    .targets
                    .iter()
                    .filter(|t| t.unit.as_deref() == Some(target.as_str()))
                    .map(|t| t.account.clone())
                    .collect();
                let skip: Vec<AccountId> = topology
                    .membership
                    .as_ref()
                    .and_then(|m| m.get(&unit.unit))
                    .into_iter()
                    .flatten()
                    .filter(|a| !wanted.contains(a) && topology.management.as_ref() != Some(a))
                    .cloned()
                    .collect();
                (vec![unit.unit.to_string()], wanted, skip)
            }
            _ => {
                let mut units: Vec<String> =
                    existing.iter().filter_map(|i| i.unit.clone()).collect();
                units.sort();
                units.dedup();
                (units, Vec::new(), Vec::new())
            }
        };
        let add: Vec<AccountId> = wanted.iter().filter(|a| !has(a)).cloned().collect();
        let remove: Vec<AccountId> = here
            .iter()
            .filter_map(|i| AccountId::parse(&i.account).ok())
            .filter(|a| !wanted.contains(a))
            .collect();
        let served: Vec<&StackInstance> = if change.action == Action::Delete {
            Vec::new()
        } else {
            here.iter()
                .copied()
                .filter(|i| !i.is_current() && wanted.iter().any(|a| a.as_str() == i.account))
                .collect()
        };
        let (inoperable, not_current): (Vec<StackInstance>, Vec<StackInstance>) = served
            .into_iter()
            .cloned()
            .partition(StackInstance::is_inoperable);
        let drifted: Vec<StackInstance> = here
            .iter()
            .filter(|i| i.drift_status.as_deref() == Some("DRIFTED"))
            .map(|i| (*i).clone())
            .collect();
        let instances = Instances {
            drifted,
            units,
            region,
            skip,
            existing: here.len(),
            wanted: wanted.len(),
            add,
            remove,
            not_current,
            inoperable,
            max_concurrent_percentage: organization.stack_set.max_concurrent_percentage,
            failure_tolerance_percentage: organization.stack_set.failure_tolerance_percentage,
            delegated_admin: organization.stack_set.delegated_admin,
        };
        if change.action == Action::NoChange && instances.has_changes() {
            change.action = Action::Update;
            change.reason = Some(instance_reason(&instances));
        }
        change.instances = Some(instances);
    }
}

/// Why a StackSet whose template is unchanged is updated.
fn instance_reason(instances: &Instances) -> String {
    let mut parts = Vec::new();
    if !instances.add.is_empty() {
        parts.push(format!(
            "{} account(s) of its units have no instance",
            instances.add.len()
        ));
    }
    if !instances.remove.is_empty() {
        parts.push(format!(
            "{} instance(s) belong to accounts it no longer serves",
            instances.remove.len()
        ));
    }
    if !instances.not_current.is_empty() {
        parts.push(format!(
            "{} instance(s) do not hold its template",
            instances.not_current.len()
        ));
    }
    parts.join("; ")
}

/// The accounts each StackSet of the foundation served when apply last ran, kept in the build
/// bucket: the accounts that joined a unit since (by auto-deployment) are those missing here.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SetRecord {
    /// Target name to its accounts.
    pub(crate) targets: BTreeMap<String, BTreeSet<AccountId>>,
}

impl SetRecord {
    /// The record of what a resolved topology's StackSets serve.
    pub(crate) fn of(topology: &Topology) -> Self {
        let mut targets: BTreeMap<String, BTreeSet<AccountId>> = topology
            .units
            .iter()
            .map(|u| (u.name.clone(), BTreeSet::new()))
            .collect();
        for target in &topology.targets {
            if let Some(unit) = &target.unit {
                targets
                    .entry(unit.clone())
                    .or_default()
                    .insert(target.account.clone());
            }
        }
        Self { targets }
    }

    /// Every account the record names, whichever set served it.
    pub(crate) fn accounts(&self) -> BTreeSet<AccountId> {
        self.targets.values().flatten().cloned().collect()
    }
}

/// The record plan writes when apply ends well, in the build bucket, when it differs from the
/// one read: the accounts the StackSets serve now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RecordWrite {
    /// The build account, whose bucket keeps the record.
    pub(crate) account: AccountId,
    /// The build bucket's region.
    pub(crate) region: Region,
    /// The build bucket.
    pub(crate) bucket: String,
    /// The object's key ([`crate::layout::STACK_SET_RECORD`]).
    pub(crate) key: String,
    /// The record, as JSON.
    pub(crate) body: String,
}

/// The record to write after apply; `None` without StackSets, or when it would not change.
pub(crate) fn record_write(topology: &Topology, deployed: &Deployed) -> Option<RecordWrite> {
    if !topology.stack_sets() || topology.membership.is_none() {
        return None;
    }
    let record = SetRecord::of(topology);
    if deployed.stack_set_record.as_ref() == Some(&record) {
        return None;
    }
    Some(RecordWrite {
        account: topology.build.account.clone(),
        region: topology.build.region.clone(),
        bucket: topology.build_bucket(),
        key: crate::layout::STACK_SET_RECORD.to_owned(),
        body: serde_json::to_string_pretty(&record).expect("a record of strings serialises"),
    })
}
