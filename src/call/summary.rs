//! The contextual summary spoken to whoever picks up a transfer: deterministic, from what the caller said,
//! the topic and its evidence, what the caller already told the agent, and how they sound. One or two
//! sentences, short enough to take in by ear in under 10 seconds: the caller's words are clipped to fit
//! [`MAX_WORDS`].

use crate::language::{fill, PromptError, Prompts};
use crate::tickets::{FieldStatus, FieldValue};

/// The whole summary's budget in words: the Piper voice says about 2.9 words a second, so this is under
/// 9 s (`tests/speech.rs` renders the longest summary and times it).
pub const MAX_WORDS: usize = 25;
/// A topic's text is clipped to this many words in the summary.
const MAX_TOPIC_WORDS: usize = 6;
/// The caller's decisive words always get at least this many, even when the rest is long.
const MIN_QUOTE_WORDS: usize = 6;
/// An earlier utterance is only worth repeating if it says something.
const MIN_EARLIER_WORDS: usize = 4;
/// At most this many answers are repeated, each clipped to this many words.
const MAX_FACTS: usize = 2;
const MAX_FACT_WORDS: usize = 4;

/// What the summary is made of.
#[derive(Debug, Clone, Copy)]
pub struct Brief<'a> {
    pub caller: Option<&'a str>,
    pub topic_text: &'a str,
    /// The caller's words that decided the escalation.
    pub evidence: &'a str,
    /// The caller's utterance before the decisive one, if any.
    pub earlier: Option<&'a str>,
    /// Answers the callback questions collected before the escalation.
    pub fields: &'a [FieldValue],
    /// Everything the caller said, to hear the mood in.
    pub transcript: &'a str,
}

/// Clips `text` to `max` words, marking the cut.
pub fn clip_to(text: &str, max: usize) -> String {
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.len() <= max {
        return words.join(" ");
    }
    format!("{}...", words[..max].join(" "))
}

/// Words as they are heard: punctuation on its own (an empty quote's `""`) is not a word.
fn word_count(text: &str) -> usize {
    text.split_whitespace()
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .count()
}

/// True when the caller used one of the language's unhappy words or phrases.
pub fn sounds_upset(prompts: &Prompts, transcript: &str) -> bool {
    let said: Vec<String> = transcript
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    prompts.escalation.upset_words.iter().any(|phrase| {
        let phrase: Vec<String> = phrase.split_whitespace().map(str::to_lowercase).collect();
        !phrase.is_empty() && said.windows(phrase.len()).any(|w| w == phrase.as_slice())
    })
}

/// "Caller ending in 42": the last two digits are what a person can take in by ear.
fn caller_words(prompts: &Prompts, caller: Option<&str>) -> Result<String, PromptError> {
    match caller {
        Some(number) => {
            let digits: String = number.chars().filter(char::is_ascii_digit).collect();
            let last = &digits[digits.len().saturating_sub(2)..];
            fill(
                &prompts.caller.known,
                &[("number", number), ("last_digits", last)],
            )
        }
        None => Ok(prompts.caller.unknown.clone()),
    }
}

/// "Contract cancellation request" reads "contract cancellation request" mid-sentence; "VIP line" stays.
fn mid_sentence(topic: &str) -> String {
    let mut chars = topic.chars();
    match (chars.next(), chars.next()) {
        (Some(first), Some(second)) if first.is_uppercase() && second.is_lowercase() => {
            first.to_lowercase().chain(topic.chars().skip(1)).collect()
        }
        _ => topic.to_string(),
    }
}

/// What the caller told us, one fact each: "reason: my router keeps dropping".
fn facts(fields: &[FieldValue]) -> Vec<String> {
    fields
        .iter()
        .filter(|f| f.status == FieldStatus::Answered)
        .filter_map(|f| {
            let value = f.spoken.as_deref().or(f.value.as_deref())?;
            Some(format!(
                "{}: {}",
                f.name.replace('_', " "),
                clip_to(value, MAX_FACT_WORDS)
            ))
        })
        .take(MAX_FACTS)
        .collect()
}

/// Builds the summary: who, what and how they sound, then the caller's words, then what they told us, all
/// within [`MAX_WORDS`]. The quote keeps at least [`MIN_QUOTE_WORDS`]; facts go in while they fit, and the
/// earlier utterance only when no fact did.
pub fn contextual_summary(prompts: &Prompts, brief: &Brief<'_>) -> Result<String, PromptError> {
    let esc = &prompts.escalation;
    let who = caller_words(prompts, brief.caller)?;
    let mood = if sounds_upset(prompts, brief.transcript) {
        esc.upset.as_str()
    } else {
        ""
    };
    let topic = clip_to(&mid_sentence(brief.topic_text), MAX_TOPIC_WORDS);
    let with_quote = |quote: &str| {
        fill(
            &esc.summary,
            &[
                ("caller", &who),
                ("topic", &topic),
                ("mood", mood),
                ("evidence", quote),
            ],
        )
    };
    let frame = word_count(&with_quote("")?);
    let mut told = String::new();
    let mut kept: Vec<String> = Vec::new();
    for fact in facts(brief.fields) {
        kept.push(fact);
        let sentence = fill(&esc.summary_facts, &[("facts", &kept.join("; "))])?;
        if frame + MIN_QUOTE_WORDS + word_count(&sentence) > MAX_WORDS {
            kept.pop();
            break;
        }
        told = sentence;
    }
    let room = MAX_WORDS.saturating_sub(frame + word_count(&told));
    let mut summary = with_quote(&clip_to(brief.evidence, room.max(MIN_QUOTE_WORDS)))?;
    summary.push_str(&told);
    let left = MAX_WORDS.saturating_sub(word_count(&summary));
    let earlier = brief
        .earlier
        .filter(|e| told.is_empty() && word_count(e) >= MIN_EARLIER_WORDS);
    if let Some(e) = earlier {
        let frame = word_count(&fill(&esc.summary_earlier, &[("earlier", "")])?);
        if left >= frame + MIN_EARLIER_WORDS {
            summary.push_str(&fill(
                &esc.summary_earlier,
                &[("earlier", &clip_to(e, left - frame))],
            )?);
        }
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::language::Language;

    fn brief<'a>(evidence: &'a str, fields: &'a [FieldValue], transcript: &'a str) -> Brief<'a> {
        Brief {
            caller: Some("+15550123442"),
            topic_text: "Contract cancellation request",
            evidence,
            earlier: Some("I have been a customer for ten years"),
            fields,
            transcript,
        }
    }

    #[test]
    fn summary_names_caller_topic_and_words() {
        let en = Language::load("en").unwrap();
        let s = contextual_summary(
            &en.prompts,
            &brief(
                "I want to cancel my contract",
                &[],
                "I want to cancel my contract",
            ),
        )
        .unwrap();
        assert_eq!(
            s,
            "Caller ending in 42 calls about contract cancellation request: \
             \"I want to cancel my contract\" Earlier: \"I have been a customer for ten years\""
        );
    }

    #[test]
    fn summary_carries_answers_and_mood_and_stays_short() {
        let en = Language::load("en").unwrap();
        let mut reason = FieldValue::missing("reason", "Why?", "text");
        reason.value = Some("my router keeps dropping the connection every single evening".into());
        reason.status = FieldStatus::Answered;
        let mut when = FieldValue::missing("callback_time", "When?", "datetime");
        when.value = Some("2026-12-03T15:00:00-05:00".into());
        when.spoken = Some("tomorrow after 3 pm".into());
        when.status = FieldStatus::Answered;
        let skipped = FieldValue::missing("alt_phone", "Other number?", "phone");
        let long =
            "this is ridiculous I have called five times this week and nobody ever fixes anything \
                    so I want to cancel my contract right now and get a refund for March";
        let fields = [reason, when, skipped];
        let s = contextual_summary(&en.prompts, &brief(long, &fields, long)).unwrap();
        assert!(s.contains(", sounding upset"), "{s}");
        assert!(s.contains("reason: my router keeps dropping..."), "{s}");
        assert!(
            !s.contains("callback time"),
            "the second fact does not fit: {s}"
        );
        assert!(!s.contains("alt phone"), "{s}");
        assert!(!s.contains("Earlier"), "facts leave no room: {s}");
        assert!(word_count(&s) <= MAX_WORDS, "{} words: {s}", word_count(&s));
        // Two sentences: who, what and the quote; then what they told us.
        let (first, second) = s.split_once("\" Told us").expect("facts follow the quote");
        assert!(!first.contains(". ") && second.ends_with('.'), "{s}");
    }

    #[test]
    fn mood_is_heard_in_whole_words() {
        let en = Language::load("en").unwrap();
        assert!(sounds_upset(&en.prompts, "I am really fed up with this"));
        assert!(sounds_upset(&en.prompts, "It's UNACCEPTABLE."));
        assert!(!sounds_upset(&en.prompts, "I want to cancel, thanks"));
        assert!(!sounds_upset(&en.prompts, "the angryness"), "not a word");
    }
}
