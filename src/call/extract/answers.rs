//! Short answers to the dialog's questions: yes or no, declining, asking to hear the question again,
//! correcting the last answer, picking one of a few options, and numbers.

use super::words::{match_at, tokens};
use crate::language::fields::{AnswerWords, Cardinals, NumberWords};

/// How many words may follow a short answer's phrase before the answer is about something else
/// ("no thanks, I'm fine" declines; "no thanks to your billing department I was charged twice" does not).
const SHORT_TAIL: usize = 3;

impl AnswerWords {
    fn opens_with(&self, words: &[String], phrases: &[String], tail: usize) -> Option<usize> {
        match_at(words, 0, phrases).filter(|n| words.len() <= n + tail)
    }

    /// `Some(true)` for yes, `Some(false)` for no, from the first words of the answer.
    pub fn yes_no(&self, answer: &str) -> Option<bool> {
        let words = tokens(answer);
        let yes = match_at(&words, 0, &self.yes);
        let no = match_at(&words, 0, &self.no);
        match (yes, no) {
            (Some(a), Some(b)) => Some(a > b),
            (Some(_), None) => Some(true),
            (None, Some(_)) => Some(false),
            (None, None) => None,
        }
    }

    pub fn is_decline(&self, answer: &str) -> bool {
        self.opens_with(&tokens(answer), &self.decline, SHORT_TAIL)
            .is_some()
    }

    pub fn is_repeat(&self, answer: &str) -> bool {
        self.opens_with(&tokens(answer), &self.repeat, SHORT_TAIL)
            .is_some()
    }

    /// After "no, it's ..." or "actually ...": the corrected answer (possibly empty: "wait, go back").
    pub fn correction(&self, answer: &str) -> Option<String> {
        let words = tokens(answer);
        let n = match_at(&words, 0, &self.correction)?;
        Some(words[n..].join(" "))
    }
}

/// The option the caller picked: the longest option whose words all appear together in the answer.
pub fn choice<'a>(answer: &str, options: &'a [String]) -> Option<&'a String> {
    let words = tokens(answer);
    options
        .iter()
        .filter_map(|o| {
            let len = tokens(o).len();
            (0..words.len())
                .find_map(|i| match_at(&words, i, &[o]))
                .map(|_| (len, o))
        })
        .max_by_key(|(len, _)| *len)
        .map(|(_, o)| o)
}

/// A number field: digits said one by one ("four five six seven" is 4567), or a number said as a
/// number ("forty two").
pub fn number(answer: &str, digits: &NumberWords, cardinals: &Cardinals) -> Option<String> {
    let spelled: String = digits
        .digits_in(answer)
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    let words = tokens(answer);
    let said = (0..words.len()).find_map(|i| cardinals.number_at(&words, i));
    match said {
        // "42" is one token; "four two" spells 42 digit by digit.
        Some((n, used)) if spelled.len() <= 1 || (used > 1 && spelled.len() <= used) => {
            Some(n.to_string())
        }
        _ if spelled.len() > 1 => Some(spelled),
        Some((n, _)) => Some(n.to_string()),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn en() -> crate::language::FieldWords {
        crate::language::Language::load("en").unwrap().fields
    }

    #[test]
    fn yes_and_no() {
        let w = en().answers;
        assert_eq!(w.yes_no("Yes, that's right."), Some(true));
        assert_eq!(w.yes_no("yeah"), Some(true));
        assert_eq!(w.yes_no("No."), Some(false));
        assert_eq!(w.yes_no("not quite"), Some(false));
        assert_eq!(w.yes_no("tomorrow"), None);
    }

    #[test]
    fn decline_repeat_correct() {
        let w = en().answers;
        assert!(w.is_decline("No thanks."));
        assert!(w.is_decline("I don't have one"));
        assert!(!w.is_decline("no thanks to you I was charged twice on my bill"));
        assert!(w.is_repeat("Sorry, what?"));
        assert!(w.is_repeat("Can you repeat that please?"));
        assert!(!w.is_repeat("what about tomorrow after three in the afternoon then"));
        assert_eq!(
            w.correction("No, it's 650 223 0456").as_deref(),
            Some("650 223 0456")
        );
        assert_eq!(w.correction("Actually, Monday.").as_deref(), Some("monday"));
        assert_eq!(w.correction("yes"), None);
    }

    #[test]
    fn choices_and_numbers() {
        let options = vec![
            "billing".to_string(),
            "technical support".to_string(),
            "other".to_string(),
        ];
        assert_eq!(
            choice("it's about technical support", &options).map(String::as_str),
            Some("technical support")
        );
        assert_eq!(
            choice("Billing.", &options).map(String::as_str),
            Some("billing")
        );
        assert_eq!(choice("no idea", &options), None);
        let w = en();
        let n = |s: &str| number(s, &w.numbers, &w.cardinals);
        assert_eq!(n("forty two").as_deref(), Some("42"));
        assert_eq!(n("It's 17.").as_deref(), Some("17"));
        assert_eq!(n("four five six seven").as_deref(), Some("4567"));
        assert_eq!(n("three").as_deref(), Some("3"));
        assert_eq!(n("account 123456").as_deref(), Some("123456"));
        assert_eq!(n("I don't know"), None);
    }
}
