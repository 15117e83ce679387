//! AWS's limits on what a topology implies: the length of every derived name, the size of
//! each pipeline, one set of credentials per account, and the forms of IAM ARNs.

use std::collections::BTreeMap;

use super::access::key_path;
use super::{Reader, Span};
use crate::layout::{BucketKind, StackKey};
use crate::topology::{AccountId, Build, Credentials, Diagnostic, Pipeline, Target, Topology};

pub(super) const S3_BUCKET_MAX: usize = 63;
pub(super) const IAM_ROLE_MAX: usize = 64;
pub(super) const STACK_NAME_MAX: usize = 128;
pub(super) const LAMBDA_NAME_MAX: usize = 64;

impl Reader {
    /// CodePipeline takes at most 50 stages in a pipeline and 50 actions in a stage.
    pub(super) fn pipeline_limits(
        &mut self,
        topology: &Topology,
        pipelines: &[(Pipeline, String)],
    ) {
        const LIMIT: usize = 50;
        for (pipeline, path) in pipelines {
            let reach = crate::layout::pipeline_reach(topology, pipeline);
            let stages = 1 + usize::from(reach.uses_sync) + reach.targets.len();
            if stages > LIMIT {
                self.error(
                    Diagnostic::new(
                        None,
                        key_path(path, "targets"),
                        format!(
                            "the pipeline would have {stages} stages; CodePipeline allows {LIMIT}"
                        ),
                    )
                    .hint("split the targets over several pipelines"),
                );
            }
            if pipeline.sources.len() > LIMIT {
                self.error(Diagnostic::new(
                    None,
                    key_path(path, "sources"),
                    format!("at most {LIMIT} sources fit the source stage"),
                ));
            }
            for target in reach.targets {
                let actions = 2 * target.regions.len() + usize::from(target.approval);
                if actions > LIMIT {
                    self.error(
                        Diagnostic::new(
                            None,
                            key_path(path, "targets"),
                            format!("the stage of target `{}` would have {actions} actions; CodePipeline allows {LIMIT}", target.name),
                        )
                        .hint("deploy to fewer regions from one target, or split the target"),
                    );
                }
            }
        }
    }

    /// One account is reached with one set of credentials, wherever it appears.
    pub(super) fn same_credentials_per_account(
        &mut self,
        build: &Build,
        targets: &[(Target, String, Span)],
    ) {
        let mut first: BTreeMap<&AccountId, (&Credentials, String)> = BTreeMap::new();
        first.insert(&build.account, (&build.credentials, "build".to_owned()));
        for (target, path, span) in targets {
            match first.get(&target.account) {
                Some((credentials, where_)) if *credentials != &target.credentials => {
                    self.error(
                        Diagnostic::new(
                            Some(span.clone()),
                            path.clone(),
                            format!(
                                "account {} is reached with {} here but with {} in `{where_}`",
                                target.account, target.credentials, credentials
                            ),
                        )
                        .hint("one account must be reached with one set of credentials: use the same `profile` or `role_arn` in both places"),
                    );
                }
                Some(_) => {}
                None => {
                    first.insert(&target.account, (&target.credentials, path.clone()));
                }
            }
        }
    }

    /// Every name plinth derives must fit AWS's limits; the longest region decides.
    pub(super) fn derived_names(
        &mut self,
        topology: &Topology,
        name_span: &Span,
        pipelines: &[(Pipeline, String)],
    ) {
        let check = |reader: &mut Self,
                     derived: String,
                     limit: usize,
                     what: &str,
                     span: &Span,
                     key: &str| {
            if derived.len() > limit {
                reader.error(
                    Diagnostic::new(
                        Some(span.clone()),
                        key,
                        format!("the {what} `{derived}` would be {} characters long; AWS allows {limit}", derived.len()),
                    )
                    .hint("shorten the foundation's `name` (or the name at this key)"),
                );
            }
        };
        let account = &topology.build.account;
        let build_bucket = topology.bucket_name(BucketKind::Build, account, &topology.build.region);
        check(
            self,
            build_bucket,
            S3_BUCKET_MAX,
            "bucket name",
            name_span,
            "name",
        );
        for region in topology.regions() {
            let bucket = topology.bucket_name(BucketKind::Artifacts, account, &region);
            check(
                self,
                bucket,
                S3_BUCKET_MAX,
                "bucket name",
                name_span,
                "name",
            );
        }
        check(
            self,
            topology.pipeline_role_name(),
            IAM_ROLE_MAX,
            "role name",
            name_span,
            "name",
        );
        check(
            self,
            topology.cloudformation_role_name(),
            IAM_ROLE_MAX,
            "role name",
            name_span,
            "name",
        );
        check(
            self,
            topology.sync_function_name(),
            LAMBDA_NAME_MAX,
            "function name",
            name_span,
            "name",
        );
        for (pipeline, path) in pipelines {
            let key = key_path(path, "name");
            check(
                self,
                topology.pipeline_service_role_name(&pipeline.name),
                IAM_ROLE_MAX,
                "pipeline role name",
                name_span,
                &key,
            );
            check(
                self,
                StackKey::Pipeline {
                    pipeline: pipeline.name.clone(),
                }
                .stack_name(&topology.name),
                STACK_NAME_MAX,
                "stack name",
                name_span,
                &key,
            );
        }
    }
}

/// Splits an IAM ARN `arn:<partition>:iam::<owner>:<kind>/<name>` into its owner, when it is
/// one of `kind` with a non-empty name.
pub(super) fn iam_arn_owner<'a>(arn: &'a str, kind: &str) -> Option<&'a str> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let valid = parts.len() == 6
        && parts[0] == "arn"
        && matches!(parts[1], "aws" | "aws-cn" | "aws-us-gov")
        && parts[2] == "iam"
        && parts[3].is_empty()
        && parts[5]
            .strip_prefix(kind)
            .and_then(|rest| rest.strip_prefix('/'))
            .is_some_and(|name| !name.is_empty() && !name.ends_with('/'));
    // Lazily: the index exists only when the ARN has all six parts.
    valid.then(|| parts[4])
}

/// Returns the account of an IAM role ARN: `arn:<partition>:iam::<account>:role/<path/name>`.
pub(super) fn parse_role_arn(arn: &str) -> Result<String, String> {
    match iam_arn_owner(arn, "role") {
        Some(account) if AccountId::parse(account).is_ok() => Ok(account.to_owned()),
        _ => Err(format!("`{arn}` is not an IAM role ARN")),
    }
}

/// Accepts AWS managed (`iam::aws:policy/…`) and customer managed policy ARNs.
pub(super) fn parse_policy_arn(arn: &str) -> Result<(), String> {
    match iam_arn_owner(arn, "policy") {
        Some(owner) if owner == "aws" || AccountId::parse(owner).is_ok() => Ok(()),
        _ => Err(format!("`{arn}` is not an IAM managed policy ARN")),
    }
}
