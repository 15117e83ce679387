//! Planning at scale on the fake cloud: a fresh plan of a large foundation (pure: graph,
//! templates, limits), then a plan after applying it (reading what the fake holds through the
//! same calls plinth makes against AWS). Reports CPU time, waves, API calls and peak memory.
//!
//!     cargo bench --bench plan_scale
//!     PLINTH_BENCH_ACCOUNTS=1000 PLINTH_BENCH_REGIONS=17 cargo bench --bench plan_scale
//!
//! With more than 85 accounts the foundation grants by organization (a grant per account would
//! pass S3's bucket-policy limit, which plan refuses).

#![expect(clippy::print_stdout, reason = "the benchmark's report is its output")]

use std::sync::Arc;
use std::time::{Duration, Instant};

use plinth::apply::{Backoff, Cancel, Executor, Recorder, defaults};
use plinth::aws::Cloud;
use plinth::aws::fake::FakeCloud;
use plinth::plan::{Deployed, plan};

const ALL_REGIONS: &[&str] = plinth::fixtures::REGIONS;

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The process's peak resident memory, from /proc (Linux); `None` elsewhere.
fn peak_rss_kib() -> Option<u64> {
    let status = fs_err::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
}

fn main() {
    let accounts = setting("PLINTH_BENCH_ACCOUNTS", 300);
    let regions = &ALL_REGIONS[..setting("PLINTH_BENCH_REGIONS", 6).min(ALL_REGIONS.len())];
    let mut topology = plinth::fixtures::grid(accounts, regions);
    if accounts > 85 {
        topology.organization_id =
            Some(plinth::topology::OrganizationId::parse("o-benchmark01").expect("a valid id"));
    }
    println!(
        "{accounts} accounts x {} regions{}",
        regions.len(),
        if topology.organization_id.is_some() {
            ", granted by organization"
        } else {
            ""
        }
    );
    let started = Instant::now();
    let fresh = plan(&topology, &Deployed::default());
    let waves = fresh.changes.iter().map(|c| c.wave).max().unwrap_or(0);
    println!(
        "fresh plan: {} changes in {waves} waves, {} findings, {:.2}s",
        fresh.changes.len(),
        fresh.findings.len(),
        started.elapsed().as_secs_f64()
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("a current-thread runtime builds");
    runtime.block_on(async {
        let cloud = Arc::new(FakeCloud::new(Duration::from_secs(60)));
        let executor = Executor {
            cloud: cloud.clone(),
            reporter: Arc::new(Recorder::default()),
            per_region: defaults::PER_REGION,
            parallelism: defaults::PARALLELISM,
            backoff: Backoff::default(),
            wait_timeout: defaults::WAIT_TIMEOUT,
            propagation_timeout: defaults::PROPAGATION_TIMEOUT,
            cancel: Arc::new(Cancel::default()),
        };
        assert!(executor.execute(&fresh).await.succeeded());
        let before = cloud.calls();
        let started = Instant::now();
        let deployed = plinth::aws::snapshot::read(cloud.as_ref(), &topology, 16)
            .await
            .expect("the fake answers");
        let converged = plan(&topology, &deployed);
        assert!(!converged.summary.has_changes());
        println!(
            "converged plan: read {} stacks with {} API calls, planned {} unchanged, {:.2}s",
            deployed.stacks.len(),
            cloud.calls() - before,
            converged.summary.unchanged,
            started.elapsed().as_secs_f64()
        );
    });
    if let Some(peak) = peak_rss_kib() {
        println!("peak memory: {} MiB", peak / 1024);
    }
}
