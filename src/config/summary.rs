//! `[summary]`: who writes the contextual summary spoken to the person who takes a transfer (a template,
//! or an OpenAI-compatible endpoint within a time budget). Writing it is the summary code's.

use serde::Deserialize;
use toml::Spanned;

use super::checks::base_url;
use super::env::secret;
use super::Findings;

/// `[summary]`: who writes the contextual summary spoken to the person who takes a transfer.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum SummarySettings {
    /// From the transcript, the topic and its evidence, the answers and the caller's mood, by template.
    #[default]
    Template,
    /// An OpenAI-compatible chat endpoint, within `timeout_ms`; the template's summary otherwise.
    Llm(LlmSummary),
}

#[derive(Debug, Clone, PartialEq)]
pub struct LlmSummary {
    /// Base URL (`https://api.openai.com`): `/v1/chat/completions` is appended.
    pub url: String,
    pub model: String,
    pub api_key: Option<String>,
    /// The whole budget: past it, the template's summary is used.
    pub timeout_ms: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSummary {
    #[serde(default)]
    engine: Option<Spanned<String>>,
    #[serde(default)]
    url: Option<Spanned<String>>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    api_key: Option<Spanned<String>>,
    #[serde(default)]
    timeout_ms: Option<Spanned<i64>>,
}

/// Checks `[summary]`.
pub(super) fn summary_settings(
    f: &mut Findings<'_>,
    raw: Option<Spanned<RawSummary>>,
) -> SummarySettings {
    let Some(raw) = raw else {
        return SummarySettings::Template;
    };
    let span = raw.span();
    let raw = raw.into_inner();
    let engine = raw
        .engine
        .as_ref()
        .map_or("template".to_string(), |e| e.get_ref().trim().to_string());
    match engine.as_str() {
        "template" => SummarySettings::Template,
        "llm" => {
            let Some(base) = base_url(
                f,
                "summary.url",
                raw.url.as_ref(),
                &span,
                "engine = \"llm\" needs the url of an OpenAI-compatible endpoint",
            ) else {
                return SummarySettings::Template;
            };
            let timeout_ms = match raw.timeout_ms {
                None => 1_500,
                Some(t) => match u64::try_from(*t.get_ref()) {
                    Ok(ms) if (100..=10_000).contains(&ms) => ms,
                    _ => {
                        f.error(
                            "summary.timeout_ms",
                            t.span(),
                            format!(
                                "{} is out of range 100..=10000: the caller waits for it",
                                t.get_ref()
                            ),
                        );
                        1_500
                    }
                },
            };
            SummarySettings::Llm(LlmSummary {
                url: base,
                model: raw.model.unwrap_or_else(|| "gpt-4o-mini".into()),
                api_key: secret(f, "summary.api_key", raw.api_key),
                timeout_ms,
            })
        }
        other => {
            let place = raw.engine.map_or(span, |e| e.span());
            f.error(
                "summary.engine",
                place,
                format!("unknown summary engine {other:?}; known: template, llm"),
            );
            SummarySettings::Template
        }
    }
}
