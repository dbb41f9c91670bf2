//! E-mail addresses as callers say them ("john dot smith at gmail dot com", "j o h n at example dot org")
//! or as the recogniser sometimes writes them ("john.smith@gmail.com").

use super::words::{match_at, tokens};
use crate::language::fields::EmailWords;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("no \"at\" in the answer")]
    NoAt,
    #[error("{0:?} is not a valid e-mail address")]
    Invalid(String),
}

/// Whether `s` looks like a deliverable address: one `@`, a local part, a domain with a dot and a
/// top-level label of letters.
pub fn is_valid(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.chars().all(|c| c.is_alphanumeric() || c == '-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    let labels: Vec<&str> = domain.split('.').collect();
    !local.is_empty()
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_alphanumeric() || "._+-".contains(c))
        && labels.len() >= 2
        && labels.iter().all(|l| label_ok(l))
        && labels
            .last()
            .is_some_and(|t| t.len() >= 2 && t.chars().all(char::is_alphabetic))
}

impl EmailWords {
    /// The address in `answer`, lower-cased.
    pub fn parse(&self, answer: &str) -> Result<String, EmailError> {
        // Written out already?
        if let Some(found) = answer
            .split_whitespace()
            .map(|w| {
                w.trim_matches(|c: char| !c.is_alphanumeric())
                    .to_lowercase()
            })
            .find(|w| w.contains('@'))
        {
            return if is_valid(&found) {
                Ok(found)
            } else {
                Err(EmailError::Invalid(found))
            };
        }
        let words = tokens(answer);
        let mut out = String::new();
        let mut i = 0;
        let mut started = false;
        while i < words.len() {
            if let Some(n) = match_at(&words, i, &self.at) {
                if started && !out.contains('@') {
                    out.push('@');
                    i += n;
                    continue;
                }
            }
            if let Some(n) = match_at(&words, i, &self.dot) {
                if started {
                    out.push('.');
                    i += n;
                    continue;
                }
            }
            let word = &words[i];
            if let Some(sym) = self.symbols.get(word.as_str()) {
                out.push_str(sym);
            } else if !started && self.filler.iter().any(|f| f == word) {
                // "my email is ..." before the address starts.
            } else {
                out.push_str(&word.replace('\'', ""));
                started = true;
            }
            i += 1;
        }
        let out = out.trim_end_matches('.').to_string();
        if !out.contains('@') {
            return Err(EmailError::NoAt);
        }
        if is_valid(&out) {
            Ok(out)
        } else {
            Err(EmailError::Invalid(out))
        }
    }

    /// How an address is read back: "john dot smith at gmail dot com".
    pub fn read_back(&self, address: &str) -> String {
        let at = self.at.first().map_or("at", String::as_str);
        let dot = self.dot.first().map_or("dot", String::as_str);
        let mut out = String::new();
        for c in address.chars() {
            match c {
                '@' => out.push_str(&format!(" {at} ")),
                '.' => out.push_str(&format!(" {dot} ")),
                _ => {
                    let sym = self
                        .symbols
                        .iter()
                        .filter(|(_, s)| s.starts_with(c) && s.len() == c.len_utf8())
                        .map(|(w, _)| w.as_str())
                        .min();
                    match sym {
                        Some(word) => out.push_str(&format!(" {word} ")),
                        None => out.push(c),
                    }
                }
            }
        }
        out.split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words() -> EmailWords {
        crate::language::Language::load("en").unwrap().fields.email
    }

    #[test]
    fn spoken_addresses() {
        let w = words();
        let table = [
            ("john dot smith at gmail dot com", "john.smith@gmail.com"),
            ("My email is John.Smith@Gmail.com.", "john.smith@gmail.com"),
            ("it's j o h n at example dot org", "john@example.org"),
            (
                "mary underscore lee at acme dash corp dot co dot uk",
                "mary_lee@acme-corp.co.uk",
            ),
            ("sales at acme dot com", "sales@acme.com"),
        ];
        for (said, want) in table {
            assert_eq!(w.parse(said).as_deref(), Ok(want), "{said}");
        }
    }

    #[test]
    fn not_addresses() {
        let w = words();
        assert_eq!(w.parse("I don't know"), Err(EmailError::NoAt));
        assert!(matches!(
            w.parse("john at gmail"),
            Err(EmailError::Invalid(_))
        ));
        assert!(matches!(w.parse("x@y"), Err(EmailError::Invalid(_))));
    }

    #[test]
    fn read_back_spells_symbols() {
        let w = words();
        assert_eq!(
            w.read_back("mary_lee@acme-corp.co.uk"),
            "mary underscore lee at acme dash corp dot co dot uk"
        );
    }
}
