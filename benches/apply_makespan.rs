//! Apply of a fresh foundation against the fake cloud, with every stack operation taking the same
//! simulated latency on tokio's paused clock. For several global bounds (the per-region bound
//! at its default), reports the
//! makespan against the bound no schedule can beat: the longer of the critical path (the
//! longest chain of operations through the executor's own `after` edges, with the fake's
//! durations) and the total work divided by the parallelism. Each setting runs several times
//! with different (seeded) polling jitter: min, median and max.
//!
//!     cargo bench --bench apply_makespan
//!     PLINTH_BENCH_ACCOUNTS=1000 PLINTH_BENCH_REGIONS=17 cargo bench --bench apply_makespan
//!
//! Asserted on every run (a benchmark that cannot flatter itself): the makespan is never below
//! the critical path, and never more operations are in progress at once than the bound.

#![expect(clippy::print_stdout, reason = "the benchmark's report is its output")]

use std::sync::Arc;
use std::time::Duration;

use plinth::apply::{Backoff, Cancel, Executor, Recorder, defaults};
use plinth::aws::Cloud;
use plinth::aws::fake::FakeCloud;
use plinth::plan::{Action, Deployed, Plan, plan};

const ALL_REGIONS: &[&str] = plinth::fixtures::REGIONS;
const LATENCY: Duration = Duration::from_secs(120);
const RUNS: u64 = 5;

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// How long the fake takes for a change: one latency per stack operation.
fn duration(action: Action) -> Duration {
    match action {
        Action::NoChange => Duration::ZERO,
        Action::Create | Action::Update | Action::Delete | Action::Wait => LATENCY,
        Action::Replace => LATENCY * 2,
    }
}

/// The longest chain of durations through the plan's `after` edges (which point backwards).
fn critical_path(plan: &Plan) -> Duration {
    let mut finish = vec![Duration::ZERO; plan.changes.len()];
    for (i, change) in plan.changes.iter().enumerate() {
        let start = change
            .after
            .iter()
            .map(|&j| finish[j])
            .max()
            .unwrap_or_default();
        finish[i] = start + duration(change.action);
    }
    finish.into_iter().max().unwrap_or_default()
}

fn main() {
    let accounts = setting("PLINTH_BENCH_ACCOUNTS", 50);
    let regions = &ALL_REGIONS[..setting("PLINTH_BENCH_REGIONS", 6).min(ALL_REGIONS.len())];
    let topology = plinth::fixtures::grid(accounts, regions);
    let the_plan = plan(&topology, &Deployed::default());
    let critical = critical_path(&the_plan);
    let work: Duration = the_plan.changes.iter().map(|c| duration(c.action)).sum();
    println!(
        "fresh apply: {accounts} accounts x {} regions, {} changes, {}s per stack operation",
        regions.len(),
        the_plan.changes.len(),
        LATENCY.as_secs()
    );
    println!(
        "critical path over the executor's edges: {}s; total work: {}s",
        critical.as_secs(),
        work.as_secs()
    );
    println!(
        "{:>11} {:>8} {:>27} {:>21} {:>10}",
        "parallelism", "bound", "makespan min/median/max", "ratio min/median/max", "API calls"
    );
    println!(
        "(at most {} changes at once in one account and region, the default)",
        defaults::PER_REGION
    );
    for parallelism in [16, 64, defaults::PARALLELISM] {
        let parallelism_u32 = u32::try_from(parallelism).expect("a small bound");
        let bound = critical.max(work / parallelism_u32);
        let mut makespans = Vec::new();
        let mut calls = 0;
        for run in 0..RUNS {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .start_paused(true)
                .build()
                .expect("a current-thread runtime builds");
            let (makespan, run_calls, in_flight) = runtime.block_on(async {
                // every task runs on this thread: this seeds the polling jitter of the whole run
                fastrand::seed(run + 1);
                let cloud = Arc::new(FakeCloud::new(LATENCY));
                let executor = Executor {
                    cloud: cloud.clone(),
                    reporter: Arc::new(Recorder::default()),
                    per_region: defaults::PER_REGION,
                    parallelism,
                    backoff: Backoff::default(),
                    wait_timeout: defaults::WAIT_TIMEOUT,
                    propagation_timeout: defaults::PROPAGATION_TIMEOUT,
                    cancel: Arc::new(Cancel::default()),
                };
                let started = tokio::time::Instant::now();
                let outcome = executor.execute(&the_plan).await;
                assert!(outcome.succeeded());
                (started.elapsed(), cloud.calls(), cloud.max_in_progress())
            });
            assert!(
                makespan >= critical,
                "makespan {makespan:?} below the critical path {critical:?}"
            );
            assert!(
                in_flight <= parallelism,
                "{in_flight} operations in progress at once, bound {parallelism}"
            );
            makespans.push(makespan);
            calls = run_calls;
        }
        makespans.sort();
        let seconds = |d: Duration| d.as_secs_f64();
        let (min, median, max) = (
            makespans[0],
            makespans[makespans.len() / 2],
            makespans[makespans.len() - 1],
        );
        println!(
            "{parallelism:>11} {:>7}s {:>8.0}s {:>8.0}s {:>8.0}s {:>6.2} {:>6.2} {:>6.2} {calls:>10}",
            bound.as_secs(),
            seconds(min),
            seconds(median),
            seconds(max),
            seconds(min) / seconds(bound),
            seconds(median) / seconds(bound),
            seconds(max) / seconds(bound),
        );
    }
}
