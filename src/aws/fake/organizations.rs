//! The fake's AWS Organizations: units and the accounts directly in them.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use super::super::{AwsError, AwsResult, OrganizationDescription, Organizations};

use super::Node;

/// An organization's tree: each unit or root with the units and accounts directly in it.
#[derive(Clone, Default)]
pub struct FakeOrganization {
    tree: Arc<Mutex<BTreeMap<String, Node>>>,
    described: Arc<Mutex<Option<OrganizationDescription>>>,
}

impl FakeOrganization {
    fn tree(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Node>> {
        self.tree
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Places `unit` under `parent`.
    pub fn add_unit(&self, parent: &str, unit: &str) {
        let mut tree = self.tree();
        tree.entry(parent.to_owned())
            .or_default()
            .0
            .push(unit.to_owned());
        tree.entry(unit.to_owned()).or_default();
    }

    /// The organization's id and management account, as `DescribeOrganization` answers them
    /// (without this, it answers that the account is in no organization).
    pub fn describe_as(&self, id: &str, management_account: &str) {
        *self
            .described
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(OrganizationDescription {
            id: id.to_owned(),
            management_account: management_account.to_owned(),
        });
    }

    /// Places an active account directly in `parent`.
    pub fn add_account(&self, parent: &str, account: &str) {
        self.tree()
            .entry(parent.to_owned())
            .or_default()
            .1
            .push(account.to_owned());
    }

    fn node(&self, parent: &str) -> AwsResult<Node> {
        self.tree().get(parent).cloned().ok_or_else(|| {
            AwsError::new(
                "ListChildren",
                Some("ParentNotFoundException"),
                "You specified a parent that doesn't exist.",
            )
        })
    }
}

#[async_trait]
impl Organizations for FakeOrganization {
    async fn child_units(&self, parent: &str) -> AwsResult<Vec<String>> {
        Ok(self.node(parent)?.0)
    }
    async fn active_accounts(&self, parent: &str) -> AwsResult<Vec<String>> {
        Ok(self.node(parent)?.1)
    }
    async fn describe(&self) -> AwsResult<OrganizationDescription> {
        self.described
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
            .ok_or_else(|| {
                AwsError::new(
                    "DescribeOrganization",
                    Some("AWSOrganizationsNotInUseException"),
                    "Your account is not a member of an organization.",
                )
            })
    }
}
