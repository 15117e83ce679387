//! TOML text to a validated [`Topology`], collecting every problem rather than stopping at the
//! first. The text is parsed into toml's spanned document tree, so that each problem can point at
//! its line and column; then each table is read key by key.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::{
    AccountId, ArtifactSync, Build, Credentials, Diagnostic, FoundationName, Pipeline, Region,
    Source, Target, Topology, check_name,
};
use crate::layout::{BucketKind, StackKey};

type Span = Range<usize>;

/// The validated topology and the warnings it raised.
#[derive(Debug)]
pub struct Parsed {
    pub topology: Topology,
    pub warnings: Vec<Diagnostic>,
}

/// Every problem of the text, and the warnings found on the way.
#[derive(Debug)]
pub struct Invalid {
    pub errors: Vec<Diagnostic>,
    pub warnings: Vec<Diagnostic>,
}

const TOP_KEYS: &[&str] = &["name", "build", "targets", "pipelines"];
const BUILD_KEYS: &[&str] = &[
    "account",
    "region",
    "profile",
    "role_arn",
    "noncurrent_version_expiration_days",
];
const TARGET_KEYS: &[&str] = &[
    "name", "account", "regions", "profile", "role_arn", "policies", "approval",
];
const PIPELINE_KEYS: &[&str] = &[
    "name",
    "targets",
    "artifact_sync",
    "sources",
    "stack",
    "template",
];
const SOURCE_KEYS: &[&str] = &["name", "key"];

const TARGET_NAME_MAX: usize = 32;
const PIPELINE_NAME_MAX: usize = 32;
const S3_BUCKET_MAX: usize = 63;
const IAM_ROLE_MAX: usize = 64;
const STACK_NAME_MAX: usize = 128;
const LAMBDA_NAME_MAX: usize = 64;

/// Parses and validates a topology. `text` is the whole file.
pub fn parse(text: &str) -> Result<Parsed, Invalid> {
    let mut reader = Reader::default();
    if text.trim().is_empty() {
        reader.error(
            Diagnostic::new(None, "", "the topology file is empty")
                .hint("start from topology.example.toml: it shows every key with a comment"),
        );
        return Err(reader.invalid());
    }
    let (document, syntax_errors) = DeTable::parse_recoverable(text);
    if !syntax_errors.is_empty() {
        for error in syntax_errors {
            let message = error.message().trim().to_owned();
            reader.error(
                Diagnostic::new(error.span(), "", format!("invalid TOML: {message}"))
                    .hint("see https://toml.io for the syntax"),
            );
        }
        return Err(reader.invalid());
    }
    let table = document.get_ref();
    let topology = reader.topology(table, document.span());
    match topology {
        Some(topology) if reader.errors.is_empty() => Ok(Parsed {
            topology,
            warnings: reader.warnings,
        }),
        _ => Err(reader.invalid()),
    }
}

#[derive(Default)]
struct Reader {
    errors: Vec<Diagnostic>,
    warnings: Vec<Diagnostic>,
}

fn type_name(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date-time",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), *c))
        .filter(|(distance, c)| *distance <= 2.max(c.len() / 4))
        .min()
        .map(|(_, c)| c)
}

fn index_path(prefix: &str, index: usize) -> String {
    format!("{prefix}[{index}]")
}

fn key_path(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

impl Reader {
    fn error(&mut self, diagnostic: Diagnostic) {
        self.errors.push(diagnostic);
    }

    fn warn(&mut self, diagnostic: Diagnostic) {
        self.warnings.push(diagnostic);
    }

    fn invalid(self) -> Invalid {
        Invalid {
            errors: self.errors,
            warnings: self.warnings,
        }
    }

    /// Reports unknown keys (with a "did you mean") and missing required keys.
    fn check_keys(
        &mut self,
        table: &DeTable<'_>,
        span: &Span,
        path: &str,
        allowed: &[&str],
        required: &[&str],
    ) {
        for (key, _) in table.iter() {
            let name = key.get_ref().as_ref();
            if !allowed.contains(&name) {
                let mut d = Diagnostic::new(Some(key.span()), key_path(path, name), "unknown key");
                d = match closest(name, allowed) {
                    Some(suggestion) => d.hint(format!("did you mean `{suggestion}`?")),
                    None => d.hint(format!("the keys allowed here are: {}", allowed.join(", "))),
                };
                self.error(d);
            }
        }
        for name in required {
            if !table.iter().any(|(k, _)| k.get_ref().as_ref() == *name) {
                let where_ = if path.is_empty() {
                    "the top level".to_owned()
                } else {
                    format!("`{path}`")
                };
                self.error(
                    Diagnostic::new(
                        Some(span.clone()),
                        key_path(path, name),
                        format!("missing required key in {where_}"),
                    )
                    .hint(format!("add `{name} = …`; topology.example.toml shows it")),
                );
            }
        }
    }

    fn get<'t, 'i>(table: &'t DeTable<'i>, key: &str) -> Option<&'t Spanned<DeValue<'i>>> {
        table
            .iter()
            .find(|(k, _)| k.get_ref().as_ref() == key)
            .map(|(_, v)| v)
    }

    fn wrong_type(&mut self, value: &Spanned<DeValue<'_>>, path: String, expected: &str) {
        self.error(Diagnostic::new(
            Some(value.span()),
            path,
            format!("expected {expected}, found {}", type_name(value.get_ref())),
        ));
    }

    fn string(&mut self, table: &DeTable<'_>, path: &str, key: &str) -> Option<(String, Span)> {
        let value = Self::get(table, key)?;
        match value.get_ref() {
            DeValue::String(s) => Some((s.to_string(), value.span())),
            _ => {
                self.wrong_type(value, key_path(path, key), "a string");
                None
            }
        }
    }

    fn boolean(&mut self, table: &DeTable<'_>, path: &str, key: &str) -> Option<bool> {
        let value = Self::get(table, key)?;
        match value.get_ref() {
            DeValue::Boolean(b) => Some(*b),
            _ => {
                self.wrong_type(value, key_path(path, key), "`true` or `false`");
                None
            }
        }
    }

    /// An array of strings; `None` when absent or of the wrong type (reported).
    fn strings(
        &mut self,
        table: &DeTable<'_>,
        path: &str,
        key: &str,
    ) -> Option<(Vec<(String, Span)>, Span)> {
        let value = Self::get(table, key)?;
        let DeValue::Array(items) = value.get_ref() else {
            self.wrong_type(value, key_path(path, key), "an array of strings");
            return None;
        };
        let mut out = Vec::new();
        for (index, item) in items.iter().enumerate() {
            match item.get_ref() {
                DeValue::String(s) => out.push((s.to_string(), item.span())),
                _ => self.wrong_type(item, index_path(&key_path(path, key), index), "a string"),
            }
        }
        Some((out, value.span()))
    }

    /// An array of tables (`[[targets]]` or `[{…}, {…}]`).
    fn tables<'t, 'i>(
        &mut self,
        table: &'t DeTable<'i>,
        path: &str,
        key: &str,
    ) -> Vec<(&'t DeTable<'i>, Span)> {
        let Some(value) = Self::get(table, key) else {
            return Vec::new();
        };
        let DeValue::Array(items) = value.get_ref() else {
            self.wrong_type(
                value,
                key_path(path, key),
                &format!("an array of tables (`[[{key}]]`)"),
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for (index, item) in items.iter().enumerate() {
            match item.get_ref() {
                DeValue::Table(t) => out.push((t, item.span())),
                _ => self.wrong_type(item, index_path(&key_path(path, key), index), "a table"),
            }
        }
        out
    }

    fn account(&mut self, table: &DeTable<'_>, path: &str) -> Option<(AccountId, Span)> {
        let value = Self::get(table, "account")?;
        let key = key_path(path, "account");
        match value.get_ref() {
            DeValue::String(s) => match AccountId::parse(s) {
                Ok(id) => Some((id, value.span())),
                Err(message) => {
                    self.error(Diagnostic::new(Some(value.span()), key, message));
                    None
                }
            },
            DeValue::Integer(number) => {
                let digits = number.as_str().replace('_', "");
                let hint = if digits.len() < 12 && digits.bytes().all(|b| b.is_ascii_digit()) {
                    format!(
                        "write `account = \"{digits:0>12}\"` if the id has leading zeros, with every digit in quotes"
                    )
                } else {
                    format!("write `account = \"{digits}\"`")
                };
                self.error(
                    Diagnostic::new(
                        Some(value.span()),
                        key,
                        "the account id is a number; it must be a string of 12 digits, because a number loses the leading zeros that account ids can have",
                    )
                    .hint(hint),
                );
                None
            }
            _ => {
                self.wrong_type(value, key, "a string of 12 digits");
                None
            }
        }
    }

    fn region(&mut self, text: &str, span: Span, path: String) -> Option<Region> {
        match Region::parse(text) {
            Ok(region) => Some(region),
            Err(message) => {
                self.error(Diagnostic::new(Some(span), path, message));
                None
            }
        }
    }

    fn credentials(
        &mut self,
        table: &DeTable<'_>,
        path: &str,
        account: Option<&AccountId>,
    ) -> Option<Credentials> {
        let profile = self.string(table, path, "profile");
        let role_arn = self.string(table, path, "role_arn");
        match (profile, role_arn) {
            (Some(_), Some((_, span))) => {
                self.error(
                    Diagnostic::new(Some(span), key_path(path, "role_arn"), "`profile` and `role_arn` are both set")
                        .hint("keep one: a profile of the AWS config, or a role assumed from the build account's credentials"),
                );
                None
            }
            (Some((profile, span)), None) => {
                if profile.trim().is_empty() {
                    self.error(Diagnostic::new(
                        Some(span),
                        key_path(path, "profile"),
                        "the profile name is empty",
                    ));
                    return None;
                }
                Some(Credentials::Profile(profile))
            }
            (None, Some((arn, span))) => match parse_role_arn(&arn) {
                Ok(role_account) => {
                    if let Some(account) = account.filter(|a| a.as_str() != role_account) {
                        self.error(
                            Diagnostic::new(
                                Some(span),
                                key_path(path, "role_arn"),
                                format!("the role is in account {role_account}, but this entry declares account {account}"),
                            )
                            .hint("use a role of the declared account, or correct `account`"),
                        );
                        return None;
                    }
                    Some(Credentials::AssumeRole(arn))
                }
                Err(message) => {
                    self.error(
                        Diagnostic::new(Some(span), key_path(path, "role_arn"), message).hint(
                            "an IAM role ARN looks like arn:aws:iam::123456789012:role/deployer",
                        ),
                    );
                    None
                }
            },
            (None, None) => Some(Credentials::DefaultChain),
        }
    }

    fn name(&mut self, table: &DeTable<'_>, path: &str, max: usize) -> Option<(String, Span)> {
        let (name, span) = self.string(table, path, "name")?;
        match check_name(&name, max) {
            Ok(()) => Some((name, span)),
            Err(message) => {
                self.error(Diagnostic::new(Some(span), key_path(path, "name"), message));
                None
            }
        }
    }

    fn topology(&mut self, table: &DeTable<'_>, span: Span) -> Option<Topology> {
        self.check_keys(table, &span, "", TOP_KEYS, &["name", "build", "targets"]);
        let name = self.string(table, "", "name").and_then(|(text, span)| match FoundationName::parse(&text) {
            Ok(name) => Some((name, span)),
            Err(message) => {
                self.error(
                    Diagnostic::new(Some(span), "name", message)
                        .hint("the name prefixes every stack, role and bucket: a short lowercase word such as `acme`"),
                );
                None
            }
        });
        let build = match Self::get(table, "build") {
            Some(value) => match value.get_ref() {
                DeValue::Table(t) => self.build(t, value.span()),
                _ => {
                    self.wrong_type(value, "build".into(), "a table (`[build]`)");
                    None
                }
            },
            None => None,
        };
        let target_tables = self.tables(table, "", "targets");
        if Self::get(table, "targets").is_some()
            && target_tables.is_empty()
            && self.errors.is_empty()
        {
            self.error(
                Diagnostic::new(
                    Some(
                        Self::get(table, "targets")
                            .map(|v| v.span())
                            .unwrap_or(span.clone()),
                    ),
                    "targets",
                    "there must be at least one target",
                )
                .hint("add a `[[targets]]` entry for each deployment environment"),
            );
        }
        // Names are collected from every entry, valid or not, so that a problem elsewhere in a
        // target does not also show up as "no target named" in the pipelines.
        let mut target_spans: BTreeMap<String, String> = BTreeMap::new();
        for (index, (t, _)) in target_tables.iter().enumerate() {
            let path = index_path("targets", index);
            let Some(value) = Self::get(t, "name") else {
                continue;
            };
            let DeValue::String(name) = value.get_ref() else {
                continue;
            };
            if let Some(previous) = target_spans.get(name.as_ref()) {
                self.error(
                    Diagnostic::new(
                        Some(value.span()),
                        key_path(&path, "name"),
                        format!("target `{name}` is declared twice"),
                    )
                    .hint(format!(
                        "target names must be unique; the first is {previous}"
                    )),
                );
            } else {
                target_spans.insert(name.to_string(), path);
            }
        }
        let mut targets = Vec::new();
        for (index, (t, t_span)) in target_tables.iter().enumerate() {
            let path = index_path("targets", index);
            if let Some((target, name_span)) = self.target(t, t_span, &path) {
                targets.push((target, path, name_span));
            }
        }
        let pipeline_tables = self.tables(table, "", "pipelines");
        let mut pipelines = Vec::new();
        let mut pipeline_names = BTreeSet::new();
        for (index, (p, p_span)) in pipeline_tables.iter().enumerate() {
            let path = index_path("pipelines", index);
            if let Some((pipeline, name_span)) = self.pipeline(p, p_span, &path, &target_spans) {
                if !pipeline_names.insert(pipeline.name.clone()) {
                    self.error(
                        Diagnostic::new(
                            Some(name_span),
                            key_path(&path, "name"),
                            format!("pipeline `{}` is declared twice", pipeline.name),
                        )
                        .hint("pipeline names must be unique"),
                    );
                }
                pipelines.push((pipeline, path));
            }
        }
        let ((name, name_span), (build, _)) = (name?, build?);
        if target_tables.is_empty()
            || targets.len() != target_tables.len()
            || pipelines.len() != pipeline_tables.len()
        {
            return None;
        }
        self.same_credentials_per_account(&build, &targets);
        let topology = Topology {
            name,
            build,
            targets: targets.iter().map(|(t, _, _)| t.clone()).collect(),
            pipelines: pipelines.iter().map(|(p, _)| p.clone()).collect(),
        };
        self.derived_names(&topology, &name_span, &pipelines);
        self.pipeline_limits(&topology, &pipelines);
        Some(topology)
    }

    fn build(&mut self, table: &DeTable<'_>, span: Span) -> Option<(Build, Span)> {
        self.check_keys(table, &span, "build", BUILD_KEYS, &["account", "region"]);
        let account = self.account(table, "build");
        let region = self
            .string(table, "build", "region")
            .and_then(|(text, span)| self.region(&text, span, "build.region".into()));
        let credentials = self.credentials(table, "build", account.as_ref().map(|(a, _)| a));
        let days = match Self::get(table, "noncurrent_version_expiration_days") {
            None => Some(30),
            Some(value) => match value.get_ref() {
                DeValue::Integer(n) => match n.as_str().replace('_', "").parse::<u32>() {
                    Ok(days) if (1..=3650).contains(&days) && n.radix() == 10 => Some(days),
                    _ => {
                        self.error(Diagnostic::new(
                            Some(value.span()),
                            "build.noncurrent_version_expiration_days",
                            "must be a whole number of days from 1 to 3650",
                        ));
                        None
                    }
                },
                _ => {
                    self.wrong_type(
                        value,
                        "build.noncurrent_version_expiration_days".into(),
                        "a whole number of days",
                    );
                    None
                }
            },
        };
        let ((account, _), region, credentials, days) = (account?, region?, credentials?, days?);
        Some((
            Build {
                account,
                region,
                credentials,
                noncurrent_version_expiration_days: days,
            },
            span,
        ))
    }

    fn target(&mut self, table: &DeTable<'_>, span: &Span, path: &str) -> Option<(Target, Span)> {
        self.check_keys(
            table,
            span,
            path,
            TARGET_KEYS,
            &["name", "account", "regions"],
        );
        let name = self.name(table, path, TARGET_NAME_MAX);
        let account = self.account(table, path);
        let credentials = self.credentials(table, path, account.as_ref().map(|(a, _)| a));
        let regions = self
            .strings(table, path, "regions")
            .and_then(|(items, array_span)| {
                let key = key_path(path, "regions");
                if items.is_empty() {
                    self.error(
                        Diagnostic::new(
                            Some(array_span),
                            key.clone(),
                            "a target needs at least one region",
                        )
                        .hint("list the regions this target deploys to, such as [\"us-east-1\"]"),
                    );
                    return None;
                }
                let mut regions: Vec<Region> = Vec::new();
                let mut ok = true;
                for (index, (text, span)) in items.into_iter().enumerate() {
                    match self.region(&text, span.clone(), index_path(&key, index)) {
                        Some(region) if regions.contains(&region) => {
                            self.error(
                                Diagnostic::new(
                                    Some(span),
                                    index_path(&key, index),
                                    format!("region `{region}` is listed twice"),
                                )
                                .hint("list each region once"),
                            );
                            ok = false;
                        }
                        Some(region) => regions.push(region),
                        None => ok = false,
                    }
                }
                ok.then_some(regions)
            });
        let policies = match self.strings(table, path, "policies") {
            None => Some(Vec::new()),
            Some((items, _)) => {
                let mut ok = true;
                let key = key_path(path, "policies");
                for (index, (text, span)) in items.iter().enumerate() {
                    if let Err(message) = parse_policy_arn(text) {
                        self.error(
                            Diagnostic::new(Some(span.clone()), index_path(&key, index), message)
                                .hint("a managed policy ARN looks like arn:aws:iam::aws:policy/PowerUserAccess"),
                        );
                        ok = false;
                    } else if text.ends_with(":policy/AdministratorAccess") {
                        self.warn(
                            Diagnostic::new(
                                Some(span.clone()),
                                index_path(&key, index),
                                "AdministratorAccess gives every application deployed to this target full control of the account",
                            )
                            .hint("list the managed policies the applications need instead"),
                        );
                    }
                }
                ok.then(|| items.into_iter().map(|(text, _)| text).collect())
            }
        };
        let approval = match Self::get(table, "approval") {
            None => Some(false),
            Some(_) => self.boolean(table, path, "approval"),
        };
        let ((name, name_span), (account, _)) = (name?, account?);
        Some((
            Target {
                name,
                account,
                regions: regions?,
                credentials: credentials?,
                policies: policies?,
                approval: approval?,
            },
            name_span,
        ))
    }

    fn pipeline(
        &mut self,
        table: &DeTable<'_>,
        span: &Span,
        path: &str,
        known_targets: &BTreeMap<String, String>,
    ) -> Option<(Pipeline, Span)> {
        self.check_keys(
            table,
            span,
            path,
            PIPELINE_KEYS,
            &["name", "targets", "sources", "stack"],
        );
        let name = self.name(table, path, PIPELINE_NAME_MAX);
        let targets = self
            .strings(table, path, "targets")
            .and_then(|(items, array_span)| {
                let key = key_path(path, "targets");
                if items.is_empty() {
                    self.error(Diagnostic::new(
                        Some(array_span),
                        key.clone(),
                        "a pipeline needs at least one target",
                    ));
                    return None;
                }
                let mut ok = true;
                let mut seen = BTreeSet::new();
                for (index, (target, span)) in items.iter().enumerate() {
                    if !known_targets.contains_key(target) {
                        let names: Vec<&str> = known_targets.keys().map(String::as_str).collect();
                        let mut d = Diagnostic::new(
                            Some(span.clone()),
                            index_path(&key, index),
                            format!("there is no target named `{target}`"),
                        );
                        d = match closest(target, &names) {
                            Some(s) => d.hint(format!("did you mean `{s}`?")),
                            None => d.hint(format!("the targets are: {}", names.join(", "))),
                        };
                        self.error(d);
                        ok = false;
                    } else if !seen.insert(target.clone()) {
                        self.error(Diagnostic::new(
                            Some(span.clone()),
                            index_path(&key, index),
                            format!("target `{target}` is listed twice"),
                        ));
                        ok = false;
                    }
                }
                ok.then(|| items.into_iter().map(|(t, _)| t).collect::<Vec<_>>())
            });
        let artifact_sync = match self.string(table, path, "artifact_sync") {
            None if Self::get(table, "artifact_sync").is_none() => Some(ArtifactSync::Lambda),
            None => None,
            Some((text, span)) => match text.as_str() {
                "lambda" => Some(ArtifactSync::Lambda),
                "native" => Some(ArtifactSync::Native),
                _ => {
                    self.error(
                        Diagnostic::new(Some(span), key_path(path, "artifact_sync"), format!("`{text}` is not a way to sync artifacts"))
                            .hint("use \"lambda\" (the foundation's sync function) or \"native\" (CodePipeline's own cross-region copy)"),
                    );
                    None
                }
            },
        };
        let source_tables = self.tables(table, path, "sources");
        let sources_key = key_path(path, "sources");
        if Self::get(table, "sources").is_some() && source_tables.is_empty() {
            let span = Self::get(table, "sources").map(|v| v.span());
            self.error(
                Diagnostic::new(
                    span,
                    sources_key.clone(),
                    "a pipeline needs at least one source",
                )
                .hint("add sources = [{ name = \"App\", key = \"service/app.zip\" }]"),
            );
        }
        let mut sources = Vec::new();
        let mut source_names = BTreeSet::new();
        for (index, (s, s_span)) in source_tables.iter().enumerate() {
            let spath = index_path(&sources_key, index);
            self.check_keys(s, s_span, &spath, SOURCE_KEYS, &["name", "key"]);
            let name = self.string(s, &spath, "name").and_then(|(name, span)| {
                let valid = !name.is_empty()
                    && name.len() <= 100
                    && name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                if !valid {
                    self.error(
                        Diagnostic::new(
                            Some(span),
                            key_path(&spath, "name"),
                            format!("`{name}` is not a valid artifact name"),
                        )
                        .hint("use 1 to 100 letters, digits, hyphens or underscores"),
                    );
                    None
                } else if !source_names.insert(name.clone()) {
                    self.error(Diagnostic::new(
                        Some(span),
                        key_path(&spath, "name"),
                        format!("source `{name}` is declared twice"),
                    ));
                    None
                } else {
                    Some(name)
                }
            });
            let key = self.string(s, &spath, "key").and_then(|(key, span)| {
                if key.is_empty() || key.len() > 1024 || key.starts_with('/') {
                    self.error(Diagnostic::new(
                        Some(span),
                        key_path(&spath, "key"),
                        "an S3 object key must be 1 to 1024 characters and must not start with `/`",
                    ));
                    None
                } else {
                    Some(key)
                }
            });
            if let (Some(name), Some(key)) = (name, key) {
                sources.push(Source { name, key });
            }
        }
        let stack = self.string(table, path, "stack").and_then(|(stack, span)| {
            let valid = stack.len() <= STACK_NAME_MAX
                && stack.starts_with(|c: char| c.is_ascii_alphabetic())
                && stack.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
            if valid {
                Some(stack)
            } else {
                self.error(Diagnostic::new(Some(span), key_path(path, "stack"), format!("`{stack}` is not a valid CloudFormation stack name"))
                    .hint("start with a letter; use letters, digits and hyphens; at most 128 characters"));
                None
            }
        });
        let template = match self.string(table, path, "template") {
            None if Self::get(table, "template").is_none() => Some("template.yaml".to_owned()),
            None => None,
            Some((template, span)) => {
                if template.trim().is_empty() || template.starts_with('/') {
                    self.error(Diagnostic::new(
                        Some(span),
                        key_path(path, "template"),
                        "the template path must be a relative path inside the source artifact",
                    ));
                    None
                } else {
                    Some(template)
                }
            }
        };
        let (name, name_span) = name?;
        if source_tables.is_empty() || sources.len() != source_tables.len() {
            return None;
        }
        Some((
            Pipeline {
                name,
                targets: targets?,
                artifact_sync: artifact_sync?,
                sources,
                stack: stack?,
                template: template?,
            },
            name_span,
        ))
    }

    /// CodePipeline takes at most 50 stages in a pipeline and 50 actions in a stage.
    fn pipeline_limits(&mut self, topology: &Topology, pipelines: &[(Pipeline, String)]) {
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
    fn same_credentials_per_account(&mut self, build: &Build, targets: &[(Target, String, Span)]) {
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
    fn derived_names(
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
fn iam_arn_owner<'a>(arn: &'a str, kind: &str) -> Option<&'a str> {
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
pub fn parse_role_arn(arn: &str) -> Result<String, String> {
    match iam_arn_owner(arn, "role") {
        Some(account) if AccountId::parse(account).is_ok() => Ok(account.to_owned()),
        _ => Err(format!("`{arn}` is not an IAM role ARN")),
    }
}

/// Accepts AWS managed (`iam::aws:policy/…`) and customer managed policy ARNs.
fn parse_policy_arn(arn: &str) -> Result<(), String> {
    match iam_arn_owner(arn, "policy") {
        Some(owner) if owner == "aws" || AccountId::parse(owner).is_ok() => Ok(()),
        _ => Err(format!("`{arn}` is not an IAM managed policy ARN")),
    }
}
