//! Why reading what AWS holds failed: whose credentials, which account, region and stack, with
//! a hint of what to do. Every read of the snapshot ends in one of these.

use super::AwsError;
use crate::topology::{AccountId, Credentials, OrganizationalUnitId, Region};

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(
        "{who} declares account {declared}, but {credentials} acts in account {actual}; nothing was read or changed"
    )]
    IdentityMismatch {
        who: String,
        declared: AccountId,
        actual: String,
        credentials: Credentials,
    },
    #[error("cannot confirm the identity of account {account} ({who}) with {credentials}")]
    Identity {
        account: AccountId,
        who: String,
        credentials: Credentials,
        source: AwsError,
    },
    #[error("cannot read the stacks of account {account} in {region}")]
    Stacks {
        account: AccountId,
        region: Region,
        source: AwsError,
    },
    #[error("cannot read {stack} ({account} {region})")]
    Stack {
        stack: String,
        account: AccountId,
        region: Region,
        source: AwsError,
    },
    #[error(
        "cannot read the accounts of organizational unit {unit} (target `{target}`) with account {account}"
    )]
    Organization {
        target: String,
        unit: OrganizationalUnitId,
        account: AccountId,
        source: AwsError,
    },
    #[error("cannot check whether {what} is free in account {account}")]
    Preflight {
        what: String,
        account: AccountId,
        source: AwsError,
    },
}

impl ReadError {
    pub fn hint(&self) -> Option<String> {
        match self {
            ReadError::IdentityMismatch { .. } => Some(
                "check the profile or role_arn of this entry: plinth stops rather than change an account the topology does not name".into(),
            ),
            ReadError::Identity { .. } => Some(
                "check that the profile or role exists and that your credentials are valid (`aws sts get-caller-identity`)".into(),
            ),
            ReadError::Organization { source, .. }
                if source.code.as_deref() == Some("ParentNotFoundException") =>
            {
                Some("check the target's `organizational_unit`: `aws organizations list-organizational-units-for-parent` shows the ids".into())
            }
            ReadError::Organization { .. } => Some(
                "`[organization]` must name the management account or a delegated administrator, with credentials allowed organizations:ListChildren and organizations:ListAccountsForParent".into(),
            ),
            _ => None,
        }
    }
}
