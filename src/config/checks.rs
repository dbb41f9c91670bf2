//! Checks of value shapes several sections share: E.164 phone numbers and http(s) base URLs. Each
//! section decides what a bad value means for it; this file only says whether the shape is right.

use std::ops::Range;

use toml::Spanned;

use super::Findings;

/// True for an E.164 number: `+`, a non-zero first digit, 7 to 15 digits in all.
pub fn is_e164(number: &str) -> bool {
    let Some(digits) = number.strip_prefix('+') else {
        return false;
    };
    (7..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

/// An http(s) base URL without its trailing slash; `missing` is the complaint when there is none.
pub(super) fn base_url(
    f: &mut Findings<'_>,
    field: &str,
    url: Option<&Spanned<String>>,
    section: &Range<usize>,
    missing: &str,
) -> Option<String> {
    let Some(u) = url else {
        f.error(field, section.clone(), missing);
        return None;
    };
    let t = u.get_ref().trim().trim_end_matches('/');
    if t.starts_with("http://") || t.starts_with("https://") {
        Some(t.to_string())
    } else {
        f.error(
            field,
            u.span(),
            format!("{:?} is not an http(s) URL", u.get_ref()),
        );
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e164() {
        assert!(is_e164("+15550100000"));
        assert!(is_e164("+34600000000"));
        assert!(!is_e164("15550100000"));
        assert!(!is_e164("+0555010000"));
        assert!(!is_e164("+1555"));
        assert!(!is_e164("+1 555 010 0000"));
        assert!(!is_e164("+1234567890123456"));
    }
}
