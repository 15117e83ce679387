//! The fake's AWS Organizations: units and the accounts directly in them.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use super::super::{AwsError, AwsResult, Organizations};

use super::Node;

/// An organization's tree: each unit or root with the units and accounts directly in it.
#[derive(Clone, Default)]
pub struct FakeOrganization {
    tree: Arc<Mutex<BTreeMap<String, Node>>>,
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
}
