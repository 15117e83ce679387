//! The integration-test harness: a fresh, patched moto server on a free loopback port for each
//! test, a temporary AWS config whose profiles assume roles into several emulated accounts, and
//! helpers to run the plinth binary and to read resources back with the SDK.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Once;
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;

pub(crate) const BUILD: &str = "111111111111";
/// Profile name and account of every emulated account the tests use.
pub(crate) const ACCOUNTS: &[(&str, &str)] = &[
    ("build", BUILD),
    ("development", "222222222222"),
    ("testing", "333333333333"),
    ("production", "444444444444"),
    ("staging", "555555555555"),
    ("sandbox", "666666666666"),
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

static VENV: Once = Once::new();

static HEAVY: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Held by the tests that load the machine most (hundreds of accounts, many emulators at once),
/// so that no two of them run together: on a small CI machine they starve each other's emulator
/// until connections time out.
pub(crate) fn heavy() -> std::sync::MutexGuard<'static, ()> {
    HEAVY
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// How many emulators a test runs at once: the machine's parallelism, at most four.
pub(crate) fn parallel() -> usize {
    std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .clamp(1, 4)
}

fn python() -> PathBuf {
    VENV.call_once(|| {
        let status = Command::new(root().join("tools/venv.sh"))
            .status()
            .expect("tools/venv.sh runs");
        assert!(status.success(), "tools/venv.sh failed");
    });
    root().join(".venv/bin/python")
}

fn http(port: u16, method: &str, path: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    response.split_whitespace().nth(1)?.parse().ok()
}

pub(crate) struct Emulator {
    child: Child,
    pub(crate) url: String,
    pub(crate) dir: tempfile::TempDir,
}

impl Emulator {
    pub(crate) fn start() -> Self {
        Self::start_with(&[])
    }

    /// An emulator with launcher options: `--stack-seconds S` (asynchronous mode),
    /// `--throttle-share P --error-share Q --seed N` (fault mode).
    pub(crate) fn start_with(options: &[&str]) -> Self {
        let python = python();
        let dir = tempfile::tempdir().unwrap();
        let log = fs_err::File::create(dir.path().join("emulator.log"))
            .unwrap()
            .into_parts()
            .0;
        // Port 0: the launcher binds a free port itself and says which, so no other process can
        // take it between a check and the bind.
        let mut child = Command::new(python)
            .arg(root().join("tools/emulator/launcher.py"))
            .args(["-H", "127.0.0.1", "-p", "0"])
            .args(options)
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("the emulator starts");
        let stdout = child.stdout.take().unwrap();
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let first = lines.next().and_then(Result::ok);
            let _ = sender.send(first);
            // Keep draining, so that the server never blocks on a full pipe.
            for _ in lines {}
        });
        let first = receiver
            .recv_timeout(Duration::from_secs(90))
            .ok()
            .flatten()
            .unwrap_or_default();
        let Some(url) = first.strip_prefix("plinth-emulator listening on ") else {
            let _ = child.kill();
            panic!(
                "the emulator did not start (it said {first:?}); see {}",
                dir.path().join("emulator.log").display()
            );
        };
        let url = url.trim().to_owned();
        let port: u16 = url.rsplit(':').next().unwrap().parse().unwrap();
        let mut emulator = Emulator { child, url, dir };
        let deadline = Instant::now() + Duration::from_secs(90);
        while http(port, "GET", "/moto-api/") != Some(200) {
            if let Ok(Some(status)) = emulator.child.try_wait() {
                panic!("the emulator exited with {status} before it answered");
            }
            assert!(
                Instant::now() < deadline,
                "the emulator did not answer on port {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        emulator.write_config(ACCOUNTS);
        emulator
    }

    /// What `plinth policy --json` prints for `topology`.
    pub(crate) fn printed(topology: &str) -> serde_json::Value {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("topology.toml");
        fs_err::write(&file, topology).unwrap();
        let output = Command::new(env!("CARGO_BIN_EXE_plinth"))
            .args(["policy", "--json", "-t", path_str(&file)])
            .output()
            .expect("plinth policy runs");
        assert!(
            output.status.success(),
            "plinth policy failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap()
    }

    /// An emulator in enforcing mode (`--enforce-iam`) whose accounts' `plinth-operator` roles
    /// hold the policies `plinth policy --json` prints for `topology`, after `edit` (which a test
    /// uses to take a statement away); returns it, the topology file, and the printed policies.
    pub(crate) fn enforcing(
        topology: &str,
        edit: impl FnOnce(&mut serde_json::Value),
    ) -> (Self, PathBuf, serde_json::Value) {
        let printed = Self::printed(topology);
        let mut granted = printed.clone();
        edit(&mut granted);
        let before = tempfile::tempdir().unwrap();
        let policies = before.path().join("policies.json");
        fs_err::write(&policies, granted.to_string()).unwrap();
        let emulator =
            Self::start_with(&["--enforce-iam", "--operator-policies", path_str(&policies)]);
        let file = emulator.write("topology.toml", topology);
        (emulator, file, printed)
    }

    /// Gives each account's `plinth-operator` role (made by assuming it) the documents
    /// `plinth policy --json` prints for the topology `file`, after `edit`, with the tests'
    /// administrator role; returns the printed policies. For a topology that names what exists only once the
    /// emulator runs (an organization's units).
    pub(crate) async fn grant_printed(
        &self,
        file: &Path,
        edit: impl FnOnce(&mut serde_json::Value),
    ) -> serde_json::Value {
        self.grant_printed_to(file, edit, &[]).await
    }

    /// [`Emulator::grant_printed`], with the policies of a unit's role (account `*`) given to
    /// each of `unit_accounts`.
    pub(crate) async fn grant_printed_to(
        &self,
        file: &Path,
        edit: impl FnOnce(&mut serde_json::Value),
        unit_accounts: &[String],
    ) -> serde_json::Value {
        let output = self
            .command(&["policy", "--json", "-t", path_str(file)])
            .output()
            .expect("plinth policy runs");
        assert!(output.status.success());
        let printed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        let mut granted = printed.clone();
        edit(&mut granted);
        let mut grants = Vec::new();
        for identity in granted["identities"].as_array().unwrap() {
            match identity["account"].as_str().unwrap() {
                "*" => grants.extend(unit_accounts.iter().map(|a| (a.clone(), identity))),
                account => grants.push((account.to_owned(), identity)),
            }
        }
        for (account, identity) in grants {
            let account = account.as_str();
            let sts = aws_sdk_sts::Client::new(&self.sdk(account, "us-east-1").await);
            sts.assume_role()
                .role_arn(format!("arn:aws:iam::{account}:role/plinth-operator"))
                .role_session_name("grant")
                .send()
                .await
                .unwrap();
            let iam = aws_sdk_iam::Client::new(&self.sdk(account, "us-east-1").await);
            for (document, name) in [("plan", "plinth-plan"), ("apply", "plinth-apply")] {
                if identity[document]["Statement"]
                    .as_array()
                    .unwrap()
                    .is_empty()
                {
                    continue;
                }
                iam.put_role_policy()
                    .role_name("plinth-operator")
                    .policy_name(name)
                    .policy_document(identity[document].to_string())
                    .send()
                    .await
                    .unwrap();
            }
        }
        printed
    }

    /// Every authorization the enforcing emulator decided so far, in order: `principal`,
    /// `action`, `resources`, `allowed`, `statements` (the `policy/Sid`s that allowed it).
    pub(crate) fn authorizations(&self) -> Vec<serde_json::Value> {
        let port: u16 = self.url.rsplit(':').next().unwrap().parse().unwrap();
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        write!(stream, "GET /plinth-emulator/authorizations HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let body = response.split_once("\r\n\r\n").unwrap().1;
        serde_json::from_str(body).unwrap()
    }

    /// A fresh emulator on which `topology` has been applied; returns it and the topology file.
    pub(crate) fn applied(topology: &str) -> (Self, PathBuf) {
        let emulator = Self::start();
        let file = emulator.write("topology.toml", topology);
        emulator
            .plinth(&["apply", "-t", path_str(&file), "--yes"])
            .expect(0);
        (emulator, file)
    }

    pub(crate) fn config_path(&self) -> PathBuf {
        self.dir.path().join("aws-config")
    }

    /// Writes the AWS config: a base profile with dummy keys; one `role_arn` profile per account.
    pub(crate) fn write_config(&self, accounts: &[(&str, &str)]) {
        let mut text = format!(
            "[profile base]\naws_access_key_id = plinth-test\naws_secret_access_key = plinth-test\nregion = us-east-1\nendpoint_url = {}\n",
            self.url
        );
        for (profile, account) in accounts {
            text.push_str(&format!(
                "\n[profile {profile}]\nrole_arn = arn:aws:iam::{account}:role/plinth-operator\nsource_profile = base\nregion = us-east-1\nendpoint_url = {}\n",
                self.url
            ));
        }
        fs_err::write(self.config_path(), text).unwrap();
    }

    pub(crate) fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        fs_err::write(&path, text).unwrap();
        path
    }

    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_plinth"));
        command.args(args).current_dir(self.dir.path());
        for (key, _) in std::env::vars() {
            if key.starts_with("AWS_") {
                command.env_remove(key);
            }
        }
        // The same output whether or not the tests run in CI: a test that wants CI's sets it.
        command.env_remove("CI");
        command
            .env("AWS_CONFIG_FILE", self.config_path())
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                self.dir.path().join("no-credentials"),
            )
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_ENDPOINT_URL", &self.url)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        command
    }

    /// Builds the original bootstrap.sh foundation on this emulator with
    /// `tools/original-foundation.py` (build account, us-east-1, and `args`); returns what it
    /// made: its stacks, buckets (`build`, `pipeline/REGION`) and key ids by region.
    pub(crate) fn original_foundation(&self, args: &[&str]) -> serde_json::Value {
        let output = Command::new(python())
            .arg(root().join("tools/original-foundation.py"))
            .args([
                "--endpoint",
                &self.url,
                "--build",
                BUILD,
                "--region",
                "us-east-1",
            ])
            .args(args)
            .output()
            .expect("the original foundation's script runs");
        assert!(
            output.status.success(),
            "tools/original-foundation.py failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap()
    }

    /// A stack of another owner in `account`'s us-east-1 that holds an IAM role named `role`.
    pub(crate) async fn stack_holding_role(&self, account: &str, stack: &str, role: &str) {
        let template = serde_json::json!({ "Resources": { "Role": { "Type": "AWS::IAM::Role",
            "Properties": { "RoleName": role, "AssumeRolePolicyDocument": {
                "Version": "2012-10-17", "Statement": [{ "Effect": "Allow", "Action": "sts:AssumeRole",
                    "Principal": { "Service": "lambda.amazonaws.com" } }] } } } } });
        aws_sdk_cloudformation::Client::new(&self.sdk(account, "us-east-1").await)
            .create_stack()
            .stack_name(stack)
            .template_body(template.to_string())
            .capabilities(aws_sdk_cloudformation::types::Capability::CapabilityNamedIam)
            .send()
            .await
            .unwrap();
    }

    /// Runs plinth to completion.
    pub(crate) fn plinth(&self, args: &[&str]) -> Run {
        let output = self.command(args).output().expect("plinth runs");
        Run::from(output)
    }

    /// The stage names of a pipeline of the build account, in order.
    pub(crate) async fn pipeline_stages(&self, pipeline: &str) -> Vec<String> {
        aws_sdk_codepipeline::Client::new(&self.sdk(BUILD, "us-east-1").await)
            .get_pipeline()
            .name(pipeline)
            .send()
            .await
            .unwrap()
            .pipeline()
            .unwrap()
            .stages()
            .iter()
            .map(|s| s.name().to_owned())
            .collect()
    }

    /// Credentials acting in an account: AssumeRole from the base keys, as the profiles do.
    pub(crate) async fn sdk(&self, account: &str, region: &str) -> SdkConfig {
        let base = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            // fault mode throttles the tests' own reads too
            .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(10))
            .region(Region::new(region.to_owned()))
            .endpoint_url(&self.url)
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                "plinth-test",
                "plinth-test",
                None,
                None,
                "test",
            )))
            .build();
        let sts = aws_sdk_sts::Client::new(&base);
        let assumed = sts
            .assume_role()
            .role_arn(format!("arn:aws:iam::{account}:role/plinth-test"))
            .role_session_name("test")
            .send()
            .await
            .unwrap();
        let c = assumed.credentials().unwrap();
        base.into_builder()
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                c.access_key_id(),
                c.secret_access_key(),
                Some(c.session_token().to_owned()),
                None,
                "assumed",
            )))
            .build()
    }

    pub(crate) async fn s3(&self, account: &str, region: &str) -> aws_sdk_s3::Client {
        let config = self.sdk(account, region).await;
        aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&config)
                .force_path_style(true)
                .build(),
        )
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // The server's own traceback often explains a failure that the SDK reports as a 500.
            let log =
                fs_err::read_to_string(self.dir.path().join("emulator.log")).unwrap_or_default();
            let errors: Vec<&str> = log
                .lines()
                .filter(|l| !l.contains("HTTP/1.1\" 200"))
                .collect();
            let tail = errors[errors.len().saturating_sub(60)..].join("\n");
            eprintln!("--- emulator log (last lines other than 200s)\n{tail}");
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A finished plinth run.
pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl From<Output> for Run {
    fn from(output: Output) -> Self {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl Run {
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\n{}",
                self.stdout, self.stderr
            )
        })
    }

    #[track_caller]
    pub(crate) fn assert_stderr(&self, text: impl AsRef<str>) -> &Self {
        let text = text.as_ref();
        assert!(
            self.stderr.contains(text),
            "stderr lacks {text:?}:\n{}",
            self.stderr
        );
        self
    }

    #[track_caller]
    pub(crate) fn expect(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

/// A topology of three target accounts across three regions, with optional extra text.
pub(crate) fn topology(targets: &[(&str, &[&str])], extra: &str) -> String {
    let mut text = format!(
        "name = \"acme\"\n\n[build]\naccount = \"{BUILD}\"\nregion = \"us-east-1\"\nprofile = \"build\"\n"
    );
    for (name, regions) in targets {
        let account = ACCOUNTS
            .iter()
            .find(|(p, _)| p == name)
            .map(|(_, a)| *a)
            .expect("a known profile");
        let regions: Vec<String> = regions.iter().map(|r| format!("\"{r}\"")).collect();
        text.push_str(&format!(
            "\n[[targets]]\nname = \"{name}\"\naccount = \"{account}\"\nregions = [{}]\nprofile = \"{name}\"\npolicies = [\"arn:aws:iam::aws:policy/PowerUserAccess\"]\n",
            regions.join(", ")
        ));
    }
    text.push_str(extra);
    text
}

/// The standard test topology: three accounts, three regions.
pub(crate) fn standard() -> String {
    topology(
        &[
            ("development", &["us-east-1", "us-west-2"]),
            ("testing", &["us-west-2"]),
            ("production", &["eu-west-1"]),
        ],
        "",
    )
}

pub(crate) fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// The ARN of the artifact key of a region, from its stack's outputs.
pub(crate) async fn artifact_key_arn(emulator: &Emulator, region: &str) -> String {
    let cfn = aws_sdk_cloudformation::Client::new(&emulator.sdk(BUILD, region).await);
    let name = if region == "us-east-1" {
        "acme-primary"
    } else {
        "acme-regional"
    };
    let stack = cfn.describe_stacks().stack_name(name).send().await.unwrap();
    let outputs = stack.stacks()[0].outputs();
    outputs
        .iter()
        .find(|o| o.output_key() == Some("ArtifactKeyArn"))
        .unwrap()
        .output_value()
        .unwrap()
        .to_owned()
}

/// The KMS key a bucket encrypts with by default: what its policy demands that uploads name.
pub(crate) async fn default_key(s3: &aws_sdk_s3::Client, bucket: &str) -> String {
    s3.get_bucket_encryption()
        .bucket(bucket)
        .send()
        .await
        .unwrap()
        .server_side_encryption_configuration()
        .unwrap()
        .rules()[0]
        .apply_server_side_encryption_by_default()
        .unwrap()
        .kms_master_key_id()
        .unwrap()
        .to_owned()
}

/// The `acme-service` pipeline as CodePipeline holds it, in the build account.
pub(crate) async fn get_pipeline(
    emulator: &Emulator,
) -> aws_sdk_codepipeline::types::PipelineDeclaration {
    aws_sdk_codepipeline::Client::new(&emulator.sdk(BUILD, "us-east-1").await)
        .get_pipeline()
        .name("acme-service")
        .send()
        .await
        .unwrap()
        .pipeline()
        .unwrap()
        .clone()
}
