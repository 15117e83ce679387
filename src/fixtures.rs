//! Topologies for the unit tests and the benchmarks, built in one place: the example file, and
//! generated foundations of any number of accounts and regions.

use std::collections::BTreeMap;

use crate::topology::{
    AccountId, ArtifactSync, Build, Credentials, FoundationName, Pipeline, Region, Source, Target,
    Topology,
};

/// Seventeen commercial regions, the build region (us-east-1) first.
pub const REGIONS: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-2",
    "eu-west-1",
    "eu-central-1",
    "ap-southeast-2",
    "us-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-north-1",
    "eu-south-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-south-1",
    "ap-southeast-1",
    "ca-central-1",
    "sa-east-1",
];

/// Twenty targets in eight regions and one pipeline `p0` to all of them: a pipeline template
/// over CloudFormation's 51,200-byte `TemplateBody` limit.
pub fn wide_pipeline() -> Topology {
    let entries: Vec<(u64, &[&str])> = (0..20)
        .map(|i| (200_000_000_000 + i, &REGIONS[..8]))
        .collect();
    generated(&entries, 1)
}

/// The topology of `topology.example.toml`.
pub fn example() -> Topology {
    crate::topology::parse(include_str!("../topology.example.toml"))
        .expect("the example is valid")
        .topology
}

/// A foundation `acme` with its build account 111111111111 in us-east-1, one target `t<i>` per
/// (account, regions) entry, and `pipelines` pipelines `p<i>` that deploy to every target.
pub fn generated(accounts: &[(u64, &[&str])], pipelines: usize) -> Topology {
    let region = |r: &str| Region::parse(r).expect("a fixture region is valid");
    let account =
        |n: u64| AccountId::parse(&format!("{n:012}")).expect("a fixture account is valid");
    let targets: Vec<Target> = accounts
        .iter()
        .enumerate()
        .map(|(i, (a, regions))| Target {
            name: format!("t{i}"),
            account: account(*a),
            regions: regions.iter().map(|r| region(r)).collect(),
            credentials: Credentials::DefaultChain,
            policies: vec![],
            permissions_boundary: None,
            approval: false,
            unit: None,
        })
        .collect();
    let pipelines = (0..pipelines)
        .map(|i| Pipeline {
            unit_accounts: BTreeMap::new(),
            name: format!("p{i}"),
            targets: targets.iter().map(|t| t.name.clone()).collect(),
            artifact_sync: ArtifactSync::Lambda,
            sources: vec![Source {
                name: "App".into(),
                key: "app.zip".into(),
            }],
            stack: "app".into(),
            template: "template.yaml".into(),
        })
        .collect();
    Topology {
        name: FoundationName::parse("acme").expect("a fixture name is valid"),
        organization_id: None,
        build: Build {
            account: account(111_111_111_111),
            region: region("us-east-1"),
            credentials: Credentials::DefaultChain,
            noncurrent_version_expiration_days: 30,
            artifact_noncurrent_version_expiration_days: 30,
        },
        targets,
        units: Vec::new(),
        organization: None,
        membership: None,
        management: None,
        pipelines,
        adopt: None,
        bucket_names: std::collections::BTreeMap::new(),
    }
}

/// `accounts` target accounts (from 200000000000 up), each deploying to every region given.
pub fn grid(accounts: usize, regions: &[&str]) -> Topology {
    let entries: Vec<(u64, &[&str])> = (0..accounts as u64)
        .map(|i| (200_000_000_000 + i, regions))
        .collect();
    generated(&entries, 0)
}
