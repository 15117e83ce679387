//! Roles: trust, inline and managed policies and boundary, and the calls that put one back or create a deleted role again.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::AtomicU64;

use super::AwsResult;
use crate::aws::errors::error;
use crate::plan::drift::{LiveRole, Repair};

use super::{absent, count, created, not_for};

pub(in crate::aws) async fn read_role(
    client: &aws_sdk_iam::Client,
    calls: &AtomicU64,
    name: &str,
) -> AwsResult<Option<LiveRole>> {
    count(calls);
    let Some(role) = absent(
        "GetRole",
        client.get_role().role_name(name).send().await,
        &["NoSuchEntity"],
    )?
    else {
        return Ok(None);
    };
    let role = role.role();
    let trust = role
        .and_then(|r| r.assume_role_policy_document())
        .map(str::to_owned);
    let boundary = role
        .and_then(|r| r.permissions_boundary())
        .and_then(|b| b.permissions_boundary_arn())
        .map(str::to_owned);
    let mut names = Vec::new();
    let mut marker = None;
    loop {
        count(calls);
        let page = client
            .list_role_policies()
            .role_name(name)
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| error("ListRolePolicies", e))?;
        names.extend(page.policy_names().iter().cloned());
        marker = page.marker().map(str::to_owned);
        if marker.is_none() {
            break;
        }
    }
    let mut inline = BTreeMap::new();
    for policy in names {
        count(calls);
        let document = client
            .get_role_policy()
            .role_name(name)
            .policy_name(&policy)
            .send()
            .await
            .map_err(|e| error("GetRolePolicy", e))?
            .policy_document()
            .to_owned();
        inline.insert(policy, document);
    }
    let mut managed = BTreeSet::new();
    let mut marker = None;
    loop {
        count(calls);
        let page = client
            .list_attached_role_policies()
            .role_name(name)
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| error("ListAttachedRolePolicies", e))?;
        managed.extend(
            page.attached_policies()
                .iter()
                .filter_map(|p| p.policy_arn().map(str::to_owned)),
        );
        marker = page.marker().map(str::to_owned);
        if marker.is_none() {
            break;
        }
    }
    Ok(Some(LiveRole {
        trust,
        inline,
        managed,
        boundary,
    }))
}

pub(in crate::aws) async fn repair_role(
    client: &aws_sdk_iam::Client,
    calls: &AtomicU64,
    repair: &Repair,
) -> AwsResult<()> {
    count(calls);
    match repair {
        Repair::UpdateTrust { role, document } => client
            .update_assume_role_policy()
            .role_name(role)
            .policy_document(document)
            .send()
            .await
            .map(drop)
            .map_err(|e| error("UpdateAssumeRolePolicy", e)),
        Repair::PutRolePolicy {
            role,
            name,
            document,
        } => client
            .put_role_policy()
            .role_name(role)
            .policy_name(name)
            .policy_document(document)
            .send()
            .await
            .map(drop)
            .map_err(|e| error("PutRolePolicy", e)),
        Repair::DeleteRolePolicy { role, name } => absent(
            "DeleteRolePolicy",
            client
                .delete_role_policy()
                .role_name(role)
                .policy_name(name)
                .send()
                .await,
            &["NoSuchEntity"],
        )
        .map(drop),
        Repair::AttachRolePolicy { role, arn } => client
            .attach_role_policy()
            .role_name(role)
            .policy_arn(arn)
            .send()
            .await
            .map(drop)
            .map_err(|e| error("AttachRolePolicy", e)),
        Repair::DetachRolePolicy { role, arn } => absent(
            "DetachRolePolicy",
            client
                .detach_role_policy()
                .role_name(role)
                .policy_arn(arn)
                .send()
                .await,
            &["NoSuchEntity"],
        )
        .map(drop),
        Repair::PutRoleBoundary { role, arn } => client
            .put_role_permissions_boundary()
            .role_name(role)
            .permissions_boundary(arn)
            .send()
            .await
            .map(drop)
            .map_err(|e| error("PutRolePermissionsBoundary", e)),
        Repair::DeleteRoleBoundary { role } => client
            .delete_role_permissions_boundary()
            .role_name(role)
            .send()
            .await
            .map(drop)
            .map_err(|e| error("DeleteRolePermissionsBoundary", e)),
        Repair::CreateRole {
            role,
            trust,
            description,
            path,
            boundary,
            inline,
            managed,
        } => {
            let made = client
                .create_role()
                .role_name(role)
                .assume_role_policy_document(trust)
                .set_description(description.clone())
                .set_path(path.clone())
                .set_permissions_boundary(boundary.clone())
                .send()
                .await
                .map(drop)
                .map_err(|e| error("CreateRole", e));
            if !created(made, "EntityAlreadyExists")? {
                // made by an earlier try of the same repair: its trust is put as declared
                count(calls);
                client
                    .update_assume_role_policy()
                    .role_name(role)
                    .policy_document(trust)
                    .send()
                    .await
                    .map_err(|e| error("UpdateAssumeRolePolicy", e))?;
            }
            for (name, document) in inline {
                count(calls);
                client
                    .put_role_policy()
                    .role_name(role)
                    .policy_name(name)
                    .policy_document(document)
                    .send()
                    .await
                    .map_err(|e| error("PutRolePolicy", e))?;
            }
            for arn in managed {
                count(calls);
                client
                    .attach_role_policy()
                    .role_name(role)
                    .policy_arn(arn)
                    .send()
                    .await
                    .map_err(|e| error("AttachRolePolicy", e))?;
            }
            Ok(())
        }
        other => Err(not_for("IAM", other)),
    }
}
