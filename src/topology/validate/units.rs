//! The parts of the topology file about organizations: `[organization]`, `[defaults]` and its
//! role template, a target's `organizational_unit` and `exclude`, and a pipeline's `accounts`.

use std::collections::BTreeMap;

use toml::de::{DeTable, DeValue};

use super::access::{index_path, key_path};
use super::limits::parse_role_arn;
use super::{Reader, Span, fields};
use crate::topology::{
    ACCOUNT_PLACEHOLDER, AccountId, DeployRoles, Diagnostic, Organization, OrganizationalUnitId,
    StackSetOptions,
};

impl Reader {
    /// `[organization]`: the account that reads the organizational units, and its credentials.
    pub(super) fn organization(&mut self, table: &DeTable<'_>) -> Option<Organization> {
        let value = Self::get(table, "organization")?;
        let DeValue::Table(organization) = value.get_ref() else {
            self.wrong_type(value, "organization".into(), "a table (`[organization]`)");
            return None;
        };
        self.check_keys(
            organization,
            &value.span(),
            "organization",
            fields::ORGANIZATION,
        );
        let account = self.account(organization, "organization");
        let credentials = self.credentials(
            organization,
            "organization",
            account.as_ref().map(|(a, _)| a),
        );
        let deploy_roles = match self.string(organization, "organization", "deploy_roles") {
            None if Self::get(organization, "deploy_roles").is_none() => Some(DeployRoles::Stacks),
            None => None,
            Some((text, span)) => match text.as_str() {
                "stacks" => Some(DeployRoles::Stacks),
                "stackset" => Some(DeployRoles::StackSet),
                _ => {
                    self.error(
                        Diagnostic::new(
                            Some(span),
                            "organization.deploy_roles",
                            format!("`{text}` is not a way to deploy the deploy roles"),
                        )
                        .hint("use \"stacks\" (a stack per account, by plinth) or \"stackset\" (a service-managed StackSet per organizational unit)"),
                    );
                    None
                }
            },
        };
        let max_concurrent = self.percentage(
            organization,
            "max_concurrent_percentage",
            1,
            StackSetOptions::DEFAULT_MAX_CONCURRENT_PERCENTAGE,
        );
        let failure_tolerance = self.percentage(
            organization,
            "failure_tolerance_percentage",
            0,
            StackSetOptions::DEFAULT_FAILURE_TOLERANCE_PERCENTAGE,
        );
        let delegated_admin = match Self::get(organization, "delegated_admin") {
            None => Some(false),
            Some(_) => self.boolean(organization, "organization", "delegated_admin"),
        };
        Some(Organization {
            account: account?.0,
            credentials: credentials?,
            deploy_roles: deploy_roles?,
            stack_set: StackSetOptions {
                max_concurrent_percentage: max_concurrent?,
                failure_tolerance_percentage: failure_tolerance?,
                delegated_admin: delegated_admin?,
            },
        })
    }

    /// An `[organization]` percentage of a unit's accounts: `min` to 100, `default` when absent.
    pub(super) fn percentage(
        &mut self,
        table: &DeTable<'_>,
        key: &str,
        min: u32,
        default: u32,
    ) -> Option<u32> {
        let path = format!("organization.{key}");
        let Some(value) = Self::get(table, key) else {
            return Some(default);
        };
        if let DeValue::Integer(n) = value.get_ref() {
            match n.as_str().replace('_', "").parse::<u32>() {
                Ok(share) if (min..=100).contains(&share) && n.radix() == 10 => Some(share),
                _ => {
                    self.error(Diagnostic::new(
                        Some(value.span()),
                        &path,
                        format!("must be a whole percentage from {min} to 100"),
                    ));
                    None
                }
            }
        } else {
            self.wrong_type(value, path, "a whole percentage");
            None
        }
    }

    /// A role ARN template: `{account}` where each account's id goes, and an IAM role ARN once
    /// it is filled in. `who` says which accounts would share one role without the placeholder.
    pub(super) fn role_template(
        &mut self,
        template: &str,
        span: Span,
        key: &str,
        who: &str,
    ) -> Option<()> {
        let hint = "write the role ARN with {account} where the account id goes: arn:aws:iam::{account}:role/OrganizationAccountAccessRole";
        if !template.contains(ACCOUNT_PLACEHOLDER) {
            self.error(
                Diagnostic::new(
                    Some(span),
                    key,
                    format!("`{template}` has no `{ACCOUNT_PLACEHOLDER}`, so {who} would assume the same account's role"),
                )
                .hint(hint),
            );
            return None;
        }
        if let Err(message) = parse_role_arn(&template.replace(ACCOUNT_PLACEHOLDER, "123456789012"))
        {
            self.error(Diagnostic::new(Some(span), key, message).hint(hint));
            return None;
        }
        Some(())
    }

    /// `[defaults]`: a `role_arn` with `{account}` in place of the account id, assumed (filled in)
    /// for every target that names neither `profile` nor `role_arn`.
    pub(super) fn defaults(&mut self, table: &DeTable<'_>) -> Option<String> {
        let value = Self::get(table, "defaults")?;
        let DeValue::Table(defaults) = value.get_ref() else {
            self.wrong_type(value, "defaults".into(), "a table (`[defaults]`)");
            return None;
        };
        self.check_keys(defaults, &value.span(), "defaults", fields::DEFAULTS);
        let (template, span) = self.string(defaults, "defaults", "role_arn")?;
        self.role_template(&template, span, "defaults.role_arn", "every target")?;
        Some(template)
    }

    /// A target's `organizational_unit`, with its `exclude` list and its own `role_arn` template
    /// when it has one. `Some(None)`: the target names an account instead.
    #[expect(
        clippy::type_complexity,
        reason = "read once, by `target`, which takes it apart at once"
    )]
    pub(super) fn unit(
        &mut self,
        table: &DeTable<'_>,
        path: &str,
    ) -> Option<Option<(OrganizationalUnitId, Vec<AccountId>, Option<String>)>> {
        if Self::get(table, "organizational_unit").is_none() {
            if let Some(exclude) = Self::get(table, "exclude") {
                self.error(
                    Diagnostic::new(
                        Some(exclude.span()),
                        key_path(path, "exclude"),
                        "`exclude` lists accounts of an organizational unit, but this target names an account",
                    )
                    .hint("remove `exclude`, or replace `account` with `organizational_unit = \"ou-…\"`"),
                );
                return None;
            }
            return Some(None);
        }
        let key = key_path(path, "organizational_unit");
        let (text, unit_span) = self.string(table, path, "organizational_unit")?;
        let mut ok = true;
        let unit = match OrganizationalUnitId::parse(&text) {
            Ok(unit) => Some(unit),
            Err(message) => {
                self.error(Diagnostic::new(Some(unit_span.clone()), &key, message));
                None
            }
        };
        if let Some(account) = Self::get(table, "account") {
            self.error(
                Diagnostic::new(
                    Some(account.span()),
                    key_path(path, "account"),
                    "`account` and `organizational_unit` are both set",
                )
                .hint("keep one: a target is one account, or every account of a unit"),
            );
            ok = false;
        }
        if let Some((_, profile_span)) = self.string(table, path, "profile") {
            self.error(
                Diagnostic::new(
                    Some(profile_span),
                    key_path(path, "profile"),
                    "a target by organizational unit cannot use one profile: each of its accounts needs credentials of its own",
                )
                .hint("set `role_arn` with {account} where the account id goes, or `[defaults] role_arn`"),
            );
            ok = false;
        }
        let role_arn = match self.string(table, path, "role_arn") {
            None => None,
            Some((template, role_span)) => {
                let key = key_path(path, "role_arn");
                ok &= self
                    .role_template(&template, role_span, &key, "every account of the unit")
                    .is_some();
                Some(template)
            }
        };
        let mut exclude = Vec::new();
        if let Some((items, _)) = self.strings(table, path, "exclude") {
            let exclude_key = key_path(path, "exclude");
            for (index, (text, item_span)) in items.into_iter().enumerate() {
                match AccountId::parse(&text) {
                    Ok(account) if !exclude.contains(&account) => exclude.push(account),
                    Ok(account) => {
                        self.error(
                            Diagnostic::new(
                                Some(item_span),
                                index_path(&exclude_key, index),
                                format!("account {account} is listed twice"),
                            )
                            .hint("list each account once"),
                        );
                        ok = false;
                    }
                    Err(message) => {
                        self.error(Diagnostic::new(
                            Some(item_span),
                            index_path(&exclude_key, index),
                            message,
                        ));
                        ok = false;
                    }
                }
            }
        } else if Self::get(table, "exclude").is_some() {
            ok = false;
        }
        ok.then_some(())?;
        Some(Some((unit?, exclude, role_arn)))
    }

    /// A pipeline's `accounts`: for a target by organizational unit, the accounts it deploys to.
    /// Whether each key is such a target of the pipeline is checked with the units, in `topology`.
    pub(super) fn unit_accounts(
        &mut self,
        table: &DeTable<'_>,
        path: &str,
    ) -> Option<BTreeMap<String, Vec<AccountId>>> {
        let Some(value) = Self::get(table, "accounts") else {
            return Some(BTreeMap::new());
        };
        let key = key_path(path, "accounts");
        let DeValue::Table(lists) = value.get_ref() else {
            self.wrong_type(
                value,
                key,
                "a table of account lists, such as `{ workloads = [\"555555555555\"] }`",
            );
            return None;
        };
        let mut out = BTreeMap::new();
        let mut ok = true;
        for (target, list) in lists {
            let target = target.get_ref().to_string();
            let list_key = key_path(&key, &target);
            let DeValue::Array(items) = list.get_ref() else {
                self.wrong_type(list, list_key, "an array of account ids");
                ok = false;
                continue;
            };
            if items.is_empty() {
                self.error(Diagnostic::new(
                    Some(list.span()),
                    &list_key,
                    "list at least one account, or remove the target from the pipeline",
                ));
                ok = false;
            }
            let mut accounts: Vec<AccountId> = Vec::new();
            for (index, item) in items.iter().enumerate() {
                let item_key = index_path(&list_key, index);
                let parsed = match item.get_ref() {
                    DeValue::String(text) => AccountId::parse(text),
                    _ => Err("an account id is a string of 12 digits".to_owned()),
                };
                match parsed {
                    Ok(account) if accounts.contains(&account) => {
                        self.error(Diagnostic::new(
                            Some(item.span()),
                            item_key,
                            format!("account {account} is listed twice"),
                        ));
                        ok = false;
                    }
                    Ok(account) => accounts.push(account),
                    Err(message) => {
                        self.error(Diagnostic::new(Some(item.span()), item_key, message));
                        ok = false;
                    }
                }
            }
            out.insert(target, accounts);
        }
        ok.then_some(out)
    }
}
