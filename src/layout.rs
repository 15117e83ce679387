//! Where each piece of a foundation lives and what it is called: the stacks a topology implies
//! (their keys, names and places), every name plinth derives (stacks, buckets, roles, the key
//! alias, the sync function, the pipelines), the reverse (which stack a deployed name is), what
//! each stack creates under a fixed name, and which accounts and regions a pipeline reaches.
//!
//! Each rule is written once, here; validation, the graph, the templates and the AWS snapshot
//! ask this module. Pure: no I/O.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::topology::{
    AccountId, ArtifactSync, FoundationName, Pipeline, Region, Target, Topology,
};

/// The tag that names the foundation a stack belongs to.
pub(crate) const FOUNDATION_TAG: &str = "plinth:foundation";
/// The tag that names a stack's kind.
pub(crate) const STACK_TAG: &str = "plinth:stack";

/// The four kinds of stack plinth manages, and the StackSet that stands for the deploy stacks of
/// a target by organizational unit; the value of the `plinth:stack` tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum StackKind {
    /// The build account's stack in the build region: build bucket, artifact bucket and key, and
    /// the sync function.
    Primary,
    /// The build account's stack in each other region: its artifact bucket and key.
    Regional,
    /// A target account's deploy roles.
    Deploy,
    /// A pipeline of the build account.
    Pipeline,
    /// The StackSet that holds the deploy roles of a target by organizational unit.
    StackSet,
}

impl StackKind {
    /// The kind as the `plinth:stack` tag writes it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            StackKind::Primary => "primary",
            StackKind::Regional => "regional",
            StackKind::Deploy => "deploy",
            StackKind::Pipeline => "pipeline",
            StackKind::StackSet => "stack_set",
        }
    }

    /// The kind a `plinth:stack` tag names; `None` for a value plinth does not write.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        [
            StackKind::Primary,
            StackKind::Regional,
            StackKind::Deploy,
            StackKind::Pipeline,
            StackKind::StackSet,
        ]
        .into_iter()
        .find(|k| k.as_str() == text)
    }
}

/// Identifies one stack of a foundation.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum StackKey {
    /// The primary stack (one per foundation).
    Primary,
    /// The regional stack of a region other than the build region.
    Regional {
        /// Its region.
        region: Region,
    },
    /// The deploy stack of a target account.
    Deploy {
        /// Its account.
        account: AccountId,
    },
    /// The stack of a pipeline.
    Pipeline {
        /// The pipeline's name in the topology.
        pipeline: String,
    },
    /// The service-managed StackSet (in the organization account) that holds the deploy stack of
    /// every account of a target by organizational unit.
    StackSet {
        /// The target's name.
        target: String,
    },
}

impl StackKey {
    /// The stack's name, the same whatever the topology's accounts and regions.
    pub(crate) fn stack_name(&self, foundation: &FoundationName) -> String {
        match self {
            StackKey::Pipeline { pipeline } => format!("{foundation}-pipeline-{pipeline}"),
            StackKey::StackSet { target } => format!("{foundation}-deploy-{target}"),
            other => format!("{foundation}-{}", other.kind().as_str()),
        }
    }

    /// The key of a stack found in `account` and `region` with the given `plinth:stack` tag
    /// and name: the reverse of [`StackKey::stack_name`]. `None` when they do not fit together.
    pub(crate) fn recognise(
        foundation: &FoundationName,
        kind: StackKind,
        name: &str,
        account: &AccountId,
        region: &Region,
    ) -> Option<Self> {
        let key = match kind {
            StackKind::Primary => StackKey::Primary,
            StackKind::Regional => StackKey::Regional {
                region: region.clone(),
            },
            StackKind::Deploy => StackKey::Deploy {
                account: account.clone(),
            },
            StackKind::Pipeline => StackKey::Pipeline {
                pipeline: name
                    .strip_prefix(&format!("{foundation}-pipeline-"))?
                    .to_owned(),
            },
            StackKind::StackSet => StackKey::StackSet {
                target: name
                    .strip_prefix(&format!("{foundation}-deploy-"))?
                    .to_owned(),
            },
        };
        (key.stack_name(foundation) == name).then_some(key)
    }

    /// The stack without the foundation's name: `primary`, `regional (us-west-2)`,
    /// `deploy (222222222222)`, `pipeline web`.
    pub(crate) fn describe(&self) -> String {
        match self {
            StackKey::Primary => "primary".into(),
            StackKey::Regional { region } => format!("regional ({region})"),
            StackKey::Deploy { account } => format!("deploy ({account})"),
            StackKey::Pipeline { pipeline } => format!("pipeline {pipeline}"),
            StackKey::StackSet { target } => format!("deploy StackSet of {target}"),
        }
    }

    /// Whether `name` is the name of one of this foundation's stacks, in any account or region.
    pub(crate) fn is_foundation_stack(foundation: &FoundationName, name: &str) -> bool {
        // Names do not depend on the account or region: any valid ones will do.
        let account = AccountId::parse("000000000000").expect("a valid account id");
        let region = Region::parse("us-east-1").expect("a valid region");
        [
            StackKind::Primary,
            StackKind::Regional,
            StackKind::Deploy,
            StackKind::Pipeline,
        ]
        .into_iter()
        .any(|kind| StackKey::recognise(foundation, kind, name, &account, &region).is_some())
    }

    /// The stack's kind.
    pub(crate) fn kind(&self) -> StackKind {
        match self {
            StackKey::Primary => StackKind::Primary,
            StackKey::Regional { .. } => StackKind::Regional,
            StackKey::Deploy { .. } => StackKind::Deploy,
            StackKey::Pipeline { .. } => StackKind::Pipeline,
            StackKey::StackSet { .. } => StackKind::StackSet,
        }
    }
}

/// A stack with its name and place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StackSpec {
    /// Which stack of the foundation it is.
    pub(crate) key: StackKey,
    /// Its name, as CloudFormation knows it.
    pub(crate) name: String,
    /// The account it lives in.
    pub(crate) account: AccountId,
    /// The region it lives in.
    pub(crate) region: Region,
}

impl fmt::Display for StackSpec {
    /// The stack's label wherever plinth names it to a person: `name (account region)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({} {})", self.name, self.account, self.region)
    }
}

impl StackSpec {
    /// The label of one pass of the stack: `name (account region) pass N`.
    pub(crate) fn pass_label(&self, pass: u32) -> String {
        format!("{self} pass {pass}")
    }
}

/// Every stack the topology implies, in a stable order.
pub(crate) fn stacks(topology: &Topology) -> Vec<StackSpec> {
    let build = &topology.build;
    let spec = |key: StackKey, account: &AccountId, region: &Region| StackSpec {
        name: key.stack_name(&topology.name),
        key,
        account: account.clone(),
        region: region.clone(),
    };
    let mut out = vec![spec(StackKey::Primary, &build.account, &build.region)];
    for region in topology.regional_regions() {
        out.push(spec(
            StackKey::Regional {
                region: region.clone(),
            },
            &build.account,
            &region,
        ));
    }
    for account in topology.target_accounts() {
        out.push(spec(
            StackKey::Deploy {
                account: account.clone(),
            },
            &account,
            &build.region,
        ));
    }
    if let Some(organization) = topology.stack_set_organization() {
        for unit in &topology.units {
            out.push(spec(
                StackKey::StackSet {
                    target: unit.name.clone(),
                },
                &organization.account,
                &build.region,
            ));
        }
    }
    for pipeline in &topology.pipelines {
        out.push(spec(
            StackKey::Pipeline {
                pipeline: pipeline.name.clone(),
            },
            &build.account,
            &build.region,
        ));
    }
    out
}

/// The key whose stack holds a region's artifact key and bucket.
pub(crate) fn artifact_stack(topology: &Topology, region: &Region) -> StackKey {
    if *region == topology.build.region {
        StackKey::Primary
    } else {
        StackKey::Regional {
            region: region.clone(),
        }
    }
}

/// The stack-level tags plinth puts on every stack it owns.
pub(crate) fn tags(topology: &Topology, key: &StackKey) -> BTreeMap<String, String> {
    BTreeMap::from([
        (FOUNDATION_TAG.to_owned(), topology.name.to_string()),
        (STACK_TAG.to_owned(), key.kind().as_str().to_owned()),
    ])
}

/// The kinds of bucket plinth creates; part of the bucket name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum BucketKind {
    /// The bucket of pipeline sources, in the build region.
    Build,
    /// A region's artifact bucket.
    Artifacts,
}

impl BucketKind {
    /// The kind as the bucket's name writes it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            BucketKind::Build => "build",
            BucketKind::Artifacts => "artifacts",
        }
    }
}

/// Every name plinth derives from the topology. Deterministic, so that a plan can show names
/// before they exist and destroy can find what an interrupted run left behind.
impl Topology {
    /// A bucket's name: unique to the foundation, the kind, the account and the region.
    pub(crate) fn bucket_name(
        &self,
        kind: BucketKind,
        account: &AccountId,
        region: &Region,
    ) -> String {
        if let Some(kept) = self.bucket_names.get(&(kind, region.clone())) {
            return kept.clone();
        }
        self.derived_bucket_name(kind, account, region)
    }

    /// The name plinth gives a bucket it creates.
    pub(crate) fn derived_bucket_name(
        &self,
        kind: BucketKind,
        account: &AccountId,
        region: &Region,
    ) -> String {
        format!("{}-{}-{account}-{region}", self.name, kind.as_str())
    }

    /// The artifact bucket of a region (in the build account).
    pub(crate) fn artifact_bucket(&self, region: &Region) -> String {
        self.bucket_name(BucketKind::Artifacts, &self.build.account, region)
    }

    /// The build bucket, where pipeline sources and large templates go.
    pub(crate) fn build_bucket(&self) -> String {
        self.bucket_name(BucketKind::Build, &self.build.account, &self.build.region)
    }

    /// The alias of every region's artifact key.
    pub(crate) fn key_alias(&self) -> String {
        format!("alias/{}-artifacts", self.name)
    }

    /// The deploy role a pipeline assumes in each target account.
    pub(crate) fn pipeline_role_name(&self) -> String {
        format!("{}-codepipeline", self.name)
    }

    /// The role CloudFormation runs as in each target account.
    pub(crate) fn cloudformation_role_name(&self) -> String {
        format!("{}-cloudformation", self.name)
    }

    /// The function that copies artifacts to the other regions.
    pub(crate) fn sync_function_name(&self) -> String {
        format!("{}-artifact-sync", self.name)
    }

    /// The IAM role of a pipeline (build account). `"*"` gives the pattern of them all.
    pub(crate) fn pipeline_service_role_name(&self, pipeline: &str) -> String {
        format!("{}-pipeline-{pipeline}", self.name)
    }

    /// The CodePipeline pipeline's own name.
    pub(crate) fn codepipeline_name(&self, pipeline: &str) -> String {
        format!("{}-{pipeline}", self.name)
    }
}

/// Where a template too large for `TemplateBody` is uploaded: the build bucket, under a prefix the
/// foundation owns, one object per stack and pass.
pub(crate) fn template_object_key(spec: &StackSpec, pass: u32) -> String {
    format!(
        "plinth/templates/{}-{}-{}-pass{pass}.json",
        spec.name, spec.account, spec.region
    )
}

/// The object of the build bucket that records which accounts the StackSets served when apply
/// last ran.
pub(crate) const STACK_SET_RECORD: &str = "plinth/stack-set-accounts.json";

/// The HTTPS URL of an object, as CloudFormation's `TemplateURL` takes it.
pub(crate) fn object_url(bucket: &str, region: &Region, key: &str) -> String {
    let domain = if region.as_str().starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    format!("https://{bucket}.s3.{region}.{domain}/{key}")
}

/// A resource a stack creates under a fixed name, which must be free before the stack is created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OwnedName {
    /// An IAM role of the stack's account.
    Role(String),
    /// A bucket (names are global).
    Bucket(String),
    /// A KMS alias of the stack's account and region, and so the key it points at.
    Alias(String),
    /// A log group of the stack's account and region.
    LogGroup(String),
    /// A Lambda function of the stack's account and region.
    Function(String),
}

/// The fixed names a stack creates.
pub(crate) fn owned_names(topology: &Topology, spec: &StackSpec) -> Vec<OwnedName> {
    match &spec.key {
        StackKey::Deploy { .. } => vec![
            OwnedName::Role(topology.pipeline_role_name()),
            OwnedName::Role(topology.cloudformation_role_name()),
        ],
        StackKey::Primary => vec![
            OwnedName::Alias(topology.key_alias()),
            OwnedName::LogGroup(format!("/aws/lambda/{}", topology.sync_function_name())),
            OwnedName::Function(topology.sync_function_name()),
            OwnedName::Bucket(topology.bucket_name(BucketKind::Build, &spec.account, &spec.region)),
            OwnedName::Bucket(topology.bucket_name(
                BucketKind::Artifacts,
                &spec.account,
                &spec.region,
            )),
        ],
        StackKey::Regional { .. } => vec![
            OwnedName::Alias(topology.key_alias()),
            OwnedName::Bucket(topology.bucket_name(
                BucketKind::Artifacts,
                &spec.account,
                &spec.region,
            )),
        ],
        StackKey::Pipeline { .. } | StackKey::StackSet { .. } => Vec::new(),
    }
}

/// The stack that holds an account's deploy roles: its deploy stack, or the StackSet of the
/// target by organizational unit that serves it.
pub(crate) fn deploy_roles_holder(topology: &Topology, account: &AccountId) -> StackKey {
    match topology.stack_set_of(account) {
        Some(unit) => StackKey::StackSet {
            target: unit.name.clone(),
        },
        None => StackKey::Deploy {
            account: account.clone(),
        },
    }
}

/// What one pipeline reaches: its targets, their accounts, and its regions.
#[derive(Debug, Clone)]
pub(crate) struct PipelineReach<'t> {
    /// The pipeline's targets, in stage order.
    pub(crate) targets: Vec<&'t Target>,
    /// The target accounts, in order of first appearance.
    pub(crate) accounts: Vec<AccountId>,
    /// The build region first, then the target regions in order of first appearance.
    pub(crate) regions: Vec<Region>,
    /// Whether the foundation's sync function copies its artifacts to the other regions.
    pub(crate) uses_sync: bool,
}

impl PipelineReach<'_> {}

/// The targets, accounts and regions of a pipeline; unknown target names are passed over
/// (validation reports them).
pub(crate) fn pipeline_reach<'t>(topology: &'t Topology, pipeline: &Pipeline) -> PipelineReach<'t> {
    let targets: Vec<&Target> = pipeline
        .targets
        .iter()
        .filter_map(|name| topology.target(name))
        .collect();
    let mut seen = BTreeSet::new();
    let accounts = targets
        .iter()
        .filter(|t| seen.insert(&t.account))
        .map(|t| t.account.clone())
        .collect();
    let mut regions = vec![topology.build.region.clone()];
    for region in targets.iter().flat_map(|t| &t.regions) {
        if !regions.contains(region) {
            regions.push(region.clone());
        }
    }
    let uses_sync = pipeline.artifact_sync == ArtifactSync::Lambda && regions.len() > 1;
    PipelineReach {
        targets,
        accounts,
        regions,
        uses_sync,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn foundation() -> FoundationName {
        FoundationName::parse("acme").unwrap()
    }

    #[test]
    fn a_stack_name_is_recognised_as_the_key_it_came_from() {
        let account = AccountId::parse("222222222222").unwrap();
        let region = Region::parse("eu-west-1").unwrap();
        for key in [
            StackKey::Primary,
            StackKey::Regional {
                region: region.clone(),
            },
            StackKey::Deploy {
                account: account.clone(),
            },
            StackKey::Pipeline {
                pipeline: "web-app".into(),
            },
        ] {
            let name = key.stack_name(&foundation());
            assert_eq!(
                StackKey::recognise(&foundation(), key.kind(), &name, &account, &region),
                Some(key)
            );
        }
    }

    #[test]
    fn a_name_that_does_not_fit_its_kind_is_not_recognised() {
        let account = AccountId::parse("222222222222").unwrap();
        let region = Region::parse("eu-west-1").unwrap();
        for (kind, name) in [
            (StackKind::Pipeline, "acme-deploy"),
            (StackKind::Pipeline, "other-pipeline-web"),
            (StackKind::Deploy, "acme-primary"),
            (StackKind::Primary, "acme-primary-copy"),
        ] {
            assert_eq!(
                StackKey::recognise(&foundation(), kind, name, &account, &region),
                None,
                "{name}"
            );
        }
    }
}
