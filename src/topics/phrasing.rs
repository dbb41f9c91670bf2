//! How a topic description becomes what a caller would say, and how a negated utterance is taken apart.
//! Pure text; the words come from `prompts/<lang>/matcher.toml`, whose types ([`Describe`], [`Negation`],
//! [`Inquiry`]) are declared in [`crate::language::matching`] and read here.

pub use crate::language::matching::{Describe, Inquiry, Negation};

impl Inquiry {
    /// Whether `utterance` asks about a property (policy, fee, hours, ...) without requesting anything.
    pub fn is_inquiry(&self, utterance: &str) -> bool {
        let lower = utterance.to_lowercase().replace('\u{2019}', "'");
        let words: Vec<&str> = lower
            .split(|c: char| !(c.is_alphanumeric() || c == '\''))
            .filter(|w| !w.is_empty())
            .collect();
        let joined = format!(" {} ", words.join(" "));
        let has = |phrase: &String| joined.contains(&format!(" {} ", phrase.trim()));
        let question = lower.trim_end().ends_with('?')
            || self
                .openers
                .iter()
                .any(|o| joined.starts_with(&format!(" {} ", o.trim())));
        question && self.attributes.iter().any(has) && !self.requests.iter().any(has)
    }
}

impl Describe {
    /// The phrases a topic text stands for: the text itself, its first-person form, and one first-person
    /// phrase per item of an enumeration, each complete ("a human agent, a person or a manager" after
    /// "speak with" gives "I want to speak with a person", ...). Duplicates removed, order kept.
    pub fn phrases(&self, text: &str) -> Vec<String> {
        let text = text.trim().trim_end_matches('.');
        let spoken = self.first_person(text);
        let mut out = vec![text.to_string(), spoken.clone()];
        let items = split_keep_order(&spoken, &self.separators);
        if items.len() > 1 {
            let first = &items[0];
            // The object of the first item starts at its last determiner; later items that open with a
            // determiner are alternative objects for the same verb.
            let head = self.last_determiner(first).map(|at| first[..at].trim_end());
            out.push(first.clone());
            for item in &items[1..] {
                match head {
                    Some(head) if self.starts_with_determiner(item) => {
                        out.push(format!("{head} {item}"));
                    }
                    _ => out.push(self.first_person(item)),
                }
            }
        }
        let mut seen = std::collections::HashSet::new();
        out.retain(|p| !p.is_empty() && seen.insert(p.to_lowercase()));
        out
    }

    /// "Customer wants to cancel" -> "I want to cancel"; text without a known opening is kept as it is.
    fn first_person(&self, text: &str) -> String {
        let mut rest = text.trim();
        let lower = rest.to_lowercase();
        if let Some(subject) = self
            .subjects
            .iter()
            .filter(|s| starts_with_word(&lower, s))
            .max_by_key(|s| s.len())
        {
            rest = rest[subject.len()..].trim_start();
        } else if !lower.starts_with("is ") && !lower.starts_with("has ") {
            // Only a described subject, or a bare verb continuing one ("... or is dissatisfied"), is rewritten.
            if !self
                .first_person
                .iter()
                .any(|(from, _)| starts_with_word(&lower, from))
            {
                return text.trim().to_string();
            }
        }
        let lower = rest.to_lowercase();
        match self
            .first_person
            .iter()
            .find(|(from, _)| starts_with_word(&lower, from))
        {
            Some((from, to)) => format!("{to}{}", &rest[from.len()..]),
            None => rest.to_string(),
        }
    }

    fn starts_with_determiner(&self, text: &str) -> bool {
        let lower = text.to_lowercase();
        self.determiners.iter().any(|d| starts_with_word(&lower, d))
    }

    /// Byte offset of the last determiner word in `text`.
    fn last_determiner(&self, text: &str) -> Option<usize> {
        let lower = text.to_lowercase();
        word_starts(&lower)
            .filter(|&at| self.starts_with_determiner(&lower[at..]))
            .last()
    }
}

/// An utterance whose negations were examined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NegatedReading {
    /// Each clause holding a negation, with its positive form.
    pub clauses: Vec<(String, String)>,
    /// The utterance without what its negations govern (empty when that was everything).
    pub remainder: String,
}

impl Negation {
    /// `None` when the utterance holds no negation.
    pub fn read(&self, utterance: &str) -> Option<NegatedReading> {
        let mut clauses = Vec::new();
        let mut remainder = Vec::new();
        for clause in split_keep_order(utterance, &self.clause_breaks) {
            let (positive, rest, negated) = self.read_clause(&clause);
            if negated {
                clauses.push((clause, positive));
            }
            if !rest.is_empty() {
                remainder.push(rest);
            }
        }
        (!clauses.is_empty()).then(|| NegatedReading {
            clauses,
            remainder: remainder.join(", "),
        })
    }

    /// The clause made positive, the clause without what its negations govern, and whether it had any.
    fn read_clause(&self, clause: &str) -> (String, String, bool) {
        let lower = clause.to_lowercase().replace('\u{2019}', "'");
        let words: Vec<&str> = lower.split_whitespace().collect();
        let phrase_at = |i: usize, phrase: &str| {
            let parts: Vec<&str> = phrase.split_whitespace().collect();
            (!parts.is_empty()
                && words.len() >= i + parts.len()
                && parts.iter().zip(&words[i..]).all(|(a, b)| a == b))
            .then_some(parts.len())
        };
        let (mut positive, mut rest) = (Vec::new(), Vec::new());
        let mut negated = false;
        let mut i = 0;
        'words: while i < words.len() {
            for phrase in &self.not_negating {
                if let Some(n) = phrase_at(i, phrase) {
                    positive.extend_from_slice(&words[i..i + n]);
                    rest.extend_from_slice(&words[i..i + n]);
                    i += n;
                    continue 'words;
                }
            }
            for (from, to) in &self.positive_forms {
                if let Some(n) = phrase_at(i, from) {
                    negated = true;
                    positive.extend(to.split_whitespace());
                    // What the negation governs is set aside; the positive form keeps it.
                    let scope_end = (i + n + self.scope_words).min(words.len());
                    positive.extend_from_slice(&words[i + n..scope_end]);
                    i = scope_end;
                    continue 'words;
                }
            }
            positive.push(words[i]);
            rest.push(words[i]);
            i += 1;
        }
        (positive.join(" "), rest.join(" "), negated)
    }
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'\'' || b >= 0x80
}

/// Whether `text` starts with `word` followed by a word boundary. Both are expected in lower case.
fn starts_with_word(text: &str, word: &str) -> bool {
    text.starts_with(word)
        && text[word.len()..]
            .bytes()
            .next()
            .is_none_or(|b| !is_word_byte(b) || !word.bytes().last().is_some_and(is_word_byte))
}

fn word_starts(text: &str) -> impl Iterator<Item = usize> + '_ {
    let bytes = text.as_bytes();
    (0..bytes.len())
        .filter(move |&i| is_word_byte(bytes[i]) && (i == 0 || !is_word_byte(bytes[i - 1])))
}

/// Splits on any of `separators` (case-insensitive), trimming pieces and dropping empty ones.
fn split_keep_order(text: &str, separators: &[String]) -> Vec<String> {
    let lower = text.to_lowercase();
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut at = 0;
    while at < text.len() {
        if let Some(sep) = separators
            .iter()
            .filter(|s| !s.is_empty() && lower[at..].starts_with(s.as_str()))
            .max_by_key(|s| s.len())
        {
            pieces.push(text[start..at].trim().to_string());
            at += sep.len();
            start = at;
        } else {
            at += text[at..].chars().next().map_or(1, char::len_utf8);
        }
    }
    pieces.push(text[start..].trim().to_string());
    pieces.retain(|p| !p.is_empty());
    pieces
}

#[cfg(test)]
mod tests {
    use crate::language::Language;

    #[test]
    fn descriptions_become_caller_phrases_per_enumerated_object() {
        let en = Language::load("en").unwrap();
        let d = &en.matcher.describe;
        let p = d.phrases("Customer wants to cancel an order, a plan, an account or a contract");
        assert!(
            p.contains(&"I want to cancel an order".to_string()),
            "{p:?}"
        );
        assert!(
            p.contains(&"I want to cancel a contract".to_string()),
            "{p:?}"
        );
        let p = d.phrases("Customer complains or is dissatisfied with the service");
        assert!(p.contains(&"I complain".to_string()), "{p:?}");
        assert!(
            p.contains(&"I am dissatisfied with the service".to_string()),
            "{p:?}"
        );
        let p = d.phrases("Problem with a payment, a charge or a bill");
        assert!(p.contains(&"Problem with a charge".to_string()), "{p:?}");
        // Nothing to rewrite: the text alone.
        assert_eq!(
            d.phrases("Contract cancellation request"),
            vec!["Contract cancellation request"]
        );
    }

    #[test]
    fn questions_about_a_property_are_inquiries_not_requests() {
        let en = Language::load("en").unwrap();
        let q = &en.matcher.inquiry;
        assert!(q.is_inquiry("what is your cancellation policy"));
        assert!(q.is_inquiry("Is there a fee if I cancel?"));
        assert!(!q.is_inquiry("I want to cancel, what is the fee?"));
        assert!(!q.is_inquiry("what do I have to do to cancel my order"));
        assert!(!q.is_inquiry("why is there a fee on my bill"));
        assert!(!q.is_inquiry("the fee on my bill is wrong"));
    }

    #[test]
    fn negations_turn_positive_and_negated_clauses_are_set_aside() {
        let en = Language::load("en").unwrap();
        let n = &en.matcher.negation;
        let r = n
            .read("I don't want to cancel, I just want to change my plan")
            .unwrap();
        assert_eq!(
            r.clauses,
            vec![(
                "I don't want to cancel".to_string(),
                "i want to cancel".to_string()
            )]
        );
        assert_eq!(r.remainder, "i, i just want to change my plan");
        let r = n.read("I do NOT want to cancel my contract").unwrap();
        assert_eq!(r.clauses[0].1, "i want to cancel my contract");
        assert_eq!(r.remainder, "i");
        // A negation governs the words right after it, not the whole sentence.
        let r = n
            .read("I never use my account so I'd like to remove it")
            .unwrap();
        assert_eq!(r.remainder, "i to remove it");
        // Not knowing how is not refusing.
        assert_eq!(n.read("I don't know how to cancel my order"), None);
        assert_eq!(n.read("please cancel my contract"), None);
        // "notice" is not "not".
        assert_eq!(n.read("I got a notice about my bill"), None);
    }
}
