//! The findings of one validation: errors and warnings, each placed at a line and column of the source
//! text. Sections report into it; what counts as a mistake is theirs to say.

use std::ops::Range;

use super::ConfigIssue;

/// Collects issues with positions resolved against the source text.
pub(super) struct Findings<'a> {
    text: &'a str,
    pub(super) errors: Vec<ConfigIssue>,
    pub(super) warnings: Vec<ConfigIssue>,
}

impl<'a> Findings<'a> {
    /// Findings about `text`, which spans are resolved against.
    pub(super) fn new(text: &'a str) -> Self {
        Self {
            text,
            errors: Vec::new(),
            warnings: Vec::new(),
        }
    }

    pub(super) fn place(&self, span: Range<usize>) -> (usize, usize) {
        let upto = &self.text[..span.start.min(self.text.len())];
        let line = upto.matches('\n').count() + 1;
        let column = upto.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, column)
    }

    fn issue(&self, field: &str, span: Range<usize>, message: String) -> ConfigIssue {
        let (line, column) = self.place(span);
        ConfigIssue {
            field: field.to_string(),
            line,
            column,
            message,
        }
    }

    pub(super) fn error(&mut self, field: &str, span: Range<usize>, message: impl Into<String>) {
        let issue = self.issue(field, span, message.into());
        self.errors.push(issue);
    }

    pub(super) fn warn(&mut self, field: &str, span: Range<usize>, message: impl Into<String>) {
        let issue = self.issue(field, span, message.into());
        self.warnings.push(issue);
    }
}
