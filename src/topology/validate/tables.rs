//! The schema of each table of the topology file: which keys it takes, of which type, and
//! what each value must be.

use std::collections::{BTreeMap, BTreeSet};

use toml::de::{DeTable, DeValue};

use super::access::{closest, index_path, key_path};
use super::limits::{STACK_NAME_MAX, parse_policy_arn, parse_role_arn};
use super::{Reader, Span, fields};
use crate::layout::StackKey;
use crate::topology::{
    ACCOUNT_PLACEHOLDER, AccountId, Adopt, ArtifactSync, Build, Credentials, DeployRoles,
    Diagnostic, FoundationName, OrganizationId, Pipeline, Region, Source, Target, Topology,
    UnitTarget, check_name,
};

/// A `[[targets]]` entry: one account, or every account of an organizational unit.
pub(super) enum Entry {
    Account(Target),
    Unit(UnitTarget),
}
/// Days noncurrent object versions are kept when the topology does not say.
const DEFAULT_RETENTION_DAYS: u32 = 30;
/// AWS managed policies that allow creating or changing IAM principals: with them, what is
/// deployed can grant itself anything.
const POWERFUL_POLICIES: &[&str] = &[
    "IAMFullAccess",
    "AdministratorAccess-Amplify",
    "AdministratorAccess-AWSElasticBeanstalk",
];

const TARGET_NAME_MAX: usize = 32;
const PIPELINE_NAME_MAX: usize = 32;
impl Reader {
    pub(super) fn account(&mut self, table: &DeTable<'_>, path: &str) -> Option<(AccountId, Span)> {
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

    pub(super) fn region(&mut self, text: &str, span: Span, path: String) -> Option<Region> {
        match Region::parse(text) {
            Ok(region) => Some(region),
            Err(message) => {
                self.error(Diagnostic::new(Some(span), path, message));
                None
            }
        }
    }

    pub(super) fn credentials(
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

    pub(super) fn name(
        &mut self,
        table: &DeTable<'_>,
        path: &str,
        max: usize,
    ) -> Option<(String, Span)> {
        let (name, span) = self.string(table, path, "name")?;
        match check_name(&name, max) {
            Ok(()) => Some((name, span)),
            Err(message) => {
                self.error(Diagnostic::new(Some(span), key_path(path, "name"), message));
                None
            }
        }
    }

    pub(super) fn topology(&mut self, table: &DeTable<'_>, span: Span) -> Option<Topology> {
        self.check_keys(table, &span, "", fields::TOP);
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
        let organization_id = self.string(table, "", "organization_id").and_then(|(text, span)| {
            match OrganizationId::parse(&text) {
                Ok(id) => Some(id),
                Err(message) => {
                    self.error(Diagnostic::new(Some(span), "organization_id", message).hint(
                        "leave it out to grant each target account by name, or copy the id from the Organizations console",
                    ));
                    None
                }
            }
        });
        let default_role = self.defaults(table);
        let build = match Self::get(table, "build") {
            Some(value) => {
                if let DeValue::Table(t) = value.get_ref() {
                    self.build(t, value.span())
                } else {
                    self.wrong_type(value, "build".into(), "a table (`[build]`)");
                    None
                }
            }
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
                            .map(toml::Spanned::span)
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
        let organization = self.organization(table);
        if organization
            .as_ref()
            .is_some_and(|o| o.deploy_roles == DeployRoles::StackSet)
            && Self::get(table, "organization_id").is_none()
        {
            let span = Self::get(table, "organization").and_then(|o| match o.get_ref() {
                DeValue::Table(t) => Self::get(t, "deploy_roles").map(toml::Spanned::span),
                _ => None,
            });
            self.error(
                Diagnostic::new(
                    span,
                    "organization.deploy_roles",
                    "deploy roles by StackSet need `organization_id`: the artifact buckets and keys must admit the roles of any account of the organization, since accounts join a unit without a run of plinth",
                )
                .hint("add `organization_id = \"o-…\"` at the top of the file, or set `deploy_roles = \"stacks\"`"),
            );
        }
        let mut targets = Vec::new();
        let mut units = Vec::new();
        for (index, (t, t_span)) in target_tables.iter().enumerate() {
            let path = index_path("targets", index);
            match self.target(t, t_span, &path) {
                Some((Entry::Account(mut target), name_span)) => {
                    // A target without its own profile or role_arn gets the default role.
                    if let (Credentials::DefaultChain, Some(template)) =
                        (&target.credentials, &default_role)
                    {
                        target.credentials = Credentials::AssumeRole(
                            template.replace(ACCOUNT_PLACEHOLDER, target.account.as_str()),
                        );
                    }
                    targets.push((target, path, name_span));
                }
                Some((Entry::Unit(mut unit), name_span)) => {
                    // With StackSets, CloudFormation reaches the unit's accounts, not plinth.
                    let stack_sets = organization
                        .as_ref()
                        .is_some_and(|o| o.deploy_roles == DeployRoles::StackSet);
                    if unit.role_arn.is_empty() && !stack_sets {
                        match &default_role {
                            Some(template) => unit.role_arn.clone_from(template),
                            None => self.error(
                                Diagnostic::new(
                                    Some(name_span.clone()),
                                    key_path(&path, "role_arn"),
                                    "a target by organizational unit needs a role to assume in each of its accounts",
                                )
                                .hint("set `role_arn = \"arn:aws:iam::{account}:role/…\"` here, or `[defaults] role_arn`"),
                            ),
                        }
                    }
                    if organization.is_none() && Self::get(table, "organization").is_none() {
                        self.error(
                            Diagnostic::new(
                                Some(name_span.clone()),
                                key_path(&path, "organizational_unit"),
                                "plinth reads which accounts an organizational unit holds through `[organization]`, which is missing",
                            )
                            .hint("add `[organization]` with the `account` of the management account or a delegated administrator, and its `profile` or `role_arn`"),
                        );
                    }
                    units.push((unit, path, name_span));
                }
                None => {}
            }
        }
        let mut boundaries: BTreeMap<&AccountId, (&Option<String>, &str)> = BTreeMap::new();
        for (target, path, name_span) in &targets {
            match boundaries.get(&target.account) {
                Some((boundary, first)) if *boundary != &target.permissions_boundary => {
                    self.error(
                        Diagnostic::new(
                            Some(name_span.clone()),
                            key_path(path, "permissions_boundary"),
                            format!(
                                "account {} already has a different permissions boundary in {first}",
                                target.account
                            ),
                        )
                        .hint("targets in one account share its CloudFormation role: give them the same `permissions_boundary`"),
                    );
                }
                Some(_) => {}
                None => {
                    boundaries.insert(&target.account, (&target.permissions_boundary, path));
                }
            }
        }
        let pipeline_tables = self.tables(table, "", "pipelines");
        let mut pipelines = Vec::new();
        let mut pipeline_names = BTreeSet::new();
        for (index, (p, p_span)) in pipeline_tables.iter().enumerate() {
            let path = index_path("pipelines", index);
            let foundation = name.as_ref().map(|(n, _)| n);
            if let Some((pipeline, name_span)) =
                self.pipeline(p, p_span, &path, &target_spans, foundation)
            {
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
        for (pipeline, path) in &pipelines {
            for (target, accounts) in &pipeline.unit_accounts {
                let list_key = key_path(&key_path(path, "accounts"), target);
                let Some((unit, _, _)) = units.iter().find(|(u, _, _)| &u.name == target) else {
                    self.error(
                        Diagnostic::new(None, &list_key, format!("`{target}` is not a target by organizational unit"))
                            .hint("`accounts` lists accounts only for the targets of this pipeline that name an `organizational_unit`"),
                    );
                    continue;
                };
                if !pipeline.targets.contains(target) {
                    self.error(
                        Diagnostic::new(None, &list_key, format!("the pipeline's `targets` do not name `{target}`"))
                            .hint(format!("add \"{target}\" to `targets` where its stages go, or remove it from `accounts`")),
                    );
                }
                for (index, account) in accounts.iter().enumerate() {
                    if unit.exclude.contains(account) {
                        self.error(
                            Diagnostic::new(
                                None,
                                index_path(&list_key, index),
                                format!("account {account} is excluded from target `{target}`"),
                            )
                            .hint("remove it from `exclude`, or from this list"),
                        );
                    }
                }
            }
            for (index, target) in pipeline.targets.iter().enumerate() {
                if pipeline.unit_accounts.contains_key(target) {
                    continue;
                }
                if units.iter().any(|(u, _, _)| &u.name == target) {
                    self.error(
                        Diagnostic::new(
                            None,
                            index_path(&key_path(path, "targets"), index),
                            format!("`{target}` names an organizational unit, but a pipeline stage deploys to one account"),
                        )
                        .hint(format!("list the accounts of the unit this pipeline deploys to: `accounts = {{ {target} = [\"123456789012\"] }}`")),
                    );
                }
            }
        }
        let adopt = self.adopt(table);
        let ((name, name_span), (build, _)) = (name?, build?);
        if target_tables.is_empty()
            || targets.len() + units.len() != target_tables.len()
            || pipelines.len() != pipeline_tables.len()
            || (Self::get(table, "organization").is_some() && organization.is_none())
        {
            return None;
        }
        self.same_credentials_per_account(&build, &targets);
        let topology = Topology {
            name,
            organization_id,
            build,
            targets: targets.iter().map(|(t, _, _)| t.clone()).collect(),
            units: units.iter().map(|(u, _, _)| u.clone()).collect(),
            organization,
            membership: None,
            management: None,
            pipelines: pipelines.iter().map(|(p, _)| p.clone()).collect(),
            adopt,
            bucket_names: BTreeMap::new(),
        };
        self.derived_names(&topology, &name_span, &pipelines);
        self.pipeline_limits(&topology, &pipelines);
        Some(topology)
    }

    /// `[adopt]`: the original script's stacks, each name defaulting to the script's own.
    fn adopt(&mut self, table: &DeTable<'_>) -> Option<Adopt> {
        let value = Self::get(table, "adopt")?;
        let DeValue::Table(adopt) = value.get_ref() else {
            self.wrong_type(value, "adopt".into(), "a table (`[adopt]`)");
            return None;
        };
        self.check_keys(adopt, &value.span(), "adopt", fields::ADOPT);
        let mut name = |key: &str, default: &str| {
            self.string(adopt, "adopt", key)
                .map_or_else(|| default.to_owned(), |(text, _)| text)
        };
        Some(Adopt {
            primary: name("primary_stack", Adopt::PRIMARY),
            regional: name("regional_stack", Adopt::REGIONAL),
            deploy: name("deploy_stack", Adopt::DEPLOY),
        })
    }

    pub(super) fn build(&mut self, table: &DeTable<'_>, span: Span) -> Option<(Build, Span)> {
        self.check_keys(table, &span, "build", fields::BUILD);
        let account = self.account(table, "build");
        let region = self
            .string(table, "build", "region")
            .and_then(|(text, span)| self.region(&text, span, "build.region".into()));
        let credentials = self.credentials(table, "build", account.as_ref().map(|(a, _)| a));
        let days = self.days(table, "noncurrent_version_expiration_days");
        let artifact_days = self.days(table, "artifact_noncurrent_version_expiration_days");
        let ((account, _), region, credentials, days, artifact_days) =
            (account?, region?, credentials?, days?, artifact_days?);
        Some((
            Build {
                account,
                region,
                credentials,
                noncurrent_version_expiration_days: days,
                artifact_noncurrent_version_expiration_days: artifact_days,
            },
            span,
        ))
    }

    /// A `[build]` retention in days: 1 to 3650, 30 when absent.
    fn days(&mut self, table: &DeTable<'_>, key: &str) -> Option<u32> {
        let path = format!("build.{key}");
        let Some(value) = Self::get(table, key) else {
            return Some(DEFAULT_RETENTION_DAYS);
        };
        if let DeValue::Integer(n) = value.get_ref() {
            match n.as_str().replace('_', "").parse::<u32>() {
                Ok(days) if (1..=3650).contains(&days) && n.radix() == 10 => Some(days),
                _ => {
                    self.error(Diagnostic::new(
                        Some(value.span()),
                        &path,
                        "must be a whole number of days from 1 to 3650",
                    ));
                    None
                }
            }
        } else {
            self.wrong_type(value, path, "a whole number of days");
            None
        }
    }

    pub(super) fn target(
        &mut self,
        table: &DeTable<'_>,
        span: &Span,
        path: &str,
    ) -> Option<(Entry, Span)> {
        self.check_keys(table, span, path, fields::TARGET);
        let name = self.name(table, path, TARGET_NAME_MAX);
        let unit = self.unit(table, path);
        let account = self.account(table, path);
        // A unit's credentials are a role template, read with the unit.
        let credentials = if Self::get(table, "organizational_unit").is_some() {
            Some(Credentials::DefaultChain)
        } else {
            self.credentials(table, path, account.as_ref().map(|(a, _)| a))
        };
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
        let boundary = match Self::get(table, "permissions_boundary") {
            None => Some(None),
            Some(_) => self.string(table, path, "permissions_boundary").and_then(|(text, span)| {
                match parse_policy_arn(&text) {
                    Ok(()) => Some(Some(text)),
                    Err(message) => {
                        self.error(
                            Diagnostic::new(Some(span), key_path(path, "permissions_boundary"), message)
                                .hint("a permissions boundary is a managed policy ARN, such as arn:aws:iam::222222222222:policy/deploy-boundary"),
                        );
                        None
                    }
                }
            }),
        };
        let bounded = matches!(boundary, Some(Some(_)));
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
                    } else if let Some(policy) = POWERFUL_POLICIES
                        .iter()
                        .find(|p| !bounded && text.ends_with(&format!(":policy/{p}")))
                    {
                        self.warn(
                            Diagnostic::new(
                                Some(span.clone()),
                                index_path(&key, index),
                                format!("{policy} lets the applications deployed to this target create or change IAM roles and users, and so give themselves any permission"),
                            )
                            .hint("list the managed policies the applications need instead, or set `permissions_boundary` so that the roles they create are bounded"),
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
        let (name, name_span) = name?;
        if let Some((unit, exclude, role_arn)) = unit? {
            return Some((
                Entry::Unit(UnitTarget {
                    name,
                    unit,
                    exclude,
                    regions: regions?,
                    role_arn: role_arn.unwrap_or_default(),
                    policies: policies?,
                    permissions_boundary: boundary?,
                    approval: approval?,
                }),
                name_span,
            ));
        }
        let Some((account, _)) = account else {
            if Self::get(table, "account").is_none() {
                self.error(
                    Diagnostic::new(
                        Some(span.clone()),
                        key_path(path, "account"),
                        "a target names an `account` or an `organizational_unit`",
                    )
                    .hint("add `account = \"123456789012\"`, or `organizational_unit = \"ou-…\"` for every account of a unit"),
                );
            }
            return None;
        };
        Some((
            Entry::Account(Target {
                name,
                account,
                regions: regions?,
                credentials: credentials?,
                policies: policies?,
                permissions_boundary: boundary?,
                approval: approval?,
                unit: None,
            }),
            name_span,
        ))
    }

    pub(super) fn pipeline(
        &mut self,
        table: &DeTable<'_>,
        span: &Span,
        path: &str,
        known_targets: &BTreeMap<String, String>,
        foundation: Option<&FoundationName>,
    ) -> Option<(Pipeline, Span)> {
        self.check_keys(table, span, path, fields::PIPELINE);
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
        let unit_accounts = self.unit_accounts(table, path);
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
            let span = Self::get(table, "sources").map(toml::Spanned::span);
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
            self.check_keys(s, s_span, &spath, fields::SOURCE);
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
                } else if key.contains(['*', '?']) || key.contains("${") {
                    // The key is the resource of the pipeline role's read statement, where IAM
                    // reads `*` and `?` as wildcards and `${…}` as a policy variable.
                    self.error(
                        Diagnostic::new(
                            Some(span),
                            key_path(&spath, "key"),
                            format!("`{key}` contains `*`, `?` or `${{`, which IAM reads as a wildcard or a variable: the pipeline would be allowed to read more of the build bucket than this object"),
                        )
                        .hint("name the one object the pipeline starts from, such as \"service/app.zip\""),
                    );
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
            let ours = foundation.is_some_and(|f| StackKey::is_foundation_stack(f, &stack));
            if valid && ours {
                self.error(
                    Diagnostic::new(
                        Some(span),
                        key_path(path, "stack"),
                        format!("`{stack}` is the name of one of this foundation's own stacks: the deploy role would be allowed to change the foundation itself"),
                    )
                    .hint("name the application's stack, such as \"service\""),
                );
                None
            } else if valid {
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
                unit_accounts: unit_accounts?,
                artifact_sync: artifact_sync?,
                sources,
                stack: stack?,
                template: template?,
            },
            name_span,
        ))
    }
}
