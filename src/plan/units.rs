//! Which accounts the targets by organizational unit resolved to, and how that changed since
//! the last apply: the part of a plan that says who joined a unit and who left.

use serde::{Deserialize, Serialize};

use super::Deployed;
use crate::topology::{AccountId, OrganizationalUnitId, Topology};

/// The accounts of every unit target, and the accounts no target reaches any more.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganizationAccounts {
    pub units: Vec<UnitAccounts>,
    /// Target accounts of the last apply that no target names now: they left their unit, were
    /// excluded, or lost their own entry.
    pub left: Vec<AccountId>,
}

/// What one target by organizational unit resolved to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitAccounts {
    pub target: String,
    pub unit: OrganizationalUnitId,
    /// Every account of the unit (and the units below it) that is a target, in id order.
    pub accounts: Vec<AccountId>,
    /// Of those, the ones that were no target at the last apply.
    pub joined: Vec<AccountId>,
    /// Accounts of the unit that `exclude` leaves out.
    pub excluded: Vec<AccountId>,
}

/// The organization part of a plan: `None` for a topology that names no unit, or one not yet
/// resolved. On a foundation never applied, no account has joined: every one is new.
pub fn accounts(topology: &Topology, deployed: &Deployed) -> Option<OrganizationAccounts> {
    let membership = topology.membership.as_ref()?;
    let recorded = deployed.recorded_accounts.as_ref();
    let units = topology
        .units
        .iter()
        .map(|unit| {
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
            UnitAccounts {
                target: unit.name.clone(),
                unit: unit.unit.clone(),
                accounts,
                joined,
                excluded,
            }
        })
        .collect();
    // The snapshot already found them: the recorded accounts no target has now.
    let left = deployed.dropped_accounts.clone();
    Some(OrganizationAccounts { units, left })
}
