//! TOML text to a validated [`Topology`], collecting every problem rather than stopping at the
//! first. The text is parsed into toml's spanned document tree, so that each problem can point at
//! its line and column; then each table is read key by key.
//!
//! Three parts: [`access`] reads typed values out of the spanned tree, [`tables`] knows the
//! schema of each table, and [`limits`] checks AWS's limits on what the topology implies
//! (derived names, pipeline sizes, ARNs).

mod access;
pub(crate) mod fields;
mod limits;
mod tables;
mod units;

use std::ops::Range;

use toml::de::DeTable;

use super::{Diagnostic, Topology};

pub(super) type Span = Range<usize>;

/// The validated topology and the warnings it raised.
#[derive(Debug)]
pub struct Parsed {
    pub topology: Topology,
    pub(crate) warnings: Vec<Diagnostic>,
}

/// Every problem of the text, and the warnings found on the way.
#[derive(Debug)]
pub struct Invalid {
    pub(crate) errors: Vec<Diagnostic>,
    pub(crate) warnings: Vec<Diagnostic>,
}

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

impl Reader {
    pub(super) fn error(&mut self, diagnostic: Diagnostic) {
        self.errors.push(diagnostic);
    }

    pub(super) fn warn(&mut self, diagnostic: Diagnostic) {
        self.warnings.push(diagnostic);
    }

    pub(super) fn invalid(self) -> Invalid {
        Invalid {
            errors: self.errors,
            warnings: self.warnings,
        }
    }
}
