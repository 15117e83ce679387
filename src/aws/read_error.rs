//! Why reading what AWS holds failed: whose credentials, which account, region and stack, with
//! a hint of what to do. Every read of the snapshot ends in one of these.

use super::AwsError;
use crate::topology::{AccountId, Credentials, OrganizationalUnitId, Region};

/// Why a read of AWS failed; nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(
        "{who} declares account {declared}, but {credentials} acts in account {actual}; nothing was read or changed"
    )]
    /// An account's credentials act in another account.
    IdentityMismatch {
        /// The entries of the topology that name the account.
        who: String,
        /// The account the topology names.
        declared: AccountId,
        /// The account the credentials act in.
        actual: String,
        /// The credentials used.
        credentials: Credentials,
    },
    #[error("cannot describe the organization with account {account}")]
    /// The organization could not be described (deploy roles by StackSet need its management
    /// account).
    OrganizationDescription {
        /// The organization account read through.
        account: AccountId,
        /// What AWS answered.
        source: AwsError,
    },
    #[error(
        "`organization_id` is {declared}, but account {account} of `[organization]` belongs to organization {actual}; nothing was read or changed"
    )]
    /// The organization account belongs to another organization than the topology names.
    OrganizationMismatch {
        /// The organization account.
        account: AccountId,
        /// The id the topology names.
        declared: String,
        /// The organization the account belongs to.
        actual: String,
    },
    #[error("cannot confirm the identity of account {account} ({who}) with {credentials}")]
    /// An account's identity could not be confirmed.
    Identity {
        /// The account.
        account: AccountId,
        /// The entries of the topology that name it.
        who: String,
        /// The credentials used.
        credentials: Credentials,
        /// What AWS answered.
        source: AwsError,
    },
    #[error("cannot read the stacks of account {account} in {region}")]
    /// An account and region's stacks could not be listed.
    Stacks {
        /// The account.
        account: AccountId,
        /// The region.
        region: Region,
        /// What AWS answered.
        source: AwsError,
    },
    #[error("cannot read {stack} ({account} {region})")]
    /// One stack (or StackSet) could not be read.
    Stack {
        /// Its name.
        stack: String,
        /// Its account.
        account: AccountId,
        /// Its region.
        region: Region,
        /// What AWS answered.
        source: AwsError,
    },
    #[error(
        "cannot read the accounts of organizational unit {unit} (target `{target}`) with account {account}"
    )]
    /// A unit's accounts could not be read from AWS Organizations.
    Organization {
        /// The target that names the unit.
        target: String,
        /// The unit.
        unit: OrganizationalUnitId,
        /// The organization account read through.
        account: AccountId,
        /// What AWS answered.
        source: AwsError,
    },
    #[error("cannot check whether {what} is free in account {account}")]
    /// Whether a name a stack needs is free could not be checked.
    Preflight {
        /// The role or bucket.
        what: String,
        /// The account checked.
        account: AccountId,
        /// What AWS answered.
        source: AwsError,
    },
}

/// For a call AWS refused for want of a permission: the IAM actions that call needs
/// (`aws/calls.rs`), as the hint says them.
fn denied_actions(source: &AwsError) -> Option<String> {
    if !source.is_access_denied() {
        return None;
    }
    // AWS's message names the account and the action refused.
    if let Some(denial) = crate::policy::denials(&source.message).first() {
        return Some(denial.hint());
    }
    let call = super::calls::CALLS
        .iter()
        .find(|c| c.operation == source.operation)?;
    Some(format!(
        "the credentials plinth uses for this account are not allowed {} (the call {}): the policy `plinth policy` prints for it allows it; attach that policy, then run plinth again",
        call.actions.join(" and "),
        call.operation
    ))
}

impl ReadError {
    /// What AWS answered, when AWS answered.
    fn aws_source(&self) -> Option<&AwsError> {
        match self {
            ReadError::OrganizationDescription { source, .. }
            | ReadError::Identity { source, .. }
            | ReadError::Stacks { source, .. }
            | ReadError::Stack { source, .. }
            | ReadError::Organization { source, .. }
            | ReadError::Preflight { source, .. } => Some(source),
            ReadError::IdentityMismatch { .. } | ReadError::OrganizationMismatch { .. } => None,
        }
    }

    /// The refusal AWS reported, in its words, when it was one.
    pub fn denial(&self) -> Option<crate::policy::Denial> {
        let source = self.aws_source()?;
        if !source.is_access_denied() {
            return None;
        }
        crate::policy::denials(&source.message).into_iter().next()
    }

    /// What the user can do about it, when there is something to say.
    pub fn hint(&self) -> Option<String> {
        if let Some(missing) = self.aws_source().and_then(denied_actions) {
            return Some(missing);
        }
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
            ReadError::OrganizationDescription { .. } => Some(
                "with deploy roles by StackSet, `[organization]`'s credentials need organizations:DescribeOrganization, in an account of the organization".into(),
            ),
            ReadError::OrganizationMismatch { .. } => Some(
                "check `organization_id` (`aws organizations describe-organization` shows it) and the account `[organization]` names".into(),
            ),
            ReadError::Organization { .. } => Some(
                "`[organization]` must name the management account or a delegated administrator, with credentials allowed organizations:ListChildren and organizations:ListAccountsForParent".into(),
            ),
            _ => None,
        }
    }
}
