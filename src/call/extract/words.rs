//! Words as the recogniser writes them: one normalisation for every extractor, phrase lookup (longest
//! phrase first, whole words only) and numbers said as words.

use crate::language::fields::Cardinals;

/// `text` lower-cased and split into words. Punctuation goes, except inside figures ("3:30", "4.5") and
/// apostrophes inside words ("don't"); "a.m." and "p.m." become "am" and "pm", and "3pm" becomes "3 pm".
pub fn tokens(text: &str) -> Vec<String> {
    let lower = text.to_lowercase();
    let lower = lower.replace("a.m.", "am").replace("p.m.", "pm");
    let lower = lower.replace("a.m", "am").replace("p.m", "pm");
    let chars: Vec<char> = lower.chars().collect();
    let mut out = Vec::new();
    let mut word = String::new();
    for (i, &c) in chars.iter().enumerate() {
        let prev = i.checked_sub(1).map(|j| chars[j]);
        let next = chars.get(i + 1).copied();
        let inner = |p: Option<char>, n: Option<char>, f: fn(&char) -> bool| {
            p.as_ref().is_some_and(f) && n.as_ref().is_some_and(f)
        };
        let keep = c.is_alphanumeric()
            || c == '+'
            || ((c == ':' || c == '.') && inner(prev, next, char::is_ascii_digit))
            || ((c == '\'' || c == '’') && inner(prev, next, |c| c.is_alphabetic()));
        // A figure glued to letters ("3pm", "2nd") splits, so "pm" is a word of its own.
        let boundary = !word.is_empty()
            && keep
            && (word.ends_with(|w: char| w.is_ascii_digit()) && c.is_alphabetic());
        if boundary {
            out.push(std::mem::take(&mut word));
        }
        if keep {
            word.push(if c == '’' { '\'' } else { c });
        } else if !word.is_empty() {
            out.push(std::mem::take(&mut word));
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

/// The length in words of the longest phrase of `phrases` that starts at `tokens[at]`.
pub fn match_at<S: AsRef<str>>(tokens: &[String], at: usize, phrases: &[S]) -> Option<usize> {
    phrases
        .iter()
        .filter_map(|p| {
            let words: Vec<String> = tokens_of(p.as_ref());
            let end = at + words.len();
            (!words.is_empty() && end <= tokens.len() && tokens[at..end] == words[..])
                .then_some(words.len())
        })
        .max()
}

/// The words of a configured phrase, normalised like an utterance.
fn tokens_of(phrase: &str) -> Vec<String> {
    tokens(phrase)
}

/// True when the whole answer is one of `phrases` (fillers such as "um" aside is the caller's job).
pub fn is_exactly<S: AsRef<str>>(tokens: &[String], phrases: &[S]) -> bool {
    match_at(tokens, 0, phrases) == Some(tokens.len()) && !tokens.is_empty()
}

impl Cardinals {
    /// The number that starts at `tokens[at]` and how many words it took: figures ("42", "3:30" is not
    /// one), or words ("forty two", "three hundred and twenty", "veintidós").
    pub fn number_at(&self, tokens: &[String], at: usize) -> Option<(u64, usize)> {
        let first = tokens.get(at)?;
        if first.chars().all(|c| c.is_ascii_digit()) {
            return first.parse().ok().map(|n| (n, 1));
        }
        let mut total = 0u64;
        let mut current = 0u64;
        let mut used = 0usize;
        let mut seen = false;
        let mut i = at;
        while let Some(word) = tokens.get(i) {
            if let Some(&n) = self.units.get(word.as_str()) {
                // "twenty five" adds; "five five" is two numbers.
                let adds = !seen
                    || current == 0
                    || (current.is_multiple_of(10) && current >= 20 && n < 10)
                    || (current.is_multiple_of(100) && n < 100);
                if !adds {
                    break;
                }
                current += n;
            } else if let Some(&scale) = self.scales.get(word.as_str()) {
                if !seen {
                    break;
                }
                if scale >= 1000 {
                    total += current.max(1) * scale;
                    current = 0;
                } else {
                    current = current.max(1) * scale;
                }
            } else if seen && self.joiners.iter().any(|j| j == word) {
                // "and" joins only when a number follows it.
                let follows = tokens
                    .get(i + 1)
                    .is_some_and(|n| self.units.contains_key(n.as_str()));
                if !follows {
                    break;
                }
            } else {
                break;
            }
            seen = true;
            i += 1;
            used = i - at;
        }
        seen.then_some((total + current, used))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Vec<String> {
        tokens(s)
    }

    #[test]
    fn tokens_keep_figures_and_split_units() {
        assert_eq!(t("After 3pm, please."), ["after", "3", "pm", "please"]);
        assert_eq!(t("At 3:30 P.M."), ["at", "3:30", "pm"]);
        assert_eq!(t("I don't know"), ["i", "don't", "know"]);
        assert_eq!(
            t("It's john.smith@x.com"),
            ["it's", "john", "smith", "x", "com"]
        );
    }

    #[test]
    fn longest_phrase_wins() {
        let words = t("day after tomorrow");
        assert_eq!(match_at(&words, 0, &["day", "day after tomorrow"]), Some(3));
        assert_eq!(match_at(&words, 1, &["before"]), None);
    }

    #[test]
    fn cardinals_from_words() {
        let en = crate::language::Language::load("en")
            .unwrap()
            .fields
            .cardinals;
        let n = |s: &str| en.number_at(&t(s), 0);
        assert_eq!(n("forty two"), Some((42, 2)));
        assert_eq!(n("three hundred and twenty people"), Some((320, 4)));
        assert_eq!(n("two thousand five hundred"), Some((2500, 4)));
        assert_eq!(n("17"), Some((17, 1)));
        assert_eq!(n("five five"), Some((5, 1)));
        assert_eq!(n("hello"), None);
        assert_eq!(n("two and"), Some((2, 1)));
    }
}
