//! Reads what AWS holds of a foundation into a [`Deployed`] snapshot: first the identity of
//! every account, then every stack of every account and region, concurrently under a bound.

use std::collections::BTreeSet;

use futures::stream::{self, StreamExt};

pub use super::read_error::ReadError;
use super::{AwsError, BucketOwner, Cloud, KeyDeletion};
use crate::layout::{self, FOUNDATION_TAG, OwnedName, STACK_TAG, StackKey, StackKind, StackSpec};
use crate::plan::adopt::{OldResource, OldRole, OldStack};
use crate::plan::drift::{LiveConfig, LiveResource, LiveStack};
use crate::plan::imports::{Found, Outside};
use crate::plan::{Deployed, DeployedStack, Finding, OrphanBucket, StackState, StackSummary};
use crate::templates::outputs;
use crate::topology::{AccountId, Membership, Region, Topology};

fn who(topology: &Topology, account: &AccountId) -> String {
    let mut names: Vec<String> = Vec::new();
    if topology.build.account == *account {
        names.push("[build]".into());
    }
    if topology
        .organization
        .as_ref()
        .is_some_and(|o| o.account == *account)
    {
        names.push("[organization]".into());
    }
    names.extend(
        topology
            .targets
            .iter()
            .filter(|t| &t.account == account)
            .map(|t| format!("target `{}`", t.name)),
    );
    names.join(" and ")
}

/// `GetCallerIdentity` for every account, concurrently: the credentials of each must act in the
/// account the topology declares. This guards production against a mistyped profile.
/// At most `concurrency` at once: each is an AssumeRole and a GetCallerIdentity, and a
/// thousand at once would meet STS's rate limits and the SDK's credential timeout.
pub(crate) async fn preflight(
    cloud: &dyn Cloud,
    topology: &Topology,
    concurrency: usize,
) -> Result<(), ReadError> {
    let mut accounts = topology.accounts();
    if let Some(organization) = &topology.organization {
        accounts
            .entry(organization.account.clone())
            .or_insert_with(|| organization.credentials.clone());
    }
    let checks = accounts
        .into_iter()
        .map(|(account, credentials)| async move {
            let actual = async { cloud.sts(&account)?.caller_account().await }
                .await
                .map_err(|source| ReadError::Identity {
                    who: who(topology, &account),
                    account: account.clone(),
                    credentials: credentials.clone(),
                    source,
                })?;
            if actual != account.as_str() {
                return Err(ReadError::IdentityMismatch {
                    who: who(topology, &account),
                    declared: account,
                    actual,
                    credentials,
                });
            }
            Ok(())
        });
    let results: Vec<Result<(), ReadError>> = stream::iter(checks)
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    results.into_iter().collect()
}

/// The organization's management account, read through `[organization]` when StackSets serve
/// the units (StackSets never deploy to it); `None` otherwise. The organization must be the one
/// `organization_id` names.
pub(crate) async fn read_management(
    cloud: &dyn Cloud,
    topology: &Topology,
) -> Result<Option<AccountId>, ReadError> {
    let Some(organization) = topology.stack_set_organization() else {
        return Ok(None);
    };
    let account = organization.account.clone();
    let failed = |source: AwsError| ReadError::OrganizationDescription {
        account: account.clone(),
        source,
    };
    let description = cloud
        .organizations(&account)
        .map_err(failed)?
        .describe()
        .await
        .map_err(failed)?;
    if let Some(declared) = &topology.organization_id
        && declared.as_str() != description.id
    {
        return Err(ReadError::OrganizationMismatch {
            account,
            declared: declared.to_string(),
            actual: description.id,
        });
    }
    Ok(AccountId::parse(&description.management_account).ok())
}

/// Which active accounts each organizational unit the targets name holds, in it or in any unit
/// below it, read through `[organization]`. Units are walked breadth first, `concurrency` parents
/// at a time (Organizations allows few requests a second; the SDK's retries absorb throttling).
pub(crate) async fn read_membership(
    cloud: &dyn Cloud,
    topology: &Topology,
    concurrency: usize,
) -> Result<Membership, ReadError> {
    let mut membership = Membership::new();
    let Some(organization) = &topology.organization else {
        return Ok(membership);
    };
    for target in &topology.units {
        if membership.contains_key(&target.unit) {
            continue;
        }
        let failed = |source: AwsError| ReadError::Organization {
            target: target.name.clone(),
            unit: target.unit.clone(),
            account: organization.account.clone(),
            source,
        };
        let client = cloud.organizations(&organization.account).map_err(failed)?;
        let mut accounts = BTreeSet::new();
        let mut level = vec![target.unit.to_string()];
        let mut seen: BTreeSet<String> = level.iter().cloned().collect();
        while !level.is_empty() {
            let reads = level.iter().map(|parent| {
                let client = client.clone();
                async move {
                    let units = client.child_units(parent).await?;
                    let members = client.active_accounts(parent).await?;
                    Ok::<_, AwsError>((units, members))
                }
            });
            let results: Vec<_> = stream::iter(reads)
                .buffered(concurrency.max(1))
                .collect()
                .await;
            let mut next = Vec::new();
            for result in results {
                let (units, members) = result.map_err(failed)?;
                accounts.extend(members.iter().filter_map(|a| AccountId::parse(a).ok()));
                next.extend(units.into_iter().filter(|u| seen.insert(u.clone())));
            }
            level = next;
        }
        membership.insert(target.unit.clone(), accounts);
    }
    Ok(membership)
}

/// The stack a summary is, when it carries this foundation's tags.
fn spec_of(
    topology: &Topology,
    account: &AccountId,
    region: &Region,
    summary: &StackSummary,
) -> Option<StackSpec> {
    if summary.tags.get(FOUNDATION_TAG).map(String::as_str) != Some(topology.name.as_str()) {
        return None;
    }
    let kind = StackKind::parse(summary.tags.get(STACK_TAG)?)?;
    let key = StackKey::recognise(&topology.name, kind, &summary.name, account, region)?;
    Some(StackSpec {
        key,
        name: summary.name.clone(),
        account: account.clone(),
        region: region.clone(),
    })
}

/// The reason of the failed resource of a stack's latest operation, from its events (newest
/// first); the stack's own failure event when no resource gave one.
fn failure_reason(events: Vec<crate::aws::StackEvent>, stack: &str) -> Option<String> {
    let failures = crate::aws::latest_failures(events, stack);
    failures
        .iter()
        .find(|e| e.logical_id != stack)
        .or(failures.first())
        .and_then(|e| e.reason.clone())
}

/// Reads every stack of the foundation where its stacks can live (every region of the build
/// account, including those an earlier topology recorded on the primary stack, and the build
/// region of each target account), and checks that the names the missing stacks need are free.
pub async fn read(
    cloud: &dyn Cloud,
    topology: &Topology,
    concurrency: usize,
) -> Result<Deployed, ReadError> {
    let concurrency = concurrency.max(1);
    let build = &topology.build;
    let list = |account: AccountId, region: Region| async move {
        // A deleted stack is no stack, whether or not the listing leaves it out.
        let stacks = async { cloud.cloudformation(&account, &region)?.list_stacks().await }
            .await
            .map(crate::plan::existing)
            .map_err(|source| ReadError::Stacks {
                account: account.clone(),
                region: region.clone(),
                source,
            })?;
        Ok::<_, ReadError>((account, region, stacks))
    };

    // The primary stack records the foundation's regions; read its place first.
    let first = list(build.account.clone(), build.region.clone()).await?;
    let mut regions: BTreeSet<Region> = topology.regions().into_iter().collect();
    let mut dropped_accounts = Vec::new();
    let mut superseded_deploy_stacks = Vec::new();
    let mut recorded_accounts = None;
    for summary in &first.2 {
        if let Some(spec) = spec_of(topology, &first.0, &first.1, summary) {
            if spec.key == StackKey::Primary {
                let recorded = summary
                    .outputs
                    .get(outputs::FOUNDATION_REGIONS)
                    .cloned()
                    .unwrap_or_default();
                regions.extend(
                    recorded
                        .split(',')
                        .filter_map(|r| Region::parse(r.trim()).ok()),
                );
                let targets = topology.target_accounts();
                let dropped = summary
                    .outputs
                    .get(outputs::FOUNDATION_ACCOUNTS)
                    .cloned()
                    .unwrap_or_default();
                let recorded: BTreeSet<AccountId> = dropped
                    .split(',')
                    .filter_map(|a| AccountId::parse(a.trim()).ok())
                    .collect();
                recorded_accounts = Some(recorded.clone());
                for account in recorded {
                    if targets.contains(&account) || account == build.account {
                        continue;
                    }
                    if topology.stack_set_of(&account).is_some() {
                        superseded_deploy_stacks.push(account);
                    } else {
                        dropped_accounts.push(account);
                    }
                }
            }
        }
    }
    // Only where the foundation's stacks can live (so reads grow with accounts plus regions,
    // not accounts times regions): every region of the build account, which holds the primary,
    // regional and pipeline stacks, and the build region of each target account, which holds its
    // deploy stack (IAM is global).
    let mut places = Vec::new();
    for region in &regions {
        if *region != build.region {
            places.push((build.account.clone(), region.clone()));
        }
    }
    for account in topology.accounts().into_keys() {
        if account != build.account {
            places.push((account, build.region.clone()));
        }
    }
    let mut listed = vec![first];
    let rest: Vec<_> = stream::iter(places.into_iter().map(|(a, r)| list(a, r)))
        .buffer_unordered(concurrency)
        .collect()
        .await;
    for result in rest {
        listed.push(result?);
    }

    let mut unreadable = Vec::new();
    let old_stacks =
        read_old_stacks(cloud, topology, &listed, concurrency, &mut unreadable).await?;
    let mut found = Vec::new();
    for (account, region, stacks) in listed {
        for summary in stacks {
            if let Some(spec) = spec_of(topology, &account, &region, &summary) {
                found.push((spec, summary));
            }
        }
    }
    found.sort_by(|a, b| {
        (&a.0.account, &a.0.region, &a.0.name).cmp(&(&b.0.account, &b.0.region, &b.0.name))
    });

    // Templates, for the stacks that can be updated (the others are replaced or waited for).
    let templates = found.into_iter().map(|(spec, summary)| async move {
        let template = if summary.state().exists() {
            let body = async {
                cloud
                    .cloudformation(&spec.account, &spec.region)?
                    .get_template(&summary.id)
                    .await
            }
            .await
            .map_err(|source| ReadError::Stack {
                stack: spec.name.clone(),
                account: spec.account.clone(),
                region: spec.region.clone(),
                source,
            })?;
            serde_json::from_str(&body).ok()
        } else {
            None
        };
        // Why a failed stack failed, so that the plan can say it; the events are an
        // explanation, not a condition of planning, so a refused read leaves it unsaid.
        let last_failure = if summary.status.is_failed() {
            match cloud.cloudformation(&spec.account, &spec.region) {
                Ok(cfn) => cfn
                    .stack_events(&summary.id)
                    .await
                    .ok()
                    .and_then(|events| failure_reason(events, &summary.name)),
                Err(_) => None,
            }
        } else {
            None
        };
        Ok::<_, ReadError>(DeployedStack {
            spec,
            summary,
            template,
            live: None,
            last_failure,
            instances: None,
        })
    });
    let mut stacks = Vec::new();
    for result in stream::iter(templates)
        .buffer_unordered(concurrency)
        .collect::<Vec<_>>()
        .await
    {
        stacks.push(result?);
    }
    stacks.sort_by(|a, b| {
        (&a.spec.account, &a.spec.region, &a.spec.name).cmp(&(
            &b.spec.account,
            &b.spec.region,
            &b.spec.name,
        ))
    });
    stacks.extend(super::set_reads::read(cloud, topology, concurrency).await?);
    let mut left_stack_set_accounts = Vec::new();
    let stack_set_record = super::set_reads::read_record(cloud, topology).await?;
    if let Some(record) = &stack_set_record {
        let now = crate::plan::units::SetRecord::of(topology).accounts();
        let then = record.accounts();
        left_stack_set_accounts = then.difference(&now).cloned().collect();
    }
    let mut deployed = Deployed {
        old_stacks,
        stacks,
        findings: Vec::new(),
        orphan_buckets: Vec::new(),
        adopted_outside: Vec::new(),
        outside: Vec::new(),
        dropped_accounts,
        superseded_deploy_stacks,
        recorded_accounts,
        left_stack_set_accounts,
        stack_set_record,
    };
    // Buckets keep the names they have (adopted ones their own): the names to check are those.
    deployed.findings.extend(unreadable);
    let kept = deployed.bucket_names(topology);
    let named = topology.with_bucket_names(kept.clone());
    check_names(cloud, &named, &regions, &mut deployed, concurrency).await?;
    // A bucket under a kept name is the team's (adopted, or still in the original stack):
    // never an orphan for destroy to empty.
    let (adopted, orphans): (Vec<_>, Vec<_>) = std::mem::take(&mut deployed.orphan_buckets)
        .into_iter()
        .partition(|b| kept.values().any(|name| *name == b.bucket));
    deployed.orphan_buckets = orphans;
    deployed.adopted_outside = adopted;
    outside_keys(&named, &mut deployed);
    Ok(deployed)
}

/// The keys of the original foundation's stacks, which plinth's stacks to create import.
fn outside_keys(topology: &Topology, deployed: &mut Deployed) {
    let keys = crate::plan::adopt::key_ids(topology, &deployed.old_stacks);
    for spec in layout::stacks(topology) {
        let Some(key_id) = keys.get(&spec.region) else {
            continue;
        };
        let holds_key = matches!(spec.key, StackKey::Primary | StackKey::Regional { .. });
        let to_create = deployed
            .find(&spec)
            .is_none_or(|s| s.state() == StackState::NeedsReplacement);
        if holds_key && to_create {
            deployed.outside.push(Outside {
                account: spec.account.clone(),
                region: spec.region.clone(),
                stack: spec.name.clone(),
                found: Found::Key {
                    key_id: key_id.clone(),
                },
            });
        }
    }
    deployed.outside.sort();
}

/// The stacks of the original foundation that `[adopt]` names, among those listed: their
/// templates, resources and the importers of their exports.
async fn read_old_stacks(
    cloud: &dyn Cloud,
    topology: &Topology,
    listed: &[(AccountId, Region, Vec<StackSummary>)],
    concurrency: usize,
    unreadable: &mut Vec<Finding>,
) -> Result<Vec<OldStack>, ReadError> {
    let Some(adopt) = &topology.adopt else {
        return Ok(Vec::new());
    };
    let build = &topology.build;
    let mut found = Vec::new();
    for (account, region, stacks) in listed {
        for summary in stacks {
            let role = if *account == build.account && *region == build.region {
                (summary.name == adopt.primary).then_some(OldRole::Primary)
            } else if *account == build.account {
                (summary.name == adopt.regional).then_some(OldRole::Regional)
            } else {
                (summary.name == adopt.deploy && *region == build.region).then_some(OldRole::Deploy)
            };
            if let Some(role) = role {
                found.push((account.clone(), region.clone(), role, summary.clone()));
            }
        }
    }
    let reads = found
        .into_iter()
        .map(|(account, region, role, summary)| async move {
            let read = async {
                let cfn = cloud.cloudformation(&account, &region)?;
                let body = cfn.get_template(&summary.id).await?;
                let resources = cfn.stack_resources(&summary.id).await?;
                Ok::<_, AwsError>((cfn, body, resources))
            };
            let fail = |source| ReadError::Stack {
                stack: summary.name.clone(),
                account: account.clone(),
                region: region.clone(),
                source,
            };
            let (cfn, body, resources) = read.await.map_err(fail)?;
            let Ok(template) = serde_json::from_str::<serde_json::Value>(&body) else {
                return Ok(Err(Finding::OriginalTemplateNotJson {
                    stack: summary.name.clone(),
                    account,
                    region,
                }));
            };
            let exports: Vec<String> = template
                .get("Outputs")
                .and_then(serde_json::Value::as_object)
                .into_iter()
                .flat_map(|outputs| outputs.values())
                .filter_map(|o| {
                    o.pointer("/Export/Name")
                        .and_then(serde_json::Value::as_str)
                })
                .map(str::to_owned)
                .collect();
            let mut importers = std::collections::BTreeMap::new();
            for export in exports {
                let users = cfn.list_imports(&export).await.map_err(fail)?;
                if !users.is_empty() {
                    importers.insert(export, users);
                }
            }
            Ok::<_, ReadError>(Ok(OldStack {
                account,
                region,
                role,
                template,
                resources: resources
                    .into_iter()
                    .map(|r| OldResource {
                        logical_id: r.logical_id,
                        resource_type: r.resource_type,
                        physical_id: r.physical_id.unwrap_or_default(),
                    })
                    .collect(),
                importers,
                summary,
            }))
        });
    let mut old = Vec::new();
    for result in stream::iter(reads)
        .buffer_unordered(concurrency)
        .collect::<Vec<_>>()
        .await
    {
        match result? {
            Ok(stack) => old.push(stack),
            Err(finding) => unreadable.push(finding),
        }
    }
    old.sort_by(|a, b| {
        (&a.account, &a.region, &a.summary.name).cmp(&(&b.account, &b.region, &b.summary.name))
    });
    Ok(old)
}

/// For every stack that does not exist yet (or must be created again): are the role, bucket
/// and alias names it will create free? A role held by something else, or a bucket held by
/// another account, would make apply fail halfway; plan says so up front. A bucket of the
/// account in the stack's region, or an alias whose key is not pending deletion, left outside
/// any stack, is imported into the stack by apply (`Deployed::outside`).
async fn check_names(
    cloud: &dyn Cloud,
    topology: &Topology,
    regions: &BTreeSet<Region>,
    deployed: &mut Deployed,
    concurrency: usize,
) -> Result<(), ReadError> {
    let build = &topology.build;
    let mut specs = layout::stacks(topology);
    // Regions an earlier topology recorded: their regional stacks' names must be checked too.
    for region in regions {
        let key = StackKey::Regional {
            region: region.clone(),
        };
        if *region != build.region && !specs.iter().any(|s| s.key == key) {
            specs.push(StackSpec {
                name: key.stack_name(&topology.name),
                key,
                account: build.account.clone(),
                region: region.clone(),
            });
        }
    }
    let mut checks = Vec::new();
    for spec in &specs {
        // A stack that is there holds its names, whatever it is doing; only one that failed to
        // be created (and so is deleted and created again) or is missing needs them free.
        if deployed
            .find(spec)
            .is_some_and(|s| s.state() != StackState::NeedsReplacement)
        {
            continue;
        }
        for owned in layout::owned_names(topology, spec) {
            checks.push((spec.clone(), owned));
        }
    }
    let results = stream::iter(
        checks
            .into_iter()
            .map(|(spec, owned)| check_name(cloud, spec, owned)),
    )
    .buffer_unordered(concurrency)
    .collect::<Vec<_>>()
    .await;
    for result in results {
        let found = result?;
        deployed.findings.extend(found.finding);
        deployed.orphan_buckets.extend(found.orphan);
        deployed.outside.extend(found.outside);
    }
    deployed.orphan_buckets.sort();
    deployed.outside.sort();
    Ok(())
}

/// What one name check found.
#[derive(Default)]
struct NameCheck {
    finding: Option<Finding>,
    orphan: Option<OrphanBucket>,
    outside: Option<Outside>,
}

/// The stack of the spec's account and region that holds a resource, if any.
async fn holding_stack(
    cloud: &dyn Cloud,
    spec: &StackSpec,
    physical_id: &str,
) -> Result<Option<String>, AwsError> {
    cloud
        .cloudformation(&spec.account, &spec.region)?
        .holding_stack(physical_id)
        .await
}

/// A resource found outside any stack is imported; one a stack holds (not plinth's) is left to
/// the create, whose failure names it.
fn unless_held(holder: Option<String>, found: Outside) -> NameCheck {
    NameCheck {
        outside: holder.is_none().then_some(found),
        ..NameCheck::default()
    }
}

async fn check_name(
    cloud: &dyn Cloud,
    spec: StackSpec,
    owned: OwnedName,
) -> Result<NameCheck, ReadError> {
    let account = spec.account.clone();
    let preflight = |what: String| {
        let account = account.clone();
        move |source| ReadError::Preflight {
            what,
            account,
            source,
        }
    };
    let outside = |found: Found| Outside {
        account: spec.account.clone(),
        region: spec.region.clone(),
        stack: spec.name.clone(),
        found,
    };
    match owned {
        OwnedName::Role(role) => {
            let live = async { cloud.iam(&spec.account)?.read_role(&role).await }
                .await
                .map_err(preflight(format!("role {role}")))?;
            let Some(live) = live else {
                return Ok(NameCheck::default());
            };
            // Held by a stack (another foundation's, a StackSet's instance): not plinth's to take.
            let holder = holding_stack(cloud, &spec, &role)
                .await
                .map_err(preflight(format!("role {role}")))?;
            Ok(match holder {
                Some(holder) => NameCheck {
                    finding: Some(Finding::RoleConflict {
                        account: spec.account.clone(),
                        role,
                        stack: spec.name.clone(),
                        holder,
                    }),
                    ..NameCheck::default()
                },
                None => NameCheck {
                    outside: Some(outside(Found::Role {
                        name: role,
                        trust: live.trust,
                    })),
                    ..NameCheck::default()
                },
            })
        }
        OwnedName::Function(name) => {
            let what = || format!("function {name}");
            let live = async {
                cloud
                    .lambda(&spec.account, &spec.region)?
                    .read_function(&name)
                    .await
            }
            .await
            .map_err(preflight(what()))?;
            let Some((function, _)) = live else {
                return Ok(NameCheck::default());
            };
            let holder = holding_stack(cloud, &spec, &name)
                .await
                .map_err(preflight(what()))?;
            Ok(unless_held(
                holder,
                outside(Found::Function {
                    name,
                    role: function.role.unwrap_or_default(),
                    runtime: function.runtime,
                    handler: function.handler,
                }),
            ))
        }
        OwnedName::LogGroup(name) => {
            let what = || format!("log group {name}");
            let exists = async {
                cloud
                    .logs(&spec.account, &spec.region)?
                    .read_log_group(&name)
                    .await
            }
            .await
            .map_err(preflight(what()))?
            .is_some();
            if !exists {
                return Ok(NameCheck::default());
            }
            let holder = holding_stack(cloud, &spec, &name)
                .await
                .map_err(preflight(what()))?;
            Ok(unless_held(holder, outside(Found::LogGroup { name })))
        }
        OwnedName::Bucket(bucket) => {
            let s3 = cloud
                .s3(&spec.account)
                .map_err(preflight(format!("bucket {bucket}")))?;
            let owner = s3
                .bucket_owner(&bucket)
                .await
                .map_err(preflight(format!("bucket {bucket}")))?;
            match owner {
                BucketOwner::Nobody => Ok(NameCheck::default()),
                BucketOwner::Someone => Ok(NameCheck {
                    finding: Some(Finding::BucketTaken {
                        bucket,
                        stack: spec.name.clone(),
                    }),
                    ..NameCheck::default()
                }),
                BucketOwner::ThisAccount => {
                    let region = s3
                        .bucket_region(&bucket)
                        .await
                        .map_err(preflight(format!("bucket {bucket}")))?;
                    let orphan = Some(OrphanBucket {
                        account: spec.account.clone(),
                        region: region.clone(),
                        bucket: bucket.clone(),
                    });
                    if region == spec.region {
                        return Ok(NameCheck {
                            orphan,
                            outside: Some(outside(Found::Bucket { name: bucket })),
                            ..NameCheck::default()
                        });
                    }
                    Ok(NameCheck {
                        finding: Some(Finding::BucketInOtherRegion {
                            bucket,
                            account: spec.account.clone(),
                            region,
                            stack: spec.name.clone(),
                            stack_region: spec.region.clone(),
                        }),
                        orphan,
                        ..NameCheck::default()
                    })
                }
            }
        }
        OwnedName::Alias(alias) => {
            let kms = cloud
                .kms(&spec.account, &spec.region)
                .map_err(preflight(format!("alias {alias}")))?;
            let Some(key_id) = kms
                .alias_target(&alias)
                .await
                .map_err(preflight(format!("alias {alias}")))?
            else {
                return Ok(NameCheck::default());
            };
            let deletion = kms
                .key_deletion(&key_id)
                .await
                .map_err(preflight(format!("key {key_id}")))?;
            Ok(match deletion {
                KeyDeletion::Active => NameCheck {
                    outside: Some(outside(Found::Alias {
                        name: alias,
                        key_id,
                    })),
                    ..NameCheck::default()
                },
                KeyDeletion::PendingUntil(until) => NameCheck {
                    finding: Some(Finding::KeyPendingDeletion {
                        alias,
                        key_id,
                        account: spec.account.clone(),
                        region: spec.region.clone(),
                        until,
                        stack: spec.name.clone(),
                    }),
                    ..NameCheck::default()
                },
                // KMS deletes a key's aliases with it: nothing is left to import or to clash.
                KeyDeletion::Gone => NameCheck::default(),
            })
        }
    }
}

/// Reads the live settings of the resources of every settled stack the topology keeps, for
/// drift: its resources (`ListStackResources`), then each bucket, key, alias and role from its
/// own service. Stacks in progress, failed or about to be deleted are left alone: apply acts on
/// them as stacks first.
pub(crate) async fn read_live(
    cloud: &dyn Cloud,
    topology: &Topology,
    deployed: &mut Deployed,
    concurrency: usize,
) -> Result<(), ReadError> {
    let wanted: BTreeSet<(AccountId, Region, String)> = layout::stacks(topology)
        .into_iter()
        .map(|s| (s.account, s.region, s.name))
        .collect();
    let reads = deployed
        .stacks
        .iter()
        .enumerate()
        .filter(|(_, s)| {
            // A StackSet's resources live in its instances' stacks, out of plinth's reach: its
            // drift is what the set's own drift detection found, shown with its instances.
            s.summary.status.is_settled()
                && s.instances.is_none()
                && s.state() == StackState::Ready
                && wanted.contains(&(
                    s.spec.account.clone(),
                    s.spec.region.clone(),
                    s.spec.name.clone(),
                ))
        })
        .map(|(index, stack)| async move {
            let live = live_stack(cloud, &stack.spec, &stack.summary.id)
                .await
                .map_err(|source| ReadError::Stack {
                    stack: stack.spec.name.clone(),
                    account: stack.spec.account.clone(),
                    region: stack.spec.region.clone(),
                    source,
                })?;
            Ok::<_, ReadError>((index, live))
        });
    let results: Vec<_> = stream::iter(reads)
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    for result in results {
        let (index, live) = result?;
        deployed.stacks[index].live = Some(live);
    }
    Ok(())
}

async fn live_stack(
    cloud: &dyn Cloud,
    spec: &StackSpec,
    stack_id: &str,
) -> Result<LiveStack, AwsError> {
    let resources = cloud
        .cloudformation(&spec.account, &spec.region)?
        .stack_resources(stack_id)
        .await?;
    let mut live = LiveStack::default();
    for resource in resources {
        let Some(physical_id) = resource.physical_id else {
            continue;
        };
        let config = match resource.resource_type.as_str() {
            "AWS::S3::Bucket" => cloud
                .s3(&spec.account)?
                .read_bucket(&physical_id, &spec.region)
                .await?
                .map(LiveConfig::Bucket),
            "AWS::KMS::Key" => cloud
                .kms(&spec.account, &spec.region)?
                .read_key(&physical_id)
                .await?
                .map(LiveConfig::Key),
            "AWS::KMS::Alias" => Some(
                cloud
                    .kms(&spec.account, &spec.region)?
                    .alias_target(&physical_id)
                    .await?
                    .map_or(LiveConfig::Gone, |target| LiveConfig::Alias {
                        target_key_id: Some(target),
                    }),
            ),
            "AWS::IAM::Role" => Some(
                cloud
                    .iam(&spec.account)?
                    .read_role(&physical_id)
                    .await?
                    .map_or(LiveConfig::Gone, LiveConfig::Role),
            ),
            "AWS::Lambda::Function" => Some(
                cloud
                    .lambda(&spec.account, &spec.region)?
                    .read_function(&physical_id)
                    .await?
                    .map_or(LiveConfig::Gone, |(configuration, code_sha256)| {
                        LiveConfig::Function {
                            configuration,
                            code_sha256,
                        }
                    }),
            ),
            "AWS::Lambda::Version" => cloud
                .lambda(&spec.account, &spec.region)?
                .read_function(&physical_id)
                .await?
                .map(|(_, code_sha256)| LiveConfig::Version { code_sha256 }),
            "AWS::Logs::LogGroup" => Some(
                cloud
                    .logs(&spec.account, &spec.region)?
                    .read_log_group(&physical_id)
                    .await?
                    .map_or(LiveConfig::Gone, LiveConfig::LogGroup),
            ),
            "AWS::CodePipeline::Pipeline" => Some(
                cloud
                    .codepipeline(&spec.account, &spec.region)?
                    .read_pipeline(&physical_id)
                    .await?
                    .map_or(LiveConfig::Gone, LiveConfig::Pipeline),
            ),
            _ => None,
        };
        live.resources.push(LiveResource {
            logical_id: resource.logical_id,
            resource_type: resource.resource_type,
            physical_id,
            config: config.unwrap_or(LiveConfig::NotRead),
        });
    }
    Ok(live)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::StackEvent;
    use crate::topology::OrganizationalUnitId;

    fn event(logical_id: &str, status: &str, reason: Option<&str>) -> StackEvent {
        StackEvent {
            timestamp: String::new(),
            logical_id: logical_id.into(),
            resource_type: String::new(),
            status: status.into(),
            reason: reason.map(str::to_owned),
        }
    }

    #[test]
    fn a_failed_stack_is_explained_by_its_failed_resource_of_the_latest_operation() {
        // newest first: the rollback, the resource that failed, then the update's start, then
        // an older operation's failure that must not be read
        let events = vec![
            event("acme-regional", "UPDATE_ROLLBACK_COMPLETE", None),
            event(
                "acme-regional",
                "UPDATE_ROLLBACK_IN_PROGRESS",
                Some("The following resource(s) failed to update: [Policy]."),
            ),
            event("acme-regional", "UPDATE_FAILED", Some("stack-level")),
            event(
                "Policy",
                "UPDATE_FAILED",
                Some("Invalid principal in policy"),
            ),
            event(
                "acme-regional",
                "UPDATE_IN_PROGRESS",
                Some("User Initiated"),
            ),
            event("Old", "CREATE_FAILED", Some("an older failure")),
        ];
        assert_eq!(
            failure_reason(events.clone(), "acme-regional").as_deref(),
            Some("Invalid principal in policy")
        );
        // without a resource's reason, the stack's own
        let own: Vec<StackEvent> = events
            .into_iter()
            .filter(|e| e.logical_id != "Policy")
            .collect();
        assert_eq!(
            failure_reason(own, "acme-regional").as_deref(),
            Some("stack-level")
        );
        assert_eq!(failure_reason(Vec::new(), "acme-regional"), None);
    }

    #[tokio::test]
    async fn a_unit_is_read_with_every_unit_below_it_and_an_unknown_unit_is_an_error() {
        let text = include_str!("../../topology.example.toml").replacen(
            "# Optional: the pipelines",
            "[organization]\naccount = \"999999999999\"\nprofile = \"management\"\n\n\
             [[targets]]\nname = \"workloads\"\norganizational_unit = \"ou-ab12-aaaaaaaa\"\n\
             regions = [\"us-east-1\"]\nrole_arn = \"arn:aws:iam::{account}:role/deployer\"\n\n\
             # Optional: the pipelines",
            1,
        );
        let topology = crate::topology::parse(&text).unwrap().topology;
        let cloud = crate::aws::fake::FakeCloud::new(std::time::Duration::ZERO);
        let org = &cloud.organization;
        org.add_unit("r-ab12", "ou-ab12-aaaaaaaa");
        org.add_unit("ou-ab12-aaaaaaaa", "ou-ab12-bbbbbbbb");
        org.add_unit("ou-ab12-bbbbbbbb", "ou-ab12-cccccccc");
        org.add_unit("r-ab12", "ou-ab12-dddddddd");
        org.add_account("ou-ab12-aaaaaaaa", "555555555555");
        org.add_account("ou-ab12-cccccccc", "666666666666");
        org.add_account("ou-ab12-dddddddd", "777777777777");
        org.add_account("r-ab12", "888888888888");
        let membership = read_membership(&cloud, &topology, 4).await.unwrap();
        let accounts: Vec<&str> = membership
            .values()
            .flatten()
            .map(AccountId::as_str)
            .collect();
        assert_eq!(accounts, ["555555555555", "666666666666"]);

        let unknown = topology
            .clone()
            .units
            .into_iter()
            .map(|mut u| {
                u.unit = OrganizationalUnitId::parse("ou-ab12-eeeeeeee").unwrap();
                u
            })
            .collect();
        let topology = Topology {
            units: unknown,
            ..topology
        };
        let error = read_membership(&cloud, &topology, 4).await.unwrap_err();
        assert!(matches!(error, ReadError::Organization { .. }), "{error}");
        assert!(error.hint().unwrap().contains("organizational_unit"));
    }

    #[tokio::test]
    async fn stack_sets_read_the_management_account_of_the_organization_the_topology_names() {
        let text = include_str!("../../topology.example.toml")
            .replacen(
                "# organization_id = \"o-a1b2c3d4e5\"",
                "organization_id = \"o-a1b2c3d4e5\"",
                1,
            )
            .replacen(
                "# Optional: the pipelines",
                "[organization]\naccount = \"999999999999\"\nprofile = \"management\"\n\
                 deploy_roles = \"stackset\"\n\n\
                 [[targets]]\nname = \"workloads\"\norganizational_unit = \"ou-ab12-aaaaaaaa\"\n\
                 regions = [\"us-east-1\"]\n\n# Optional: the pipelines",
                1,
            );
        let topology = crate::topology::parse(&text).unwrap().topology;
        let cloud = crate::aws::fake::FakeCloud::new(std::time::Duration::ZERO);

        let error = read_management(&cloud, &topology).await.unwrap_err();
        assert!(
            matches!(error, ReadError::OrganizationDescription { .. }),
            "{error}"
        );
        assert!(error.hint().unwrap().contains("DescribeOrganization"));

        cloud
            .organization
            .describe_as("o-zzzzzzzzzz", "999999999999");
        let error = read_management(&cloud, &topology).await.unwrap_err();
        assert_eq!(
            error.to_string(),
            "`organization_id` is o-a1b2c3d4e5, but account 999999999999 of `[organization]` belongs to organization o-zzzzzzzzzz; nothing was read or changed"
        );

        cloud
            .organization
            .describe_as("o-a1b2c3d4e5", "999999999999");
        let management = read_management(&cloud, &topology).await.unwrap();
        assert_eq!(
            management.as_ref().map(AccountId::as_str),
            Some("999999999999")
        );

        // With deploy stacks of plinth's own, nothing is asked.
        let stacks = crate::topology::parse(&text.replace(
            "deploy_roles = \"stackset\"\n",
            "[defaults]\nrole_arn = \"arn:aws:iam::{account}:role/deployer\"\n",
        ))
        .unwrap()
        .topology;
        let calls = cloud.calls();
        assert_eq!(read_management(&cloud, &stacks).await.unwrap(), None);
        assert_eq!(cloud.calls(), calls);
    }
}
