//! Authenticity of provider webhooks. Twilio signs each request with `X-Twilio-Signature`: base64 of
//! HMAC-SHA1, keyed by the account's auth token, over the full URL followed by every POST parameter's
//! name and value, sorted by name. Requests without a valid signature are refused.

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

type HmacSha1 = Hmac<Sha1>;

fn mac(auth_token: &str, url: &str, params: &[(String, String)]) -> HmacSha1 {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut mac =
        HmacSha1::new_from_slice(auth_token.as_bytes()).expect("HMAC takes any key length");
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    mac
}

/// The signature Twilio sends for a request to `url` (as Twilio called it, query included) with form
/// parameters `params`.
pub fn twilio_signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    base64::engine::general_purpose::STANDARD
        .encode(mac(auth_token, url, params).finalize().into_bytes())
}

/// Whether `signature` (the `X-Twilio-Signature` header) is valid; compared in constant time.
pub fn verify_twilio(
    auth_token: &str,
    url: &str,
    params: &[(String, String)],
    signature: &str,
) -> bool {
    let Ok(expected) = base64::engine::general_purpose::STANDARD.decode(signature.trim()) else {
        return false;
    };
    mac(auth_token, url, params).verify_slice(&expected).is_ok()
}

/// How far a Telnyx webhook's timestamp may be from our clock: older ones may be replays.
const TELNYX_TOLERANCE_S: i64 = 300;

fn ed25519_key(public_key_b64: &str) -> Option<ed25519_dalek::VerifyingKey> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(public_key_b64.trim())
        .ok()?;
    ed25519_dalek::VerifyingKey::from_bytes(&bytes.try_into().ok()?).ok()
}

/// Whether `key` is an Ed25519 public key in base64.
pub fn is_ed25519_public_key(key: &str) -> bool {
    ed25519_key(key).is_some()
}

/// Whether a Telnyx webhook is authentic: `signature` (`telnyx-signature-ed25519`, base64) is the
/// account key's Ed25519 signature of `"{timestamp}|{body}"`, and `timestamp` (`telnyx-timestamp`, Unix
/// seconds) is within five minutes of `now`.
pub fn verify_telnyx(
    public_key_b64: &str,
    timestamp: &str,
    body: &[u8],
    signature: &str,
    now: i64,
) -> bool {
    let Some(key) = ed25519_key(public_key_b64) else {
        return false;
    };
    let Ok(ts) = timestamp.trim().parse::<i64>() else {
        return false;
    };
    if (now - ts).abs() > TELNYX_TOLERANCE_S {
        return false;
    }
    let Ok(sig) = base64::engine::general_purpose::STANDARD.decode(signature.trim()) else {
        return false;
    };
    let Ok(sig) = ed25519_dalek::Signature::from_slice(&sig) else {
        return false;
    };
    let mut message = Vec::with_capacity(timestamp.len() + 1 + body.len());
    message.extend_from_slice(timestamp.trim().as_bytes());
    message.push(b'|');
    message.extend_from_slice(body);
    key.verify_strict(&message, &sig).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// Expected values computed with the `twilio` PyPI package's `RequestValidator.compute_signature`.
    #[test]
    fn signatures_match_twilios_own_validator() {
        let cases = [
            (
                "https://mycompany.com/myapp.php?foo=1&bar=2",
                params(&[
                    ("CallSid", "CA1234567890ABCDE"),
                    ("Caller", "+12349013030"),
                    ("Digits", "1234"),
                    ("From", "+12349013030"),
                    ("To", "+18005551212"),
                ]),
                "0/KCTR6DLpKmkAf8muzZqo1nDgQ=",
            ),
            (
                "https://example.com/twilio/voice",
                params(&[
                    ("To", "+15550100000"),
                    ("Body", "a&b=c é"),
                    ("CallSid", "CA00"),
                    ("From", "+15550142000"),
                ]),
                "8FrA2p8m+/HXOU3BAHz5PwmpmPM=",
            ),
        ];
        for (url, form, expected) in &cases {
            assert_eq!(twilio_signature("12345", url, form), *expected);
            assert!(verify_twilio("12345", url, form, expected));
            assert!(!verify_twilio("12346", url, form, expected), "wrong token");
            assert!(
                !verify_twilio("12345", "https://evil.example/", form, expected),
                "wrong URL"
            );
            assert!(!verify_twilio("12345", url, form, "not base64!"));
        }
    }
}
