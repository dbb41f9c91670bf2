//! The contextual summary spoken to whoever picks up a transfer: deterministic, from what the caller said,
//! the topic and its evidence, short enough to hear in a few seconds.

use crate::prompts::{fill, PromptError, Prompts};

/// Longest quote of the caller kept in a summary, in words.
const MAX_QUOTE_WORDS: usize = 30;
/// An earlier utterance is only worth repeating if it says something.
const MIN_EARLIER_WORDS: usize = 4;

/// Clips a quote to [`MAX_QUOTE_WORDS`] words.
pub fn clip(text: &str) -> String {
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.len() <= MAX_QUOTE_WORDS {
        return words.join(" ");
    }
    format!("{}...", words[..MAX_QUOTE_WORDS].join(" "))
}

/// Builds the summary. `earlier` is the caller's previous utterance, if any.
pub fn contextual_summary(
    prompts: &Prompts,
    caller: Option<&str>,
    topic_text: &str,
    evidence: &str,
    earlier: Option<&str>,
) -> Result<String, PromptError> {
    let who = match caller {
        Some(number) => fill(&prompts.caller.known, &[("number", number)])?,
        None => prompts.caller.unknown.clone(),
    };
    let quote = clip(evidence);
    let mut summary = fill(
        &prompts.escalation.summary,
        &[
            ("caller", &who),
            ("topic", topic_text),
            ("evidence", &quote),
        ],
    )?;
    if let Some(e) = earlier.filter(|e| e.split_whitespace().count() >= MIN_EARLIER_WORDS) {
        summary.push_str(&fill(
            &prompts.escalation.summary_earlier,
            &[("earlier", &clip(e))],
        )?);
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prompts::Language;

    #[test]
    fn summary_names_caller_topic_and_words() {
        let en = Language::load("en").unwrap();
        let s = contextual_summary(
            &en.prompts,
            Some("+15550123456"),
            "Contract cancellation request",
            "I want to cancel my contract",
            Some("I have been a customer for ten years"),
        )
        .unwrap();
        assert!(s.contains("+15550123456"), "{s}");
        assert!(s.contains("Contract cancellation request"), "{s}");
        assert!(s.contains("I want to cancel my contract"), "{s}");
        assert!(s.contains("ten years"), "{s}");
    }
}
