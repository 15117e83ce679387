//! Memory of reaching many accounts: `SdkCloud::connect` for a topology whose every target has
//! its own profile (`role_arn` and `source_profile`, as organizations write them) in one AWS
//! config file, or is reached with `[defaults] role_arn`. Nothing is sent: connect only sets up
//! credentials and configuration. Reports peak RSS and its growth per account.
//!
//!     cargo bench --bench connect_memory
//!     PLINTH_BENCH_ACCOUNTS=100,300,1000,3000 cargo bench --bench connect_memory
//!
//! Each count runs in a process of its own (this binary again), so that every peak is its own.
//! The run fails when the cost per account at the largest count passes 1.5 times that at the
//! smallest: growth faster than linear. `scripts/test` runs it so (`cargo test --bench
//! connect_memory`, 100 and 1,000 accounts).

#![expect(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "the benchmark's report is its output"
)]

use std::fmt::Write as _;
use std::process::Command;

/// The process's peak resident memory, from /proc (Linux); `None` elsewhere.
fn peak_rss_kib() -> Option<u64> {
    let status = fs_err::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
}

/// A topology of `accounts` targets in three regions, each with a profile of its own, or all
/// reached through `[defaults] role_arn`; and the AWS config file those profiles are in.
fn fixture(accounts: usize, profiles: bool) -> (String, String) {
    let mut config = String::from(
        "[profile base]\naws_access_key_id = bench\naws_secret_access_key = bench\nregion = us-east-1\n",
    );
    let mut topology = String::from(
        "name = \"bench\"\norganization_id = \"o-benchmark01\"\n[build]\naccount = \"100000000000\"\nregion = \"us-east-1\"\nprofile = \"base\"\n",
    );
    if !profiles {
        topology.push_str("[defaults]\nrole_arn = \"arn:aws:iam::{account}:role/bench\"\n");
    }
    for i in 0..accounts {
        let account = 200_000_000_000_u64 + i as u64;
        let _ = write!(
            config,
            "\n[profile t{i}]\nrole_arn = arn:aws:iam::{account}:role/bench\nsource_profile = base\nregion = us-east-1\n"
        );
        let _ = write!(
            topology,
            "\n[[targets]]\nname = \"t{i}\"\naccount = \"{account}\"\nregions = [\"us-east-1\", \"us-west-2\", \"eu-west-1\"]\n"
        );
        if profiles {
            let _ = writeln!(topology, "profile = \"t{i}\"");
        }
    }
    (topology, config)
}

/// In the child process: connects to every account of the topology file, prints peak RSS.
fn measure(topology: &str) {
    let text = fs_err::read_to_string(topology).expect("the topology is readable");
    let parsed = plinth::topology::parse(&text).expect("the fixture parses");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let cloud = runtime.block_on(plinth::aws::sdk::SdkCloud::connect(&parsed.topology));
    drop(cloud);
    println!("{}", peak_rss_kib().unwrap_or(0));
}

/// Peak RSS in KiB of connecting to `accounts` accounts, in a process of its own.
fn run(accounts: usize, profiles: bool) -> f64 {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let (topology, config) = fixture(accounts, profiles);
    let (topology_path, config_path) =
        (dir.path().join("topology.toml"), dir.path().join("config"));
    fs_err::write(&topology_path, topology).expect("the topology is written");
    fs_err::write(&config_path, config).expect("the config is written");
    let out = Command::new(std::env::current_exe().expect("this binary"))
        .arg("--one")
        .arg(&topology_path)
        .env("AWS_CONFIG_FILE", &config_path)
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.path().join("none"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .output()
        .expect("the measure runs");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0.0)
}

fn main() {
    let mut args = std::env::args().skip(1);
    if args.next().as_deref() == Some("--one") {
        measure(&args.next().expect("a topology file"));
        return;
    }
    let counts: Vec<usize> = std::env::var("PLINTH_BENCH_ACCOUNTS")
        .unwrap_or_else(|_| "100,300,1000".into())
        .split(',')
        .filter_map(|c| c.trim().parse().ok())
        .collect();
    let mut superlinear = Vec::new();
    for (mode, profiles) in [("profiles", true), ("role_arn", false)] {
        let mut first: Option<f64> = None;
        let mut last = None;
        for &accounts in &counts {
            let kib = run(accounts, profiles);
            #[expect(clippy::cast_precision_loss, reason = "counts of accounts are small")]
            let per = kib / accounts as f64;
            let growth = first.map_or(String::new(), |p| {
                format!("   {:.2}x the per-account cost at {}", per / p, counts[0])
            });
            println!(
                "{mode:>8}: {accounts:>5} accounts  peak RSS {:>8.1} MiB  {per:>7.1} KiB per account{growth}",
                kib / 1024.0
            );
            first.get_or_insert(per);
            last = Some(per);
        }
        if let (Some(first), Some(last)) = (first, last) {
            if last > 1.5 * first {
                superlinear.push(format!(
                    "{mode}: {:.2}x the per-account cost at {}",
                    last / first,
                    counts[0]
                ));
            }
        }
    }
    if !superlinear.is_empty() {
        eprintln!(
            "memory grows faster than the number of accounts (over 1.5x per account): {}",
            superlinear.join("; ")
        );
        std::process::exit(1);
    }
}
