//! The IAM policies plinth's own identities need, derived from the tool itself: the calls the
//! SDK layer makes (`aws::calls::CALLS`, which a test checks against that layer), and
//! the permissions CloudFormation's resource handlers use with the caller's credentials for the
//! resource types plinth's templates hold (their shipped provider schemas). Pure: reads nothing.
//!
//! One identity per account role plinth runs as: the build account, each target account (or
//! the role of a target by organizational unit, in every account of it), and the organization
//! account. Each gets two documents: `plan`, the reads `plinth plan` makes, and `apply`, what
//! `apply` and `destroy` add. Resources are the foundation's names; a statement whose resource
//! is a wildcard says why in [`Wildcard`].

mod handlers;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{Value, json};

use crate::aws::calls::{BUILD, CALLS, ORGANIZATION, Phase, Scope, TARGET};
use crate::layout::StackKey;
use crate::topology::{AccountId, Credentials, Topology};

pub use handlers::Excluded;

/// IAM's limit for a managed policy document, in characters without whitespace.
pub const MANAGED_POLICY_LIMIT: usize = 6_144;

/// The alias and role names of the original script's foundation, which an adoption deletes
/// with the old stacks (CloudFormation acts with plinth's credentials).
const ORIGINAL_ALIAS: &str = "alias/codepipeline-crossaccounts";
const ORIGINAL_ROLES: &[&str] = &["CrossAccountCodePipeline", "CrossAccountCloudFormation"];

/// The services that pass a foundation role (`iam:PassRole` is limited to them).
const PASSED_TO: &[&str] = &["codepipeline.amazonaws.com", "lambda.amazonaws.com"];

/// One of plinth's identities and what it needs.
#[derive(Debug, Clone, Serialize)]
pub struct Identity {
    /// `build`, `target NAME`, `unit NAME`, `organization`.
    pub name: String,
    /// The account, or `*` for a role in every account of an organizational unit.
    pub account: String,
    /// How plinth reaches it, as the topology says.
    pub credentials: String,
    /// What `plinth plan` needs: reads only.
    pub plan: Document,
    /// What `apply` and `destroy` add to `plan`.
    pub apply: Document,
    /// Every statement whose resource is a wildcard, and why none narrower will do.
    pub wildcards: Vec<Wildcard>,
}

/// An IAM policy document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Document {
    /// Always `2012-10-17`.
    #[serde(rename = "Version")]
    pub version: &'static str,
    /// Its statements.
    #[serde(rename = "Statement")]
    pub statements: Vec<Statement>,
}

/// One statement: always `Allow`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Statement {
    /// What it is for: `ReadStacks`, `ChangeBuckets`, `PassRoles`…
    #[serde(rename = "Sid")]
    pub sid: String,
    /// Always `Allow`.
    #[serde(rename = "Effect")]
    pub effect: &'static str,
    /// The actions, sorted.
    #[serde(rename = "Action")]
    pub actions: Vec<String>,
    /// The resources.
    #[serde(rename = "Resource")]
    pub resources: Vec<String>,
    /// Conditions, when the statement has them.
    #[serde(rename = "Condition", skip_serializing_if = "Option::is_none")]
    pub condition: Option<Value>,
}

/// A statement whose resource is a wildcard (`*`, or every resource of a type in the account).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Wildcard {
    /// The statement.
    pub sid: String,
    /// The wildcard resource.
    pub resource: String,
    /// Why AWS allows nothing narrower.
    pub reason: &'static str,
}

impl Document {
    /// The document as IAM takes it, compact.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a policy document serializes")
    }

    /// Its size as IAM counts it against [`MANAGED_POLICY_LIMIT`] (no whitespace).
    pub fn size(&self) -> usize {
        self.to_json()
            .chars()
            .filter(|c| !c.is_whitespace())
            .count()
    }

    /// Whether any statement lists `action`.
    pub fn allows(&self, action: &str) -> bool {
        self.statements
            .iter()
            .any(|s| s.actions.iter().any(|a| a == action))
    }
}

/// Which kinds of stacks an identity deploys, for the handler permissions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Build,
    Target,
    Organization,
}

/// The identities of `topology`, in the order build, targets, units, organization. An account
/// that is both the build account and a target is one identity that needs both.
pub fn identities(topology: &Topology) -> Vec<Identity> {
    let build_types = handlers::resource_types(topology, Role::Build);
    let target_types = handlers::resource_types(topology, Role::Target);
    let mut out = Vec::new();
    let build_is_target = topology
        .targets
        .iter()
        .any(|t| t.account == topology.build.account);
    let mut build_roles = vec![Role::Build];
    if build_is_target {
        build_roles.push(Role::Target);
    }
    out.push(identity(
        topology,
        "build".into(),
        topology.build.account.as_str().to_owned(),
        &topology.build.credentials,
        &build_roles,
        &build_types,
        &target_types,
    ));
    let mut seen: BTreeSet<&AccountId> = BTreeSet::from([&topology.build.account]);
    for target in &topology.targets {
        if !seen.insert(&target.account) {
            continue;
        }
        out.push(identity(
            topology,
            format!("target {}", target.name),
            target.account.as_str().to_owned(),
            &target.credentials,
            &[Role::Target],
            &build_types,
            &target_types,
        ));
    }
    if !topology.stack_sets() {
        for unit in &topology.units {
            out.push(identity(
                topology,
                format!("unit {}", unit.name),
                "*".into(),
                &Credentials::AssumeRole(unit.role_arn.clone()),
                &[Role::Target],
                &build_types,
                &target_types,
            ));
        }
    }
    if let Some(organization) = &topology.organization {
        out.push(identity(
            topology,
            "organization".into(),
            organization.account.as_str().to_owned(),
            &organization.credentials,
            &[Role::Organization],
            &build_types,
            &target_types,
        ));
    }
    out
}

/// Actions by the phase that first needs them and the scope they act on.
type Grouped = BTreeMap<(Phase, Scope), BTreeSet<String>>;

/// What an identity of these roles, whose stacks hold `types`, needs: actions by (phase,
/// scope), and the services it passes the foundation's roles to (none: no `iam:PassRole`).
fn needs(
    topology: &Topology,
    roles: &[Role],
    types: &BTreeSet<String>,
) -> (Grouped, Vec<&'static str>) {
    let who = roles.iter().fold(0, |who, role| {
        who | match role {
            Role::Build => BUILD,
            Role::Target => TARGET,
            Role::Organization => ORGANIZATION,
        }
    });
    // (phase, scope) -> actions; iam:PassRole goes to its own statement.
    let mut grouped = Grouped::new();
    let mut pass_role = false;
    let stack_set_scope = |scope| {
        matches!(
            scope,
            Scope::StackSets | Scope::StackSetInstances | Scope::AnyStackSet
        )
    };
    let calls = CALLS
        .iter()
        .filter(|c| c.who & who != 0)
        .filter(|c| topology.stack_sets() || !stack_set_scope(c.scope));
    // plinth keeps objects of its own in the build bucket only for the StackSets' record
    // (read by plan) and for templates too large to send (which CloudFormation then reads with
    // the caller's credentials).
    let uploads = who & BUILD != 0 && uploads_templates(topology);
    let own_objects = who & BUILD != 0 && topology.stack_sets();
    for call in calls {
        let mut phase = call.phase;
        if call.scope == Scope::OwnObjects {
            if !own_objects && !uploads {
                continue;
            }
            if !own_objects {
                phase = Phase::Apply;
            }
        }
        for action in call.actions {
            if *action == "iam:PassRole" {
                pass_role = true;
            } else if call.scope != Scope::Nothing {
                grouped
                    .entry((phase, call.scope))
                    .or_default()
                    .insert((*action).to_owned());
            }
        }
    }
    for action in handlers::actions(types) {
        if action == "iam:PassRole" {
            pass_role = true;
            continue;
        }
        let scope = handlers::scope(&action)
            .unwrap_or_else(|| panic!("{action}: a handler action with no scope"));
        grouped
            .entry((Phase::Apply, scope))
            .or_default()
            .insert(action);
    }
    // What the identity's stacks do not hold, it never reads nor repairs.
    let holds = |resource_type: &str| types.contains(resource_type);
    grouped.retain(|(_, scope), _| match scope {
        Scope::Pipelines => holds("AWS::CodePipeline::Pipeline"),
        Scope::Functions => holds("AWS::Lambda::Function"),
        Scope::LogGroups | Scope::AnyLogGroup => holds("AWS::Logs::LogGroup"),
        _ => true,
    });
    let mut passed_to: Vec<&'static str> = [
        ("AWS::CodePipeline::Pipeline", PASSED_TO[0]),
        ("AWS::Lambda::Function", PASSED_TO[1]),
    ]
    .into_iter()
    .filter(|(t, _)| holds(t))
    .map(|(_, service)| service)
    .collect();
    if !pass_role {
        passed_to.clear();
    }
    // What plan's document allows on the same resources, apply's need not repeat.
    let read: BTreeMap<Scope, BTreeSet<String>> = grouped
        .iter()
        .filter(|((phase, _), _)| *phase == Phase::Plan)
        .map(|((_, scope), actions)| (*scope, actions.clone()))
        .collect();
    for ((phase, scope), actions) in &mut grouped {
        if *phase == Phase::Apply {
            if let Some(read) = read.get(scope) {
                actions.retain(|a| !read.contains(a));
            }
        }
    }
    grouped.retain(|_, actions| !actions.is_empty());
    (grouped, passed_to)
}

fn identity(
    topology: &Topology,
    name: String,
    account: String,
    credentials: &Credentials,
    roles: &[Role],
    build_types: &BTreeSet<String>,
    target_types: &BTreeSet<String>,
) -> Identity {
    let mut types = BTreeSet::new();
    if roles.contains(&Role::Build) {
        types.extend(build_types.iter().cloned());
    }
    if roles.contains(&Role::Target) {
        types.extend(target_types.iter().cloned());
    }
    let (grouped, passed_to) = needs(topology, roles, &types);
    let names = Names::new(topology, &account);
    let mut plan = Vec::new();
    let mut apply = Vec::new();
    let mut wildcards = Vec::new();
    // Roles the credential chain assumes with this identity's credentials.
    let assumed = collapse_accounts(assumed_roles(topology, roles));
    if !assumed.is_empty() {
        for arn in assumed.iter().filter(|a| a.starts_with("arn:aws:iam::*:")) {
            wildcards.push(Wildcard {
                sid: "AssumeRoles".into(),
                resource: arn.clone(),
                reason: "the role of every account of a unit, or of more accounts than a \
                         managed policy can list: each role's trust policy still decides who \
                         may assume it",
            });
        }
        plan.push(Statement {
            sid: "AssumeRoles".into(),
            effect: "Allow",
            actions: vec!["sts:AssumeRole".into()],
            resources: assumed.into_iter().collect(),
            condition: None,
        });
    }
    for ((phase, scope), actions) in grouped {
        let sid = format!(
            "{}{}",
            match phase {
                Phase::Plan => "Read",
                Phase::Apply => "Change",
            },
            scope_sid(scope)
        );
        let resources = names.resources(scope);
        for resource in resources.iter().filter(|r| is_wildcard(r)) {
            wildcards.push(Wildcard {
                sid: sid.clone(),
                resource: resource.clone(),
                reason: wildcard_reason(scope, resource),
            });
        }
        let statement = Statement {
            sid,
            effect: "Allow",
            actions: actions.into_iter().collect(),
            resources,
            condition: None,
        };
        match phase {
            Phase::Plan => plan.push(statement),
            Phase::Apply => apply.push(statement),
        }
    }
    if !passed_to.is_empty() {
        apply.push(Statement {
            sid: "PassRoles".into(),
            effect: "Allow",
            actions: vec!["iam:PassRole".into()],
            resources: names.resources(Scope::Roles),
            condition: Some(json!({ "StringEquals": { "iam:PassedToService": passed_to } })),
        });
    }
    Identity {
        name,
        account,
        credentials: credentials.to_string(),
        plan: Document {
            version: "2012-10-17",
            statements: plan,
        },
        apply: Document {
            version: "2012-10-17",
            statements: apply,
        },
        wildcards,
    }
}

/// Whether a template of the build account is too large to send as `TemplateBody`, so that
/// apply uploads it to the build bucket.
fn uploads_templates(topology: &Topology) -> bool {
    let graph = crate::ops::fresh_graph(topology);
    crate::templates::render_graph(topology, &graph)
        .iter()
        .any(|node| {
            node.stack.account == topology.build.account
                && node.template.body().to_string().len() > crate::plan::TEMPLATE_BODY_LIMIT
        })
}

/// The roles the build identity's credentials assume: targets (and units, and the organization)
/// reached by `role_arn`.
fn assumed_roles(topology: &Topology, roles: &[Role]) -> BTreeSet<String> {
    if !roles.contains(&Role::Build) {
        return BTreeSet::new();
    }
    let mut out = BTreeSet::new();
    let credentials = topology
        .targets
        .iter()
        .map(|t| &t.credentials)
        .chain(topology.organization.iter().map(|o| &o.credentials));
    for credentials in credentials {
        if let Credentials::AssumeRole(arn) = credentials {
            out.insert(arn.clone());
        }
    }
    if !topology.stack_sets() {
        for unit in &topology.units {
            out.insert(
                unit.role_arn
                    .replace(crate::topology::ACCOUNT_PLACEHOLDER, "*"),
            );
        }
    }
    out
}

/// How many accounts' roles of one name the policy lists one by one; more are one ARN with `*`
/// for the account, which keeps the document within a managed policy's size.
const LISTED_ACCOUNTS: usize = 10;

/// Role ARNs, with those of one role name in more than [`LISTED_ACCOUNTS`] accounts made one.
fn collapse_accounts(arns: BTreeSet<String>) -> BTreeSet<String> {
    let mut by_name: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for arn in arns {
        // arn:aws:iam::ACCOUNT:role/NAME
        let name = arn.splitn(6, ':').nth(5).unwrap_or_default().to_owned();
        by_name.entry(name).or_default().push(arn);
    }
    by_name
        .into_iter()
        .flat_map(|(name, arns)| {
            if arns.len() > LISTED_ACCOUNTS {
                vec![format!("arn:aws:iam::*:{name}")]
            } else {
                arns
            }
        })
        .collect()
}

fn scope_sid(scope: Scope) -> &'static str {
    match scope {
        Scope::Stacks => "Stacks",
        Scope::ChangeSets => "ChangeSets",
        Scope::AnyStack => "AnyStack",
        Scope::StackSets => "StackSets",
        Scope::StackSetInstances => "StackSetInstances",
        Scope::AnyStackSet => "AnyStackSet",
        Scope::Buckets => "Buckets",
        Scope::AnyBucket => "AnyBucket",
        Scope::Objects => "Objects",
        Scope::OwnObjects => "OwnObjects",
        Scope::Keys => "Keys",
        Scope::Aliases => "Aliases",
        Scope::AnyKey => "AnyKey",
        Scope::Roles => "Roles",
        Scope::Functions => "Functions",
        Scope::LogGroups => "LogGroups",
        Scope::AnyLogGroup => "AnyLogGroup",
        Scope::Pipelines => "Pipelines",
        Scope::Organization => "Organization",
        Scope::Nothing => "Nothing",
    }
}

/// Whether a resource names no resource of the foundation's: `*`, or every resource of a type
/// in the account.
fn is_wildcard(resource: &str) -> bool {
    resource == "*"
        || [
            ":key/*",
            ":log-group:*",
            ":stackset-target/*",
            ":type/resource/*",
        ]
        .iter()
        .any(|end| resource.ends_with(end))
}

/// Why a wildcard resource of a scope's statement is the narrowest AWS allows.
fn wildcard_reason(scope: Scope, resource: &str) -> &'static str {
    match scope {
        Scope::AnyStack => {
            "DescribeStacks without a stack name (how plinth finds the foundation's stacks by \
             tag), DescribeStackResources by physical id and ListImports name no stack"
        }
        Scope::AnyStackSet => "ListStackSets names no StackSet",
        Scope::AnyBucket => "ListAllMyBuckets names no bucket",
        Scope::AnyKey => "CreateKey, ListKeys and ListAliases name no key",
        Scope::Keys => {
            "a key's id is random and its own actions take no alias: keys are scoped to the \
             account"
        }
        Scope::Aliases => {
            "an alias action also authorizes the key the alias names, whose id is random"
        }
        Scope::AnyLogGroup => "DescribeLogGroups lists the account's log groups",
        Scope::StackSetInstances if resource.ends_with(":type/resource/*") => {
            "stack instance operations authorize the resource types the StackSet deploys"
        }
        Scope::StackSetInstances => {
            "stack instance operations authorize the organizational units they target, named \
             by no foundation name"
        }
        Scope::Organization => {
            "Organizations' reads act on the organization's root and units, which the \
             topology names by id, not ARN"
        }
        _ => "",
    }
}

/// The foundation's resource names as ARN patterns, for one account.
struct Names {
    account: String,
    foundation: String,
    stacks: Vec<String>,
    buckets: Vec<String>,
    adopting: bool,
}

impl Names {
    fn new(topology: &Topology, account: &str) -> Self {
        let foundation = topology.name.to_string();
        let mut stacks = vec![format!("{foundation}-*")];
        let mut buckets = vec![format!("{foundation}-*")];
        if let Some(adopt) = &topology.adopt {
            for stack in [&adopt.primary, &adopt.regional, &adopt.deploy] {
                stacks.push(stack.clone());
                // Names CloudFormation made for the old stacks' buckets.
                buckets.push(format!("{}-*", stack.to_lowercase()));
            }
        }
        buckets.extend(topology.bucket_names.values().cloned());
        buckets.sort();
        buckets.dedup();
        Self {
            account: account.to_owned(),
            foundation,
            stacks,
            buckets,
            adopting: topology.adopt.is_some(),
        }
    }

    fn resources(&self, scope: Scope) -> Vec<String> {
        let a = &self.account;
        let f = &self.foundation;
        let stacks = || {
            self.stacks
                .iter()
                .map(|s| format!("arn:aws:cloudformation:*:{a}:stack/{s}/*"))
                .collect::<Vec<_>>()
        };
        let stack_sets = || {
            vec![format!(
                "arn:aws:cloudformation:*:{a}:stackset/{}:*",
                StackKey::StackSet { target: "*".into() }
                    .stack_name(&crate::topology::FoundationName::parse(f).expect("a valid name"))
            )]
        };
        let buckets = || {
            self.buckets
                .iter()
                .map(|b| format!("arn:aws:s3:::{b}"))
                .collect::<Vec<_>>()
        };
        let roles = || {
            let mut out = vec![format!("arn:aws:iam::{a}:role/{f}-*")];
            if self.adopting {
                out.extend(
                    ORIGINAL_ROLES
                        .iter()
                        .map(|r| format!("arn:aws:iam::{a}:role/{r}")),
                );
            }
            out
        };
        match scope {
            Scope::Stacks => stacks(),
            Scope::ChangeSets => {
                let mut out = stacks();
                out.push(format!("arn:aws:cloudformation:*:{a}:changeSet/plinth-*/*"));
                out
            }
            Scope::StackSets => stack_sets(),
            Scope::StackSetInstances => {
                let mut out = stack_sets();
                out.push(format!("arn:aws:cloudformation:*:{a}:stackset-target/*"));
                out.push("arn:aws:cloudformation:*::type/resource/*".into());
                out
            }
            Scope::Buckets => buckets(),
            Scope::Objects => buckets().into_iter().map(|b| format!("{b}/*")).collect(),
            Scope::OwnObjects => buckets()
                .into_iter()
                .map(|b| format!("{b}/plinth/*"))
                .collect(),
            Scope::Keys => vec![format!("arn:aws:kms:*:{a}:key/*")],
            Scope::Aliases => {
                let mut out = vec![format!("arn:aws:kms:*:{a}:alias/{f}-*")];
                if self.adopting {
                    out.push(format!("arn:aws:kms:*:{a}:{ORIGINAL_ALIAS}"));
                }
                out.push(format!("arn:aws:kms:*:{a}:key/*"));
                out
            }
            Scope::Roles => roles(),
            Scope::Functions => vec![format!("arn:aws:lambda:*:{a}:function:{f}-*")],
            Scope::LogGroups => vec![format!("arn:aws:logs:*:{a}:log-group:/aws/lambda/{f}-*")],
            Scope::AnyLogGroup => vec![format!("arn:aws:logs:*:{a}:log-group:*")],
            Scope::Pipelines => vec![format!("arn:aws:codepipeline:*:{a}:{f}-*")],
            Scope::AnyStack
            | Scope::AnyStackSet
            | Scope::AnyBucket
            | Scope::AnyKey
            | Scope::Organization
            | Scope::Nothing => vec!["*".into()],
        }
    }
}

/// An action AWS refused one of plinth's identities, read from an error message.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Denial {
    /// The account of the identity AWS refused.
    pub account: String,
    /// The IAM action.
    pub action: String,
    /// Whether the policy `plinth policy` prints for some identity allows the action.
    pub printed: bool,
}

impl Denial {
    /// What to do about it.
    pub fn hint(&self) -> String {
        if self.printed {
            format!(
                "account {}'s credentials are not allowed {}: the policy `plinth policy` prints for it allows it; attach that policy, then run plinth again",
                self.account, self.action
            )
        } else {
            format!(
                "account {}'s credentials are not allowed {}, which the policy `plinth policy` prints does not allow: please report it, and allow it meanwhile",
                self.account, self.action
            )
        }
    }
}

/// What to do about a refusal, naming the statement of the printed policy that allows the
/// action to the identity of the refused account, when there is one.
pub fn explain(identities: &[Identity], denial: &Denial) -> String {
    let identity = identities
        .iter()
        .find(|i| i.account == denial.account)
        .or_else(|| identities.iter().find(|i| i.account == "*"));
    let found = identity.and_then(|identity| {
        [("plan", &identity.plan), ("apply", &identity.apply)]
            .into_iter()
            .find_map(|(name, document)| {
                document
                    .statements
                    .iter()
                    .find(|s| s.actions.contains(&denial.action))
                    .map(|s| (identity, name, s))
            })
    });
    match found {
        Some((identity, document, statement)) => format!(
            "account {}'s credentials are not allowed {}: the policy `plinth policy` prints for it allows it ({}, statement {} of the {document} document); attach that policy, then run plinth again",
            denial.account, denial.action, identity.name, statement.sid
        ),
        None => denial.hint(),
    }
}

/// The refusals an error text reports, in AWS's words: `User: arn:aws:sts::ACCOUNT:assumed-role/…
/// is not authorized to perform: ACTION`.
pub fn denials(text: &str) -> Vec<Denial> {
    let known = every_action();
    let mut out = BTreeSet::new();
    for (start, _) in text.match_indices("User: arn:") {
        let rest = &text[start + "User: ".len()..];
        let Some(account) = rest.split(':').nth(4).filter(|a| a.len() == 12) else {
            continue;
        };
        let Some(at) = rest.find("is not authorized to perform: ") else {
            continue;
        };
        let action: String = rest[at + "is not authorized to perform: ".len()..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == ':' || *c == '-')
            .collect();
        if action.contains(':') {
            out.insert(Denial {
                account: account.to_owned(),
                printed: known.contains(&action),
                action,
            });
        }
    }
    out.into_iter().collect()
}

/// Every action some printed policy may hold: each call's and each shipped resource type's
/// handler permissions but the excluded, and the role assumption.
fn every_action() -> BTreeSet<String> {
    let mut out: BTreeSet<String> = CALLS
        .iter()
        .flat_map(|c| c.actions.iter().map(|a| (*a).to_owned()))
        .collect();
    out.extend(handlers::actions(&handlers::shipped_types()));
    out.insert("sts:AssumeRole".into());
    out
}

/// The resource handlers' permissions plinth leaves out, each with its reason.
pub fn excluded() -> &'static [Excluded] {
    handlers::excluded()
}

/// The foundation's name.
pub fn foundation(topology: &Topology) -> String {
    topology.name.to_string()
}

/// The identity a name or account designates: `build`, `organization`, a target's or unit's
/// name (with or without `target `/`unit `), or an account id.
pub fn find<'a>(identities: &'a [Identity], which: &str) -> Option<&'a Identity> {
    identities.iter().find(|i| {
        i.name == which
            || i.account == which
            || i.name
                .split_once(' ')
                .is_some_and(|(_, name)| name == which)
    })
}

/// A CloudFormation template that makes an identity's documents managed policies of its
/// account, attached to the roles given as the `Roles` parameter.
pub fn cloudformation(foundation: &str, identity: &Identity) -> Value {
    let mut resources = serde_json::Map::new();
    for (logical, suffix, document, what) in [
        (
            "PlanPolicy",
            "plan",
            &identity.plan,
            "what plinth plan reads",
        ),
        (
            "ApplyPolicy",
            "apply",
            &identity.apply,
            "what plinth apply and destroy add",
        ),
    ] {
        if document.statements.is_empty() {
            continue;
        }
        let mut resource = json!({
            "Type": "AWS::IAM::ManagedPolicy",
            "Properties": {
                "ManagedPolicyName": format!("{foundation}-plinth-{suffix}"),
                "Description": format!("plinth, foundation {foundation}, {}: {what}", identity.name),
                "PolicyDocument": document,
                "Roles": { "Ref": "Roles" },
            },
        });
        let wildcards: Vec<&Wildcard> = identity
            .wildcards
            .iter()
            .filter(|w| document.statements.iter().any(|s| s.sid == w.sid))
            .collect();
        if !wildcards.is_empty() {
            resource["Metadata"] = json!({ "plinth": { "wildcards": wildcards } });
        }
        resources.insert(logical.to_owned(), resource);
    }
    json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": format!(
            "The IAM policies plinth needs as {} of foundation {foundation} (account {}), from plinth policy",
            identity.name, identity.account
        ),
        "Parameters": {
            "Roles": {
                "Type": "CommaDelimitedList",
                "Description": "The names of the roles plinth runs as in this account",
            },
        },
        "Resources": resources,
    })
}

/// The JSON `plinth policy --json` prints.
pub fn to_json(topology: &Topology, identities: &[Identity]) -> Value {
    json!({
        "foundation": topology.name.to_string(),
        "identities": identities,
        "excluded": handlers::excluded(),
    })
}

#[cfg(test)]
mod tests;
