//! An organization built in the emulator's AWS Organizations, for the tests of targets by
//! organizational unit and of deploy roles by StackSet.

use crate::common::Emulator;

/// The organization's management account, reached with the role every test account has.
pub(crate) const MANAGEMENT: &str = "999999999999";

/// An organization in the making: its id, its root, and the accounts created in it so far.
pub(crate) struct Builder {
    client: aws_sdk_organizations::Client,
    /// The organization's id (`o-…`).
    pub(crate) id: String,
    /// The root's id (`r-…`).
    pub(crate) root: String,
    accounts: usize,
}

/// Organizations in the management account.
pub(crate) async fn organizations(emulator: &Emulator) -> aws_sdk_organizations::Client {
    aws_sdk_organizations::Client::new(&emulator.sdk(MANAGEMENT, "us-east-1").await)
}

impl Builder {
    /// A new organization with all features, run from the management account.
    pub(crate) async fn create(emulator: &Emulator) -> Self {
        let client = organizations(emulator).await;
        let id = client
            .create_organization()
            .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
            .send()
            .await
            .unwrap()
            .organization()
            .unwrap()
            .id()
            .unwrap()
            .to_owned();
        let root = client.list_roots().send().await.unwrap().roots()[0]
            .id()
            .unwrap()
            .to_owned();
        Builder {
            client,
            id,
            root,
            accounts: 0,
        }
    }

    /// A new unit named `name` under `parent` (the root or another unit); its id.
    pub(crate) async fn unit(&self, parent: &str, name: &str) -> String {
        self.client
            .create_organizational_unit()
            .parent_id(parent)
            .name(name)
            .send()
            .await
            .unwrap()
            .organizational_unit()
            .unwrap()
            .id()
            .unwrap()
            .to_owned()
    }

    /// A new member account (`memberN`), moved into `parent` unless that is the root; its id.
    pub(crate) async fn account(&mut self, parent: &str) -> String {
        let index = self.accounts;
        self.accounts += 1;
        let account = self
            .client
            .create_account()
            .email(format!("member{index}@example.com"))
            .account_name(format!("member{index}"))
            .send()
            .await
            .unwrap()
            .create_account_status()
            .unwrap()
            .account_id()
            .unwrap()
            .to_owned();
        if parent != self.root {
            move_account(&self.client, &account, &self.root, parent).await;
        }
        account
    }
}

/// Moves `account` from the unit (or root) `from` into `to`, as an administrator would.
pub(crate) async fn move_account(
    client: &aws_sdk_organizations::Client,
    account: &str,
    from: &str,
    to: &str,
) {
    client
        .move_account()
        .account_id(account)
        .source_parent_id(from)
        .destination_parent_id(to)
        .send()
        .await
        .unwrap();
}

/// Whether `account` has the foundation's deploy role (`acme-cloudformation`).
pub(crate) async fn deploy_role(emulator: &Emulator, account: &str) -> bool {
    let iam = aws_sdk_iam::Client::new(&emulator.sdk(account, "us-east-1").await);
    iam.get_role()
        .role_name("acme-cloudformation")
        .send()
        .await
        .is_ok()
}

/// The strings of a JSON array (an absent list fails the test: the plan always writes it).
pub(crate) fn strings(value: &serde_json::Value) -> Vec<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {value}"))
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}
