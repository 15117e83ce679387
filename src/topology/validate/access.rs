//! Typed access to toml's spanned document tree: each value read with its place, each wrong
//! type or unknown key reported as a located diagnostic.

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::{Reader, Span};
use crate::topology::Diagnostic;

pub(super) fn type_name(value: &DeValue<'_>) -> &'static str {
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

pub(super) fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), *c))
        .filter(|(distance, c)| *distance <= 2.max(c.len() / 4))
        .min()
        .map(|(_, c)| c)
}

pub(super) fn index_path(prefix: &str, index: usize) -> String {
    format!("{prefix}[{index}]")
}

pub(super) fn key_path(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

impl Reader {
    /// Reports unknown keys (with a "did you mean") and missing required keys.
    pub(super) fn check_keys(
        &mut self,
        table: &DeTable<'_>,
        span: &Span,
        path: &str,
        shape: &[super::fields::Field],
    ) {
        let allowed = super::fields::keys(shape);
        let required = super::fields::required(shape);
        let allowed = allowed.as_slice();
        for (key, _) in table {
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
            if !table.iter().any(|(k, _)| k.get_ref().as_ref() == name) {
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

    pub(super) fn get<'t, 'i>(
        table: &'t DeTable<'i>,
        key: &str,
    ) -> Option<&'t Spanned<DeValue<'i>>> {
        table
            .iter()
            .find(|(k, _)| k.get_ref().as_ref() == key)
            .map(|(_, v)| v)
    }

    pub(super) fn wrong_type(
        &mut self,
        value: &Spanned<DeValue<'_>>,
        path: String,
        expected: &str,
    ) {
        self.error(Diagnostic::new(
            Some(value.span()),
            path,
            format!("expected {expected}, found {}", type_name(value.get_ref())),
        ));
    }

    pub(super) fn string(
        &mut self,
        table: &DeTable<'_>,
        path: &str,
        key: &str,
    ) -> Option<(String, Span)> {
        let value = Self::get(table, key)?;
        if let DeValue::String(s) = value.get_ref() {
            Some((s.to_string(), value.span()))
        } else {
            self.wrong_type(value, key_path(path, key), "a string");
            None
        }
    }

    pub(super) fn boolean(&mut self, table: &DeTable<'_>, path: &str, key: &str) -> Option<bool> {
        let value = Self::get(table, key)?;
        if let DeValue::Boolean(b) = value.get_ref() {
            Some(*b)
        } else {
            self.wrong_type(value, key_path(path, key), "`true` or `false`");
            None
        }
    }

    /// An array of strings; `None` when absent or of the wrong type (reported).
    pub(super) fn strings(
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
    pub(super) fn tables<'t, 'i>(
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
}
