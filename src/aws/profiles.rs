//! The shared AWS config and credentials files, read once and cut per profile.
//!
//! The SDK parses the whole profile file for every profile it loads, and each account's
//! credential provider keeps its parse for as long as it lives. With one profile per account,
//! as organizations write them, a thousand accounts keep a thousand parses of a thousand-profile
//! file: memory grows with the square of the number of accounts. So plinth reads the two files
//! once and gives the SDK, for each profile, only the sections that profile can use: its own,
//! those of its `source_profile` chain, and the `sso-session` and `services` sections they
//! name, each exactly as written. The SDK still interprets every line itself.

use std::collections::BTreeSet;
use std::path::PathBuf;

/// One `[...]` section of a profile file, with its lines as written.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Section {
    /// `profile` (also for `[default]`), `sso-session` or `services`; `profile` for every
    /// section of the credentials file.
    kind: String,
    name: String,
    text: String,
}

impl Section {
    /// The value of a top-level key (`source_profile = base`), if the section has it.
    fn value(&self, key: &str) -> Option<&str> {
        self.text.lines().skip(1).find_map(|line| {
            if line.starts_with(char::is_whitespace) {
                return None;
            }
            let (k, v) = line.split_once('=')?;
            k.trim()
                .eq_ignore_ascii_case(key)
                .then(|| v.trim())
                .filter(|v| !v.is_empty())
        })
    }
}

/// The sections of a profile file. A header is `[name]` in the credentials file, and
/// `[default]`, `[profile name]`, `[sso-session name]` or `[services name]` in the config file.
fn sections(text: &str, credentials: bool) -> Vec<Section> {
    let mut out: Vec<Section> = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim();
        let header = trimmed
            .strip_prefix('[')
            .and_then(|rest| rest.split_once(']'))
            .map(|(inside, _)| inside.trim());
        if let Some(header) = header {
            let (kind, name) = match header.split_once(char::is_whitespace) {
                _ if credentials => ("profile", header),
                Some((kind, name)) => (kind, name.trim()),
                None => ("profile", header),
            };
            out.push(Section {
                kind: kind.to_owned(),
                name: name.to_owned(),
                text: format!("{line}\n"),
            });
        } else if let Some(section) = out.last_mut() {
            section.text.push_str(line);
            section.text.push('\n');
        }
    }
    out
}

/// The AWS config and credentials files, as read once.
#[derive(Debug, Clone, Default)]
pub(crate) struct ProfileFiles {
    config: Vec<Section>,
    credentials: Vec<Section>,
}

impl ProfileFiles {
    /// The files from their texts.
    pub(crate) fn parse(config: &str, credentials: &str) -> Self {
        Self {
            config: sections(config, false),
            credentials: sections(credentials, true),
        }
    }

    /// Reads the files where the SDK would (`AWS_CONFIG_FILE` and
    /// `AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/config` and `~/.aws/credentials`); a file that
    /// does not exist reads as empty. `None` when a file exists but cannot be read: then the SDK
    /// reads the files itself.
    pub(crate) fn read() -> Option<Self> {
        let read = |variable: &str, default: &str| -> Option<String> {
            let path = match std::env::var(variable) {
                Ok(path) => expand_home(&path)?,
                Err(_) => home()?.join(".aws").join(default),
            };
            match fs_err::read_to_string(&path) {
                Ok(text) => Some(text),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some(String::new()),
                Err(_) => None,
            }
        };
        let config = read("AWS_CONFIG_FILE", "config")?;
        let credentials = read("AWS_SHARED_CREDENTIALS_FILE", "credentials")?;
        Some(Self::parse(&config, &credentials))
    }

    /// The config and credentials texts that hold all that `profile` can use: its sections, and
    /// those of the profiles its `source_profile` chain names, with the `sso-session` and
    /// `services` sections they refer to.
    pub(crate) fn for_profile(&self, profile: &str) -> (String, String) {
        let mut names: Vec<String> = vec![profile.to_owned()];
        let mut seen = BTreeSet::new();
        let mut referred: BTreeSet<(&str, String)> = BTreeSet::new();
        while let Some(name) = names.pop() {
            if !seen.insert(name.clone()) {
                continue;
            }
            for section in self.profile_sections(&name) {
                if let Some(source) = section.value("source_profile") {
                    names.push(source.to_owned());
                }
                if let Some(session) = section.value("sso_session") {
                    referred.insert(("sso-session", session.to_owned()));
                }
                if let Some(services) = section.value("services") {
                    referred.insert(("services", services.to_owned()));
                }
            }
        }
        let config = self
            .config
            .iter()
            .filter(|s| match s.kind.as_str() {
                "profile" => seen.contains(&s.name),
                kind => referred.contains(&(kind, s.name.clone())),
            })
            .map(|s| s.text.as_str())
            .collect();
        let credentials = self
            .credentials
            .iter()
            .filter(|s| seen.contains(&s.name))
            .map(|s| s.text.as_str())
            .collect();
        (config, credentials)
    }

    fn profile_sections<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Section> + 'a {
        self.config
            .iter()
            .chain(&self.credentials)
            .filter(move |s| s.kind == "profile" && s.name == name)
    }
}

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME").map(PathBuf::from)
}

/// A path with a leading `~` expanded, as the SDK does.
fn expand_home(path: &str) -> Option<PathBuf> {
    match path.strip_prefix("~/") {
        Some(rest) => Some(home()?.join(rest)),
        None => Some(PathBuf::from(path)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = "\
[default]
region = us-east-1

[profile base]
region = us-east-1
sso_session = corp

[profile chained]
role_arn = arn:aws:iam::111111111111:role/a
source_profile = middle
s3 =
  max_concurrent_requests = 10

[profile middle]
role_arn = arn:aws:iam::222222222222:role/b
source_profile = base
services = local

[profile other]
role_arn = arn:aws:iam::333333333333:role/c
source_profile = base

[sso-session corp]
sso_start_url = https://example.awsapps.com/start

[sso-session unused]
sso_start_url = https://unused.example/start

[services local]
s3 =
  endpoint_url = http://127.0.0.1:5000
";

    const CREDENTIALS: &str = "\
[base]
aws_access_key_id = test
aws_secret_access_key = test

[other]
aws_access_key_id = other
aws_secret_access_key = other
";

    #[test]
    fn a_profile_gets_its_chain_and_the_sections_they_name_as_written() {
        let files = ProfileFiles::parse(CONFIG, CREDENTIALS);
        let (config, credentials) = files.for_profile("chained");
        assert_eq!(
            config,
            "\
[profile base]
region = us-east-1
sso_session = corp

[profile chained]
role_arn = arn:aws:iam::111111111111:role/a
source_profile = middle
s3 =
  max_concurrent_requests = 10

[profile middle]
role_arn = arn:aws:iam::222222222222:role/b
source_profile = base
services = local

[sso-session corp]
sso_start_url = https://example.awsapps.com/start

[services local]
s3 =
  endpoint_url = http://127.0.0.1:5000
"
        );
        assert_eq!(
            credentials,
            "[base]\naws_access_key_id = test\naws_secret_access_key = test\n\n"
        );
    }

    #[test]
    fn the_default_profile_cycles_and_unknown_names_are_handled() {
        let files = ProfileFiles::parse(
            "[default]\nregion = eu-west-1\n[profile loop]\nsource_profile = loop\n",
            "[default]\naws_access_key_id = d\n",
        );
        let (config, credentials) = files.for_profile("default");
        assert_eq!(config, "[default]\nregion = eu-west-1\n");
        assert_eq!(credentials, "[default]\naws_access_key_id = d\n");
        let (config, _) = files.for_profile("loop");
        assert_eq!(config, "[profile loop]\nsource_profile = loop\n");
        assert_eq!(files.for_profile("nobody"), (String::new(), String::new()));
    }

    #[test]
    fn a_key_in_a_nested_block_is_not_read_as_the_profiles_own() {
        let files = ProfileFiles::parse(
            "[profile a]\ns3 =\n  source_profile = b\n[profile b]\nregion = x\n",
            "",
        );
        let (config, _) = files.for_profile("a");
        assert!(!config.contains("[profile b]"), "{config}");
    }
}
