//! `[providers.<name>]`: the secrets and API settings of each telephony provider. Which providers exist
//! and how their keys look is the telephony code's; this file checks a config against them.

use crate::providers::Provider;
use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use super::env::secret;
use super::Findings;

/// `[providers.<name>]`: secrets that prove a request or stream comes from the provider. Values may name an
/// environment variable as `env:NAME`, so secrets stay out of the file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProviderSettings {
    /// Twilio's auth token: `X-Twilio-Signature` on webhooks is checked with it (`TWILIO_AUTH_TOKEN` when
    /// unset).
    pub auth_token: Option<String>,
    /// When set, a media stream must present it (`?token=`, `Authorization: Bearer`, or a `token` custom
    /// parameter in its start message) or it is refused.
    pub stream_token: Option<String>,
    /// The account whose calls we control through the provider's REST API (Twilio: `AC…`).
    pub account_sid: Option<String>,
    /// The provider's REST API base URL (default: the provider's own), for tests and staging.
    pub api_base: Option<String>,
    /// Telnyx: the API key (Bearer). Vonage: a JWT for the application (Bearer).
    pub api_key: Option<String>,
    /// Plivo: the auth ID (HTTP Basic with `auth_token`).
    pub auth_id: Option<String>,
    /// Telnyx: the account's Ed25519 public key (base64) that webhook signatures are checked with.
    pub public_key: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawProvider {
    #[serde(default)]
    auth_token: Option<Spanned<String>>,
    #[serde(default)]
    stream_token: Option<Spanned<String>>,
    #[serde(default)]
    account_sid: Option<Spanned<String>>,
    #[serde(default)]
    api_base: Option<Spanned<String>>,
    #[serde(default)]
    api_key: Option<Spanned<String>>,
    #[serde(default)]
    auth_id: Option<Spanned<String>>,
    #[serde(default)]
    public_key: Option<Spanned<String>>,
}

pub(super) fn provider_settings(
    raw: Option<Spanned<BTreeMap<String, RawProvider>>>,
    f: &mut Findings<'_>,
) -> BTreeMap<String, ProviderSettings> {
    let mut out = BTreeMap::new();
    let Some(raw) = raw else {
        return out;
    };
    let span = raw.span();
    for (name, p) in raw.into_inner() {
        let Ok(provider) = name.parse::<Provider>() else {
            f.error(
                &format!("providers.{name}"),
                span.clone(),
                format!("unknown provider; known: {}", Provider::names()),
            );
            continue;
        };
        let auth_token = secret(f, &format!("providers.{name}.auth_token"), p.auth_token);
        let stream_token = secret(f, &format!("providers.{name}.stream_token"), p.stream_token);
        let sid_span = p.account_sid.as_ref().map(|s| s.span());
        let account_sid = secret(f, &format!("providers.{name}.account_sid"), p.account_sid);
        if let (Some(sid), Some(span)) = (&account_sid, sid_span) {
            if provider == Provider::Twilio && !crate::providers::twilio::control::is_sid(sid, "AC")
            {
                f.error(
                    "providers.twilio.account_sid",
                    span,
                    "a Twilio account SID is AC followed by 32 hex digits",
                );
            }
        }
        let api_base = p.api_base.and_then(|b| {
            let url = b.get_ref().trim().trim_end_matches('/').to_string();
            if url.starts_with("http://") || url.starts_with("https://") {
                Some(url)
            } else {
                f.error(
                    &format!("providers.{name}.api_base"),
                    b.span(),
                    format!("{:?} is not an http(s) URL", b.get_ref()),
                );
                None
            }
        });
        let api_key = secret(f, &format!("providers.{name}.api_key"), p.api_key);
        let auth_id = secret(f, &format!("providers.{name}.auth_id"), p.auth_id);
        let key_span = p.public_key.as_ref().map(|k| k.span());
        let public_key = secret(f, &format!("providers.{name}.public_key"), p.public_key);
        if let (Some(key), Some(span)) = (&public_key, key_span) {
            if !crate::telephony::signing::is_ed25519_public_key(key) {
                f.error(
                    &format!("providers.{name}.public_key"),
                    span,
                    "not an Ed25519 public key (32 bytes, base64) as the Telnyx portal shows it",
                );
            }
        }
        out.insert(
            name,
            ProviderSettings {
                auth_token,
                stream_token,
                account_sid,
                api_base,
                api_key,
                auth_id,
                public_key,
            },
        );
    }
    out
}
