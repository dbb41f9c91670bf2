//! Phone numbers from speech or keypad entry, as E.164 (`+16502234567`).
//!
//! Callers say numbers in digit groups with pauses, the recogniser writes some as figures ("650") and some
//! as words ("six five oh"), "double" and "triple" repeat the next digit, and a number may start with "plus"
//! or the international prefix 00. A national number gets the agent's own country calling code: a NANP
//! number is 10 digits (or 11 starting with 1), elsewhere the trunk prefix 0 is dropped.

use crate::language::fields::NumberWords;

/// Why an answer is not a phone number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("no digits in the answer")]
    NoDigits,
    #[error("{0} digits is too short for a phone number")]
    TooShort(usize),
    #[error("{0} digits is too long for a phone number (E.164 allows 15)")]
    TooLong(usize),
    #[error("{0:?} is not a country calling code")]
    Country(String),
}

/// ITU E.164 country calling codes of two digits; 1 and 7 are the one-digit zones, every other code has
/// three digits.
const TWO_DIGIT_CODES: [&str; 44] = [
    "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46", "47",
    "48", "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63", "64", "65",
    "66", "81", "82", "84", "86", "90", "91", "92", "93", "94", "95", "98",
];

/// The country calling code of an E.164 number (`+15550100000` -> `1`, `+34600000000` -> `34`).
pub fn calling_code(e164: &str) -> Result<String, PhoneError> {
    let digits = e164.strip_prefix('+').unwrap_or(e164);
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(PhoneError::Country(e164.to_string()));
    }
    let len = match &digits[..1] {
        "1" | "7" => 1,
        _ if digits.len() >= 2 && TWO_DIGIT_CODES.contains(&&digits[..2]) => 2,
        _ => 3,
    };
    digits
        .get(..len)
        .map(str::to_string)
        .ok_or_else(|| PhoneError::Country(e164.to_string()))
}

impl NumberWords {
    fn digit(&self, word: &str) -> Option<char> {
        self.digits
            .iter()
            .position(|words| words.iter().any(|w| w == word))
            .and_then(|d| char::from_digit(d as u32, 10))
    }

    /// The digits (and a leading `+`) in `answer`, in order. A keypad entry (`6502234567#`) reads the same.
    pub fn digits_in(&self, answer: &str) -> String {
        let lower = answer.to_lowercase();
        let tokens: Vec<&str> = lower
            .split(|c: char| !(c.is_alphanumeric() || c == '+'))
            .filter(|t| !t.is_empty())
            .collect();
        let mut out = String::new();
        let mut repeat = 1;
        for (i, token) in tokens.iter().enumerate() {
            if let Some(rest) = token.strip_prefix('+') {
                if out.is_empty() {
                    out.push('+');
                }
                out.push_str(
                    &rest
                        .chars()
                        .filter(char::is_ascii_digit)
                        .collect::<String>(),
                );
                continue;
            }
            if token.chars().all(|c| c.is_ascii_digit()) {
                for _ in 0..repeat {
                    out.push_str(token);
                }
                repeat = 1;
                continue;
            }
            if self.plus.iter().any(|p| p == token) && out.is_empty() {
                out.push('+');
                continue;
            }
            if let Some(n) = self.repeats.get(*token) {
                repeat = *n;
                continue;
            }
            if let Some(n) = self.zeros.get(*token) {
                if out.ends_with(|c: char| c.is_ascii_digit()) {
                    out.extend(std::iter::repeat_n('0', *n));
                }
                continue;
            }
            if let Some(d) = self.digit(token) {
                // A digit word counts only next to other digits (fillers between them allowed): a lone "one"
                // or "to" in a sentence is a word, not a number.
                let is_digit = |t: &str| {
                    t.chars().all(|c| c.is_ascii_digit())
                        || self.digit(t).is_some()
                        || self.zeros.contains_key(t)
                        || self.repeats.contains_key(t)
                };
                let skip = |t: &&&str| self.between.iter().any(|b| b == **t);
                let before = tokens[..i].iter().rev().find(|t| !skip(t));
                let after = tokens[i + 1..].iter().find(|t| !skip(t));
                let neighbours =
                    before.is_some_and(|t| is_digit(t)) || after.is_some_and(|t| is_digit(t));
                if neighbours || repeat > 1 {
                    for _ in 0..repeat {
                        out.push(d);
                    }
                }
                repeat = 1;
            }
        }
        out
    }

    /// `answer` as an E.164 number, national numbers taking `default_code` (the agent's calling code).
    pub fn parse(&self, answer: &str, default_code: &str) -> Result<String, PhoneError> {
        let heard = self.digits_in(answer);
        let digits: String = heard.chars().filter(char::is_ascii_digit).collect();
        if digits.is_empty() {
            return Err(PhoneError::NoDigits);
        }
        let international = if heard.starts_with('+') {
            digits
        } else if let Some(rest) = digits.strip_prefix("00") {
            rest.to_string()
        } else if default_code == "1" {
            // North American numbering: 10 digits, or 11 with the leading 1.
            match digits.len() {
                10 => format!("1{digits}"),
                11 if digits.starts_with('1') => digits,
                n if n < 10 => return Err(PhoneError::TooShort(n)),
                n => return Err(PhoneError::TooLong(n)),
            }
        } else {
            let national = digits.strip_prefix('0').unwrap_or(&digits);
            format!("{default_code}{national}")
        };
        match international.len() {
            n if n < 8 => Err(PhoneError::TooShort(n)),
            n if n > 15 => Err(PhoneError::TooLong(n)),
            _ => Ok(format!("+{international}")),
        }
    }
}

/// Digits grouped the way people read them back: a 10-digit number 3-3-4 ("6 5 0, 2 2 3, 0 4 5 6"),
/// others in threes without a lone digit at the end.
pub fn group_digits(digits: &str) -> String {
    let d: Vec<String> = digits
        .chars()
        .filter(char::is_ascii_digit)
        .map(String::from)
        .collect();
    let mut sizes = Vec::new();
    if d.len() == 10 {
        sizes = vec![3, 3, 4];
    } else {
        let mut left = d.len();
        while left > 0 {
            let take = if left == 4 { 4 } else { left.min(3) };
            sizes.push(take);
            left -= take;
        }
    }
    let mut out = Vec::new();
    let mut at = 0;
    for n in sizes {
        out.push(d[at..at + n].join(" "));
        at += n;
    }
    out.join(", ")
}

impl NumberWords {
    /// How a number is read back for confirmation: a number in the agent's own country as the caller
    /// would say it (without the country code), any other with "plus" and its country code.
    pub fn read_back(&self, e164: &str, home_code: &str) -> String {
        let digits: String = e164.chars().filter(char::is_ascii_digit).collect();
        match digits.strip_prefix(home_code) {
            Some(national) if e164.starts_with('+') => group_digits(national),
            _ if e164.starts_with('+') => {
                let code = calling_code(e164).unwrap_or_default();
                let rest = &digits[code.len().min(digits.len())..];
                let plus = self.plus.first().map_or("+", String::as_str);
                format!("{plus} {}, {}", group_digits(&code), group_digits(rest))
            }
            _ => group_digits(&digits),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words() -> NumberWords {
        crate::language::Language::load("en")
            .expect("English loads")
            .fields
            .numbers
    }

    #[test]
    fn spoken_and_written_numbers_become_e164() {
        let w = words();
        let us = [
            (
                "six five zero, double two three, oh four five six",
                "+16502230456",
            ),
            ("650 223 0456", "+16502230456"),
            ("My number is 6502230456.", "+16502230456"),
            (
                "It's one six five oh two two three oh four five six",
                "+16502230456",
            ),
            (
                "six five zero two two three zero four five six",
                "+16502230456",
            ),
            (
                "eight hundred five five five one two one two",
                "+18005551212",
            ),
            ("six five oh, triple two, oh four five six", "+16502220456"),
            ("6502230456#", "+16502230456"),
            (
                "plus four four seven nine four six, one two three four five six",
                "+447946123456",
            ),
            ("+44 7946 123456", "+447946123456"),
            (
                "double oh four four seven nine four six one two three four five six",
                "+447946123456",
            ),
        ];
        for (said, e164) in us {
            assert_eq!(w.parse(said, "1").as_deref(), Ok(e164), "{said}");
        }
        // Elsewhere the trunk prefix 0 goes.
        assert_eq!(
            w.parse("oh seven nine four six, one two three four five six", "44")
                .as_deref(),
            Ok("+447946123456")
        );
        assert_eq!(w.parse("612 34 56 78", "34").as_deref(), Ok("+34612345678"));
    }

    #[test]
    fn sound_alike_words_count_only_among_digits() {
        let w = words();
        assert_eq!(w.digits_in("I want to give you my number"), "");
        assert_eq!(w.digits_in("call me on six to four"), "624");
        assert_eq!(w.digits_in("for sure, it is five five five"), "555");
    }

    #[test]
    fn what_is_not_a_number_says_why() {
        let w = words();
        assert_eq!(
            w.parse("I don't have another one", "1"),
            Err(PhoneError::NoDigits)
        );
        assert_eq!(w.parse("five five five", "1"), Err(PhoneError::TooShort(3)));
        assert_eq!(
            w.parse(
                "one two three four five six seven eight nine zero one two",
                "1"
            ),
            Err(PhoneError::TooLong(12))
        );
        assert_eq!(
            w.parse("+1234567890123456", "1"),
            Err(PhoneError::TooLong(16))
        );
    }

    #[test]
    fn calling_codes_come_from_the_agents_number() {
        assert_eq!(calling_code("+15550100000").as_deref(), Ok("1"));
        assert_eq!(calling_code("+34600000000").as_deref(), Ok("34"));
        assert_eq!(calling_code("+447946123456").as_deref(), Ok("44"));
        assert_eq!(calling_code("+79001234567").as_deref(), Ok("7"));
        assert_eq!(calling_code("+351912345678").as_deref(), Ok("351"));
        assert!(calling_code("not a number").is_err());
    }

    #[test]
    fn numbers_are_read_back_digit_by_digit() {
        let w = words();
        assert_eq!(w.read_back("+16502230456", "1"), "6 5 0, 2 2 3, 0 4 5 6");
        assert_eq!(
            w.read_back("+447911123456", "1"),
            "plus 4 4, 7 9 1, 1 1 2, 3 4 5 6"
        );
        assert_eq!(w.read_back("+34600111222", "34"), "6 0 0, 1 1 1, 2 2 2");
        assert_eq!(group_digits("48213"), "4 8 2, 1 3");
    }
}
