//! Apply of a fresh foundation of 50 target accounts by 6 regions against the fake cloud, with
//! every stack operation taking the same simulated latency on tokio's paused clock. Reports the
//! makespan against the critical path (waves times latency) for several parallelism bounds.
//!
//!     cargo bench --bench apply_makespan

#![expect(clippy::print_stdout, reason = "the benchmark's report is its output")]

use std::sync::Arc;
use std::time::Duration;

use plinth::apply::{Backoff, Cancel, Executor, Recorder};
use plinth::aws::Cloud;
use plinth::aws::fake::FakeCloud;
use plinth::plan::{Deployed, plan};

const ACCOUNTS: usize = 50;
const REGIONS: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-2",
    "eu-west-1",
    "eu-central-1",
    "ap-southeast-2",
];
const LATENCY: Duration = Duration::from_secs(120);

fn topology() -> plinth::topology::Topology {
    plinth::fixtures::grid(ACCOUNTS, REGIONS)
}

fn main() {
    let topology = topology();
    let the_plan = plan(&topology, &Deployed::default());
    let waves = the_plan.changes.iter().map(|c| c.wave).max().unwrap_or(0);
    let critical = LATENCY * waves;
    println!(
        "fresh apply: {ACCOUNTS} accounts x {} regions, {} changes in {waves} waves, {}s per stack operation",
        REGIONS.len(),
        the_plan.changes.len(),
        LATENCY.as_secs()
    );
    println!("critical path (waves x latency): {}s", critical.as_secs());
    println!(
        "{:>11} {:>12} {:>8} {:>10}",
        "parallelism", "makespan", "ratio", "API calls"
    );
    for parallelism in [8, 16, 32, 64] {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .expect("a current-thread runtime builds");
        let (makespan, calls) = runtime.block_on(async {
            let cloud = Arc::new(FakeCloud::new(LATENCY));
            let executor = Executor {
                cloud: cloud.clone(),
                reporter: Arc::new(Recorder::default()),
                parallelism,
                backoff: Backoff::default(),
                cancel: Arc::new(Cancel::default()),
            };
            let started = tokio::time::Instant::now();
            let outcome = executor.execute(&the_plan).await;
            assert!(outcome.succeeded());
            (started.elapsed(), cloud.calls())
        });
        println!(
            "{parallelism:>11} {:>11}s {:>8.2} {calls:>10}",
            makespan.as_secs(),
            makespan.as_secs_f64() / critical.as_secs_f64()
        );
    }
}
