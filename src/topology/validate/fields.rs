//! The shape of the topology file, once: every table, its keys, their types and which are
//! required. The parser checks keys against these tables, and `plinth schema` writes them as a
//! JSON Schema, so the two cannot drift apart.

use serde_json::{Map, Value, json};

/// What a key holds.
pub(crate) enum Kind {
    String,
    /// A 12-digit account id, as a string.
    Account,
    /// An AWS region name.
    Region,
    Bool,
    Integer {
        min: u32,
        max: u32,
    },
    /// One of the given strings.
    OneOf(&'static [&'static str]),
    Strings,
    Regions,
    Table(&'static [Field]),
    /// An array of tables (`[[targets]]`, or inline tables in a list).
    Tables(&'static [Field]),
    /// A table of lists of account ids, keyed by a name the file gives.
    AccountLists,
}

pub(crate) struct Field {
    pub(crate) key: &'static str,
    pub(crate) kind: Kind,
    pub(crate) required: bool,
    pub(crate) about: &'static str,
}

const fn field(key: &'static str, kind: Kind, required: bool, about: &'static str) -> Field {
    Field {
        key,
        kind,
        required,
        about,
    }
}

pub(crate) const TOP: &[Field] = &[
    field(
        "name",
        Kind::String,
        true,
        "Prefix of every stack, role and bucket plinth creates: lowercase letters, digits and hyphens, starting with a letter",
    ),
    field(
        "build",
        Kind::Table(BUILD),
        true,
        "The account that builds and runs the pipelines",
    ),
    field(
        "targets",
        Kind::Tables(TARGET),
        true,
        "One entry per deployment environment, in pipeline order",
    ),
    field(
        "pipelines",
        Kind::Tables(PIPELINE),
        false,
        "The pipelines that stand on the foundation, one stack each",
    ),
    field(
        "organization_id",
        Kind::String,
        false,
        "An AWS Organizations id (o-…): grants name the organization instead of every target account",
    ),
    field(
        "defaults",
        Kind::Table(DEFAULTS),
        false,
        "Defaults for targets that name neither profile nor role_arn",
    ),
    field(
        "organization",
        Kind::Table(ORGANIZATION),
        false,
        "Where the organizational units that targets name are read",
    ),
    field(
        "adopt",
        Kind::Table(ADOPT),
        false,
        "A foundation built by the original bootstrap.sh that plinth takes over: its buckets and keys move into plinth's stacks under their own names, with their contents",
    ),
];

pub(crate) const ADOPT: &[Field] = &[
    field(
        "primary_stack",
        Kind::String,
        false,
        "The original stack of the build region (default \"CrossAccountPrimary\")",
    ),
    field(
        "regional_stack",
        Kind::String,
        false,
        "The original stack of each other region (default \"CrossAccountRegional\")",
    ),
    field(
        "deploy_stack",
        Kind::String,
        false,
        "The original stack of each target account (default \"CrossAccountDeploy\")",
    ),
];

pub(crate) const ORGANIZATION: &[Field] = &[
    field(
        "account",
        Kind::Account,
        true,
        "The management account, or a delegated administrator, that reads the organizational units",
    ),
    field(
        "profile",
        Kind::String,
        false,
        "A profile of your AWS config for this account",
    ),
    field(
        "role_arn",
        Kind::String,
        false,
        "A role in this account, assumed with the build account's credentials",
    ),
    field(
        "deploy_roles",
        Kind::OneOf(&["stacks", "stackset"]),
        false,
        "How the units' accounts get their deploy roles: a stack each by plinth (\"stacks\", the default) or a service-managed StackSet per unit (\"stackset\", needs organization_id)",
    ),
    field(
        "max_concurrent_percentage",
        Kind::Integer { min: 1, max: 100 },
        false,
        "StackSet operations: the share of a unit's accounts deployed at once (default 25)",
    ),
    field(
        "failure_tolerance_percentage",
        Kind::Integer { min: 0, max: 100 },
        false,
        "StackSet operations: the share of a unit's accounts that may fail before CloudFormation stops (default 10)",
    ),
    field(
        "delegated_admin",
        Kind::Bool,
        false,
        "The account is a delegated administrator for StackSets, not the management account",
    ),
];

pub(crate) const DEFAULTS: &[Field] = &[field(
    "role_arn",
    Kind::String,
    false,
    "A role assumed in every target account that names neither profile nor role_arn; {account} is replaced by its id",
)];

pub(crate) const BUILD: &[Field] = &[
    field("account", Kind::Account, true, "The build account id"),
    field(
        "region",
        Kind::Region,
        true,
        "Where the build bucket, the primary artifact bucket and the pipelines live",
    ),
    field(
        "profile",
        Kind::String,
        false,
        "A profile of your AWS config for this account",
    ),
    field(
        "role_arn",
        Kind::String,
        false,
        "A role in this account, assumed from the default credential chain",
    ),
    field(
        "noncurrent_version_expiration_days",
        Kind::Integer { min: 1, max: 3650 },
        false,
        "Days after which noncurrent versions in the build bucket expire (default 30)",
    ),
    field(
        "artifact_noncurrent_version_expiration_days",
        Kind::Integer { min: 1, max: 3650 },
        false,
        "Days after which noncurrent versions in the artifact buckets expire (default 30)",
    ),
];

pub(crate) const TARGET: &[Field] = &[
    field(
        "name",
        Kind::String,
        true,
        "Unique; lowercase letters, digits, hyphens",
    ),
    field(
        "account",
        Kind::Account,
        false,
        "The target account id (or `organizational_unit`)",
    ),
    field(
        "organizational_unit",
        Kind::String,
        false,
        "An organizational unit (ou-…) or root (r-…) id instead of `account`: every active account in it and in the units below it",
    ),
    field(
        "exclude",
        Kind::Strings,
        false,
        "With `organizational_unit`: account ids of the unit that are not targets",
    ),
    field(
        "regions",
        Kind::Regions,
        true,
        "Where this target's application stacks are deployed",
    ),
    field(
        "profile",
        Kind::String,
        false,
        "A profile of your AWS config for this account",
    ),
    field(
        "role_arn",
        Kind::String,
        false,
        "A role in this account, assumed with the build account's credentials",
    ),
    field(
        "policies",
        Kind::Strings,
        false,
        "Managed policy ARNs attached to the role CloudFormation runs as in this account",
    ),
    field(
        "permissions_boundary",
        Kind::String,
        false,
        "A managed policy ARN that bounds that role and every role or user it creates",
    ),
    field(
        "approval",
        Kind::Bool,
        false,
        "A manual approval before this target's change sets execute (default false)",
    ),
];

pub(crate) const PIPELINE: &[Field] = &[
    field(
        "name",
        Kind::String,
        true,
        "Unique; lowercase letters, digits, hyphens",
    ),
    field(
        "targets",
        Kind::Strings,
        true,
        "The targets it deploys to, in order, one stage each",
    ),
    field(
        "accounts",
        Kind::AccountLists,
        false,
        "For each target of `targets` that names an organizational unit, the accounts of the unit this pipeline deploys to, one stage each, in order",
    ),
    field(
        "artifact_sync",
        Kind::OneOf(&["lambda", "native"]),
        false,
        "How artifacts reach the other regions (default lambda)",
    ),
    field(
        "sources",
        Kind::Tables(SOURCE),
        true,
        "The pipeline's inputs, read from the build bucket; the first starts runs",
    ),
    field(
        "stack",
        Kind::String,
        true,
        "The application stack each target gets",
    ),
    field(
        "template",
        Kind::String,
        false,
        "The template's path inside the first source (default template.yaml)",
    ),
];

pub(crate) const SOURCE: &[Field] = &[
    field("name", Kind::String, true, "The artifact's name"),
    field(
        "key",
        Kind::String,
        true,
        "The object key in the build bucket",
    ),
];

pub(crate) fn keys(fields: &[Field]) -> Vec<&'static str> {
    fields.iter().map(|f| f.key).collect()
}

pub(crate) fn required(fields: &[Field]) -> Vec<&'static str> {
    fields
        .iter()
        .filter(|f| f.required)
        .map(|f| f.key)
        .collect()
}

/// The topology file's JSON Schema (draft 4, which the common TOML language servers read):
/// strict on unknown keys, with every type and required key.
pub fn schema() -> Value {
    let mut root = object(TOP);
    root["$schema"] = json!("http://json-schema.org/draft-04/schema#");
    root["title"] = json!("plinth topology");
    root["description"] = json!(
        "The foundation plinth builds: a build account, target accounts and their regions, pipelines"
    );
    root
}

fn object(fields: &[Field]) -> Value {
    let mut properties = Map::new();
    for f in fields {
        let mut value = shape(&f.kind);
        value["description"] = json!(f.about);
        properties.insert(f.key.to_owned(), value);
    }
    let mut out = json!({
        "type": "object",
        "properties": properties,
        "additionalProperties": false,
    });
    let required = required(fields);
    if !required.is_empty() {
        out["required"] = json!(required);
    }
    out
}

fn shape(kind: &Kind) -> Value {
    match kind {
        Kind::String => json!({ "type": "string" }),
        Kind::Account => json!({ "type": "string", "pattern": "^[0-9]{12}$" }),
        Kind::Region => json!({ "type": "string", "pattern": "^[a-z]{2}(-[a-z]+)+-[0-9]$" }),
        Kind::Bool => json!({ "type": "boolean" }),
        Kind::Integer { min, max } => json!({ "type": "integer", "minimum": min, "maximum": max }),
        Kind::OneOf(values) => json!({ "type": "string", "enum": values }),
        Kind::Strings => json!({ "type": "array", "items": { "type": "string" } }),
        Kind::Regions => json!({
            "type": "array", "minItems": 1, "uniqueItems": true,
            "items": shape(&Kind::Region),
        }),
        Kind::Table(fields) => object(fields),
        Kind::Tables(fields) => json!({ "type": "array", "items": object(fields) }),
        Kind::AccountLists => json!({
            "type": "object",
            "additionalProperties": {
                "type": "array", "minItems": 1, "uniqueItems": true,
                "items": shape(&Kind::Account),
            },
        }),
    }
}
