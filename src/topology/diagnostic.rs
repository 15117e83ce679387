//! Problems found in a topology file, with where they are and what would be right.

use std::fmt;
use std::ops::Range;

/// One problem (or warning) in a topology file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Byte range in the file, when the problem has a place.
    pub(crate) span: Option<Range<usize>>,
    /// The key, as a path: `targets[1].account`.
    pub(crate) key: String,
    /// What is wrong.
    pub(crate) message: String,
    /// What to do about it, when there is something to say.
    pub(crate) hint: Option<String>,
}

impl Diagnostic {
    /// A problem at a place in the file (`None`: the file as a whole) with the key's path.
    pub(crate) fn new(
        span: Option<Range<usize>>,
        key: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            span,
            key: key.into(),
            message: message.into(),
            hint: None,
        }
    }

    /// The same problem with what to do about it.
    #[must_use]
    pub(crate) fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// Line and column (both from 1) of a byte offset.
pub(crate) fn line_column(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = &source[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Draws diagnostics the way rustc does: a headline, the place, the line with a marker, a hint.
pub(crate) struct Rendered<'a> {
    /// `error` or `warning`.
    pub(crate) severity: &'a str,
    /// The file's name, as the user gave it.
    pub(crate) file: &'a str,
    /// The file's text.
    pub(crate) source: &'a str,
    /// The problem.
    pub(crate) diagnostic: &'a Diagnostic,
}

impl fmt::Display for Rendered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.diagnostic;
        if d.key.is_empty() {
            writeln!(f, "{}: {}", self.severity, d.message)?;
        } else {
            writeln!(f, "{}: {}: {}", self.severity, d.key, d.message)?;
        }
        match &d.span {
            Some(span) => {
                let (line, column) = line_column(self.source, span.start);
                writeln!(f, "  --> {}:{line}:{column}", self.file)?;
                if let Some(text) = self.source.lines().nth(line - 1) {
                    let gutter = line.to_string().len();
                    let width = self.source[span.clone()]
                        .lines()
                        .next()
                        .map_or(1, |s| s.chars().count().max(1));
                    let width = width.min(text.chars().count().saturating_sub(column - 1).max(1));
                    writeln!(f, "{:gutter$} |", "")?;
                    writeln!(f, "{line} | {text}")?;
                    writeln!(
                        f,
                        "{:gutter$} | {:pad$}{}",
                        "",
                        "",
                        "^".repeat(width),
                        pad = column - 1
                    )?;
                }
            }
            None => writeln!(f, "  --> {}", self.file)?,
        }
        if let Some(hint) = &d.hint {
            writeln!(f, "  = hint: {hint}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_from_one() {
        let text = "a = 1\nbb = 2\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 6), (2, 1));
        assert_eq!(line_column(text, 11), (2, 6));
    }

    #[test]
    fn rendering_shows_the_line_and_marks_the_value() {
        let source = "name = \"acme\"\naccount = 123\n";
        let d = Diagnostic::new(Some(24..27), "build.account", "wrong").hint("quote it");
        let text = Rendered {
            severity: "error",
            file: "t.toml",
            source,
            diagnostic: &d,
        }
        .to_string();
        assert_eq!(
            text,
            "error: build.account: wrong\n  --> t.toml:2:11\n  |\n2 | account = 123\n  |           ^^^\n  = hint: quote it\n"
        );
    }
}
