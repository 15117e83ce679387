//! Everything plinth shows a person or a program: the only module that knows about colour,
//! terminals, progress or JSON lines. The core reports events; this module draws them.
//! Human output goes to stderr; data (`--json`, `graph`, `render`'s manifest) goes to stdout.

mod events;
pub mod markdown;
pub mod plan;
pub mod policy;
pub mod views;

pub use events::{HumanView, JsonView, ProgressView, describe};

use std::io::{IsTerminal, Write};

/// Styles for human output; plain text when colour is off.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    /// Whether text is painted with ANSI colours.
    pub(crate) color: bool,
}

impl Style {
    /// Colour only on a terminal, and never when `NO_COLOR` is set.
    pub fn detect() -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Self {
            color: !no_color && std::io::stderr().is_terminal(),
        }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    /// Text in bold: headings and summaries.
    pub fn bold(&self, text: &str) -> String {
        self.paint("1", text)
    }
    /// Text in green: what is added or succeeded.
    pub(crate) fn green(&self, text: &str) -> String {
        self.paint("32", text)
    }
    /// Text in yellow: what changes, waits or drifted.
    pub(crate) fn yellow(&self, text: &str) -> String {
        self.paint("33", text)
    }
    /// Text in red: what is removed, destroyed or failed.
    pub fn red(&self, text: &str) -> String {
        self.paint("31", text)
    }
    /// Text in cyan: hints and diff hunk headers.
    pub(crate) fn cyan(&self, text: &str) -> String {
        self.paint("36", text)
    }
    /// Dimmed text: what needs no attention (reasons, unchanged stacks).
    pub(crate) fn dim(&self, text: &str) -> String {
        self.paint("2", text)
    }
}

/// Writes a line to stderr, ignoring a closed pipe.
pub fn say(line: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{line}");
}

/// Writes text to stderr as it is (no line end added), ignoring a closed pipe.
pub fn say_block(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(text.as_bytes());
}

/// Asks a question on stderr and reads one line of answer from stdin, trimmed; `None` when
/// nothing could be read.
pub fn ask(question: &str) -> Option<String> {
    use std::io::BufRead as _;
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "{question}");
    let _ = err.flush();
    drop(err);
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer).ok()?;
    Some(answer.trim().to_owned())
}

/// Writes data to stdout, ignoring a closed pipe.
pub fn data(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    if !text.ends_with('\n') {
        let _ = out.write_all(b"\n");
    }
    let _ = out.flush();
}

/// Pretty JSON text of a value. Serialising a `serde_json::Value` cannot fail: its map keys
/// are strings.
pub fn pretty_json(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).expect("a JSON value serialises")
}

/// Renders an error chain once: `error:`, each `caused by:`, and a `hint:` for each line of the hint.
pub fn error_chain(style: &Style, error: &dyn std::error::Error, hint: Option<&str>) -> String {
    let mut text = format!("{} {error}", style.red(&style.bold("error:")));
    let mut source = error.source();
    let mut previous = error.to_string();
    while let Some(cause) = source {
        let line = cause.to_string();
        // SDK errors often repeat their source's text; show each message once.
        if !previous.contains(&line) {
            text.push_str(&format!("\n  {} {line}", style.bold("caused by:")));
        }
        previous = line;
        source = cause.source();
    }
    // One hint a line: a failure can have several things to do.
    for line in hint.into_iter().flat_map(str::lines) {
        text.push_str(&format!("\n  {} {line}", style.cyan("hint:")));
    }
    text
}
