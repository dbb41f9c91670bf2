//! The optional LLM summary: an OpenAI-compatible `POST /v1/chat/completions` asked to brief the person who
//! takes a transfer, from the escalation ticket (prompt: `prompts/en/summary.md`). It runs while the
//! announcement plays, within a strict budget; on a timeout, an error, or an answer too long to hear in a
//! few seconds, the template's summary (already on the ticket) stands.

use std::time::Duration;

use serde_json::json;

use crate::config::LlmSummary;
use crate::language::fill;
use crate::tickets::{FieldStatus, Ticket};

/// The instructions sent with every request.
pub const PROMPT: &str = crate::language::en::SUMMARY_INSTRUCTIONS;
/// An answer longer than this cannot be heard in 10 seconds: the template's summary is used instead.
const MAX_WORDS: usize = 40;

#[derive(Debug, thiserror::Error)]
pub enum SummaryError {
    #[error("no answer within {0} ms")]
    Timeout(u64),
    #[error("the summary endpoint failed: {0}")]
    Http(String),
    #[error("the summary endpoint answered {status}: {body}")]
    Status { status: u16, body: String },
    #[error("unusable answer: {0}")]
    Answer(String),
}

/// A client for one endpoint.
pub struct LlmSummarizer {
    client: reqwest::Client,
    settings: LlmSummary,
}

impl std::fmt::Debug for LlmSummarizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmSummarizer")
            .field("url", &self.settings.url)
            .field("model", &self.settings.model)
            .finish_non_exhaustive()
    }
}

/// The prompt for `ticket`.
pub fn prompt_for(ticket: &Ticket) -> String {
    let facts: Vec<String> = ticket
        .draft
        .fields
        .iter()
        .filter(|f| f.status == FieldStatus::Answered)
        .filter_map(|f| Some(format!("- {}: {}", f.name, f.value.as_deref()?)))
        .collect();
    let facts = if facts.is_empty() {
        "(nothing yet)".to_string()
    } else {
        facts.join("\n")
    };
    let caller = ticket.draft.caller.as_deref().unwrap_or("unknown number");
    let transcript = format!("(caller {caller})\n{}", ticket.draft.transcript);
    // The template has exactly these placeholders (tested), so filling cannot fail; the raw text is the
    // fallback all the same.
    fill(
        PROMPT,
        &[
            ("topic", ticket.draft.topic.as_deref().unwrap_or("-")),
            ("transcript", &transcript),
            ("facts", &facts),
            ("default", &ticket.draft.summary),
        ],
    )
    .unwrap_or_else(|_| PROMPT.to_string())
}

impl LlmSummarizer {
    pub fn new(settings: LlmSummary) -> Result<Self, SummaryError> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(settings.timeout_ms))
            .build()
            .map_err(|e| SummaryError::Http(e.to_string()))?;
        Ok(Self { client, settings })
    }

    pub fn budget(&self) -> Duration {
        Duration::from_millis(self.settings.timeout_ms)
    }

    /// Asks for a summary of `ticket`, within the budget.
    pub async fn summarize(&self, ticket: &Ticket) -> Result<String, SummaryError> {
        let budget = self.settings.timeout_ms;
        tokio::time::timeout(self.budget(), self.ask(ticket))
            .await
            .map_err(|_| SummaryError::Timeout(budget))?
    }

    async fn ask(&self, ticket: &Ticket) -> Result<String, SummaryError> {
        let body = json!({
            "model": self.settings.model,
            "temperature": 0.2,
            "max_tokens": 120,
            "messages": [{"role": "user", "content": prompt_for(ticket)}],
        });
        let mut request = self
            .client
            .post(format!("{}/v1/chat/completions", self.settings.url))
            .json(&body);
        if let Some(key) = &self.settings.api_key {
            request = request.bearer_auth(key);
        }
        let response = request.send().await.map_err(|e| {
            if e.is_timeout() {
                SummaryError::Timeout(self.settings.timeout_ms)
            } else {
                SummaryError::Http(e.to_string())
            }
        })?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| SummaryError::Http(e.to_string()))?;
        if !status.is_success() {
            return Err(SummaryError::Status {
                status: status.as_u16(),
                body: text.chars().take(200).collect(),
            });
        }
        let answer: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| SummaryError::Answer(e.to_string()))?;
        let content = answer["choices"][0]["message"]["content"]
            .as_str()
            .map(|c| c.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|c| !c.is_empty())
            .ok_or_else(|| SummaryError::Answer("no choices[0].message.content".into()))?;
        let words = content.split_whitespace().count();
        if words > MAX_WORDS {
            return Err(SummaryError::Answer(format!(
                "{words} words, too long to hear before the bridge"
            )));
        }
        Ok(content)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_prompt_uses_only_what_is_filled() {
        let used = crate::language::placeholders(super::PROMPT);
        for p in &used {
            assert!(
                ["topic", "transcript", "facts", "default"].contains(&p.as_str()),
                "{p}"
            );
        }
        assert_eq!(used.len(), 4);
    }
}
