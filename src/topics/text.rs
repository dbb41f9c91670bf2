//! Text normalisation for lexical matching: words, contractions, negated positives, stems and concepts.
//! Pure; the vocabulary comes from `prompts/<lang>/lexicon.toml`.

use std::collections::{HashMap, HashSet};

use crate::language::Lexicon;

/// A compiled [`Lexicon`].
#[derive(Debug, Clone)]
pub struct Normaliser {
    /// stem (or "stem stem" for two-word entries) -> concept
    concepts: HashMap<String, String>,
    ignore: HashSet<String>,
    positive: HashSet<String>,
    negation: HashSet<String>,
}

/// One meaningful unit of an utterance: its concept (or stem) and the caller's own word(s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    pub key: String,
    pub surface: String,
}

/// Crude English stemming: enough to join cancel/cancelled/cancellation and charge/charged/charges.
pub fn stem(word: &str) -> String {
    let w = word.trim_matches('\'');
    if w.len() > 4 && w.ends_with("ies") {
        return format!("{}y", &w[..w.len() - 3]);
    }
    const SUFFIXES: [&str; 14] = [
        "ations", "ation", "ments", "ment", "ings", "ing", "ness", "ed", "es", "er", "ly", "s",
        "e", "al",
    ];
    let mut s = w.to_string();
    for suffix in SUFFIXES {
        if s.len() >= suffix.len() + 3 && s.ends_with(suffix) {
            s.truncate(s.len() - suffix.len());
            break;
        }
    }
    // cancell -> cancel, stopp -> stop
    let b = s.as_bytes();
    if b.len() >= 4 && b[b.len() - 1] == b[b.len() - 2] && !b"aeiou".contains(&b[b.len() - 1]) {
        s.pop();
    }
    s
}

/// Lower-case words. Contractions lose their clitic ("i'd" -> "i", "customer's" -> "customer") except the
/// negative one ("don't" stays, it negates what follows).
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '\u{2019}'))
        .map(|w| w.replace('\u{2019}', "'").trim_matches('\'').to_lowercase())
        .map(|w| match w.find('\'') {
            Some(i) if !w.ends_with("n't") => w[..i].to_string(),
            _ => w,
        })
        .filter(|w| !w.is_empty())
        .collect()
}

impl Normaliser {
    pub fn new(lexicon: &Lexicon) -> Self {
        let mut concepts = HashMap::new();
        for (concept, entries) in &lexicon.concepts {
            for entry in entries {
                let key = words(entry)
                    .iter()
                    .map(|w| stem(w))
                    .collect::<Vec<_>>()
                    .join(" ");
                concepts.insert(key, concept.clone());
            }
        }
        let lower = |v: &Vec<String>| v.iter().map(|w| w.to_lowercase()).collect::<HashSet<_>>();
        Self {
            concepts,
            ignore: lower(&lexicon.stop)
                .into_iter()
                .chain(lexicon.filler.iter().map(|w| w.to_lowercase()))
                .collect(),
            positive: lower(&lexicon.positive),
            negation: lower(&lexicon.negation),
        }
    }

    /// The terms of `text`, deduplicated, in order of appearance.
    pub fn terms(&self, text: &str) -> Vec<Term> {
        let ws = words(text);
        let mut out: Vec<Term> = Vec::new();
        let mut push = |key: String, surface: String| {
            if !out.iter().any(|t| t.key == key) {
                out.push(Term { key, surface });
            }
        };
        let mut i = 0;
        while i < ws.len() {
            let w = &ws[i];
            // "not happy" -> unhappy
            if self.negation.contains(w.as_str()) || w.ends_with("n't") {
                if let Some(next) = ws.get(i + 1).filter(|n| self.positive.contains(n.as_str())) {
                    push("unhappy".into(), format!("{w} {next}"));
                    i += 2;
                    continue;
                }
            }
            if let Some(next) = ws.get(i + 1) {
                let pair = format!("{} {}", stem(w), stem(next));
                if let Some(concept) = self.concepts.get(&pair) {
                    push(concept.clone(), format!("{w} {next}"));
                    i += 2;
                    continue;
                }
            }
            if !self.ignore.contains(w.as_str()) {
                let s = stem(w);
                let key = self.concepts.get(&s).cloned().unwrap_or(s);
                if !self.ignore.contains(key.as_str()) {
                    push(key, w.clone());
                }
            }
            i += 1;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::language::Language;

    fn keys(text: &str) -> Vec<String> {
        let en = Language::load("en").unwrap();
        Normaliser::new(&en.lexicon)
            .terms(text)
            .into_iter()
            .map(|t| t.key)
            .collect()
    }

    #[test]
    fn stems_join_word_forms() {
        assert_eq!(stem("cancellation"), stem("cancelled"));
        assert_eq!(stem("cancelling"), "cancel");
        assert_eq!(stem("charges"), stem("charged"));
    }

    #[test]
    fn concepts_and_fillers() {
        assert_eq!(
            keys("Contract cancellation request"),
            ["subscription", "cancel"]
        );
        assert_eq!(
            keys("I'd like to terminate my plan"),
            ["cancel", "subscription"]
        );
        assert_eq!(
            keys("I am not happy with the service"),
            ["unhappy", "service"]
        );
        assert_eq!(keys("can I talk to a real person"), ["speak", "person"]);
    }
}
