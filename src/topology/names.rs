//! Newtypes for the identifiers a topology is made of. Each is built only through a parser that
//! checks AWS's rules, so holding one means it is valid.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! string_newtype {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        ///
        /// Deserialising goes through the same parser, so a saved plan cannot smuggle in an
        /// invalid value.
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(into = "String", try_from = "String")]
        pub struct $name(String);

        impl $name {
            /// The value as the file writes it.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;

            fn try_from(text: String) -> Result<Self, String> {
                Self::parse(&text)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

string_newtype!(
    /// A 12-digit AWS account id. Kept as text: ids can start with 0.
    AccountId
);
string_newtype!(
    /// An AWS region name such as `us-east-1`.
    Region
);
string_newtype!(
    /// The foundation's name: the prefix of every stack, role and bucket plinth creates.
    FoundationName
);

string_newtype!(
    /// An AWS Organizations id such as `o-a1b2c3d4e5`.
    OrganizationId
);

impl OrganizationId {
    /// AWS's form: `o-` and 10 to 32 lowercase letters or digits.
    pub fn parse(text: &str) -> Result<Self, String> {
        let rest = text.strip_prefix("o-").unwrap_or("");
        if (10..=32).contains(&rest.len())
            && rest
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        {
            Ok(Self(text.to_owned()))
        } else {
            Err(format!(
                "`{text}` is not an AWS Organizations id (expected `o-` and 10 to 32 lowercase letters or digits, as `aws organizations describe-organization` shows it)"
            ))
        }
    }
}

string_newtype!(
    /// An organizational unit (`ou-…`) or an organization's root (`r-…`), whose accounts a
    /// target names all at once.
    OrganizationalUnitId
);

impl OrganizationalUnitId {
    /// AWS's forms: `ou-`, 4 to 32 lowercase letters or digits, `-`, 8 to 32 more; or `r-` and
    /// 4 to 32 lowercase letters or digits for the root.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let word = |s: &str, min: usize| {
            (min..=32).contains(&s.len())
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        };
        let valid = if let Some(rest) = text.strip_prefix("ou-") {
            rest.split_once('-')
                .is_some_and(|(root, unit)| word(root, 4) && word(unit, 8))
        } else if let Some(rest) = text.strip_prefix("r-") {
            word(rest, 4)
        } else {
            false
        };
        if valid {
            Ok(Self(text.to_owned()))
        } else {
            Err(format!(
                "`{text}` is not an organizational unit id (expected `ou-` followed by two groups of lowercase letters or digits, such as `ou-ab12-cd34ef56`, or a root id `r-ab12`, as `aws organizations list-organizational-units-for-parent` shows it)"
            ))
        }
    }
}

impl AccountId {
    /// An account id from its twelve digits; the error says what is wrong.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        if text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(text.to_owned()))
        } else {
            Err(format!(
                "`{text}` is not an AWS account id: it must be exactly 12 digits"
            ))
        }
    }
}

impl Region {
    /// Accepts AWS's region form: `<area>[-gov|-iso…]-<direction>-<number>`, such as
    /// `us-east-1`, `ap-southeast-2` or `us-gov-west-1`.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let parts: Vec<&str> = text.split('-').collect();
        let well_formed = (3..=4).contains(&parts.len())
            && parts[0].len() == 2
            && parts[0].bytes().all(|b| b.is_ascii_lowercase())
            && parts[1..parts.len() - 1]
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
            && parts.last().is_some_and(|p| {
                !p.is_empty() && p.len() <= 2 && p.bytes().all(|b| b.is_ascii_digit())
            });
        if well_formed {
            Ok(Self(text.to_owned()))
        } else {
            Err(format!(
                "`{text}` is not an AWS region name (expected a name like `us-east-1` or `eu-central-2`)"
            ))
        }
    }

    /// `us-west-2` becomes `UsWest2`: the form used in CloudFormation logical ids.
    pub(crate) fn camel(&self) -> String {
        self.0
            .split('-')
            .map(|part| {
                let mut chars = part.chars();
                chars
                    .next()
                    .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                    .unwrap_or_default()
            })
            .collect()
    }
}

impl FoundationName {
    /// The longest name: longer ones would not fit every derived name's limit.
    pub(crate) const MAX_LEN: usize = 32;

    /// A foundation name, checked as a name plinth prefixes everything with.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        check_name(text, Self::MAX_LEN)?;
        Ok(Self(text.to_owned()))
    }
}

/// The rule shared by the foundation, target and pipeline names: they end up in stack, role and
/// bucket names, so they must be lowercase letters, digits and single hyphens.
pub fn check_name(text: &str, max_len: usize) -> Result<(), String> {
    if text.is_empty() {
        return Err("must not be empty".to_owned());
    }
    if text.len() > max_len {
        return Err(format!(
            "`{text}` is {} characters long; at most {max_len} are allowed",
            text.len()
        ));
    }
    if !text.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err(format!("`{text}` must start with a lowercase letter"));
    }
    if let Some(bad) = text
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Err(format!(
            "`{text}` contains `{bad}`: only lowercase letters, digits and hyphens are allowed"
        ));
    }
    if text.ends_with('-') || text.contains("--") {
        return Err(format!(
            "`{text}` must not end with a hyphen or contain two in a row"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_ids_are_twelve_digits_and_keep_leading_zeros() {
        assert_eq!(
            AccountId::parse("012345678901").unwrap().as_str(),
            "012345678901"
        );
        assert!(AccountId::parse("12345678901").is_err());
        assert!(AccountId::parse("1234567890123").is_err());
        assert!(AccountId::parse("12345678901a").is_err());
    }

    #[test]
    fn deserialising_checks_what_parsing_checks() {
        let account: Result<AccountId, _> = serde_json::from_str("\"12345\"");
        assert!(account.is_err());
        let region: Region = serde_json::from_str("\"eu-west-1\"").unwrap();
        assert_eq!(region.as_str(), "eu-west-1");
        assert!(serde_json::from_str::<Region>("\"EU\"").is_err());
        assert!(serde_json::from_str::<FoundationName>("\"Bad Name\"").is_err());
        assert_eq!(serde_json::to_string(&region).unwrap(), "\"eu-west-1\"");
    }

    #[test]
    fn organization_ids_follow_aws_form() {
        assert!(OrganizationId::parse("o-a1b2c3d4e5").is_ok());
        assert!(OrganizationId::parse("o-abcdefghijklmnopqrstuvwxyz012345").is_ok());
        for bad in [
            "o-short",
            "a1b2c3d4e5f6",
            "o-A1B2C3D4E5",
            "o-a1b2c3d4e5-x",
            "",
        ] {
            assert!(OrganizationId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn organizational_unit_ids_follow_aws_form() {
        for good in ["ou-ab12-cd34ef56", "r-ab12", "ou-abcd-0123456789abcdef"] {
            assert!(OrganizationalUnitId::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "ou-ab12",
            "ou-ab1-cd34ef56",
            "ou-ab12-cd34ef5",
            "ou-AB12-cd34ef56",
            "r-ab1",
            "o-a1b2c3d4e5",
            "",
        ] {
            assert!(OrganizationalUnitId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn region_names_follow_aws_form() {
        for good in [
            "us-east-1",
            "ap-southeast-2",
            "us-gov-west-1",
            "eu-central-2",
            "il-central-1",
        ] {
            assert!(Region::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "us-east",
            "US-EAST-1",
            "useast1",
            "us-east-1a",
            "u-east-1",
            "",
            "us--1",
        ] {
            assert!(Region::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Region::parse("us-west-2").unwrap().camel(), "UsWest2");
    }

    #[test]
    fn names_are_lowercase_letters_digits_and_single_hyphens() {
        assert!(check_name("acme-2", 10).is_ok());
        assert!(check_name("Acme", 10).is_err());
        assert!(check_name("2acme", 10).is_err());
        assert!(check_name("ac_me", 10).is_err());
        assert!(check_name("acme-", 10).is_err());
        assert!(check_name("ac--me", 10).is_err());
        assert!(check_name("", 10).is_err());
        assert!(check_name("abcdefghijk", 10).is_err());
    }
}
