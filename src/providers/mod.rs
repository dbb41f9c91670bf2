//! The telephony providers: which ones we speak to ([`Provider`]), and for each, in one folder, everything
//! that is particular to it.
//!
//! ```text
//! providers/
//!   mod.rs         Provider, the registry (one line per provider), the routes of all providers
//!   control.rs     the CallControl trait every provider implements: Dial in, Dialed out
//!   rest.rs        the shared REST plumbing: send with retries (Patience), ControlError
//!   twilio/        mod.rs (its registry entry), media.rs (Media Streams), control.rs (Calls API),
//!                  twiml.rs (the TwiML we answer with), webhooks.rs (/twilio/voice, after-stream,
//!                  dial-result, whisper)
//!   telnyx/        mod.rs, media.rs, control.rs (Call Control transfer, streaming_start),
//!                  webhooks.rs (/telnyx/events, the whisper WAV)
//!   vonage/        mod.rs, media.rs, control.rs (transfer NCCO), webhooks.rs (the whisper NCCO)
//!   plivo/         mod.rs, media.rs, control.rs (aleg transfer, Plivo XML), webhooks.rs (transfer, whisper)
//!   exotel/        mod.rs, media.rs (no call control, no webhooks)
//! ```
//!
//! Each provider's `mod.rs` offers the same three functions, which the registry dispatches to: `media()`
//! (a fresh [`MediaProtocol`] for one stream on `/<provider>/stream`), `call_control(config, patience)`
//! (its [`CallControl`], when the config sets one up) and `routes()` (its webhooks). **Adding a provider**
//! is a folder with those three, its `pub mod` line and one line in the `registry!` below; nothing in the
//! server names a provider.
//!
//! What stays outside the folders, and why: the provider-independent media layer is [`crate::telephony`]
//! (the [`MediaProtocol`] trait and its frame and audio types, the shared wire helpers, playout pacing,
//! webhook signatures). It is pure and below this module: the server's stream session and the config's
//! validation use it without the registry, and it never names a provider. The server's side of a
//! transfer (attempts, parked calls, the whisper keys) is [`crate::server::transfer`] and
//! [`crate::server::handover`]; the webhooks here call into it. The LLM summary is not a provider thing:
//! [`crate::summary_llm`].
//!
//! Must not hold per-call state: that is the server's (parked calls, handoffs) or the media protocol
//! value's (one stream's ids and format).

pub mod control;
pub mod rest;

// The folders. Declared here rather than by `registry!` so that rustfmt, which does not expand macros,
// still formats them.
pub mod exotel;
pub mod plivo;
pub mod telnyx;
pub mod twilio;
pub mod vonage;

use axum::Router;

pub use control::{CallControl, Dial, Dialed, Pending};
pub use rest::{ControlError, Patience};

use crate::config::AgentConfig;
use crate::server::AppState;
use crate::telephony::MediaProtocol;

/// Declares every provider once: its [`Provider`] variant, its name and its folder. Expands to the enum
/// and the dispatch of each variant to its folder's `media`, `call_control` and `routes`, so a provider
/// cannot be half registered (a folder missing one of the three does not compile).
macro_rules! registry {
    ($($(#[$doc:meta])* $variant:ident = $name:literal => $folder:ident,)+) => {
        /// A telephony provider we take calls from. Its name ([`Provider::as_str`]) is the one in routes
        /// (`/twilio/stream`), config sections (`[providers.twilio]`), metrics labels, event lines and logs.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Provider {
            $($(#[$doc])* $variant,)+
        }

        impl Provider {
            /// Every provider, in registry order.
            pub const ALL: &'static [Provider] = &[$(Provider::$variant,)+];

            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Provider::$variant => $name,)+
                }
            }

            /// The protocol spoken on `/<provider>/stream`, fresh for one stream.
            pub fn media(self) -> Box<dyn MediaProtocol> {
                match self {
                    $(Provider::$variant => $folder::media(),)+
                }
            }

            /// The provider's call control, when the config sets one up (`None`: a transfer is handed over
            /// when the stream closes, and nothing reports back).
            pub fn call_control(
                self,
                config: &AgentConfig,
                patience: Patience,
            ) -> Result<Option<Box<dyn CallControl>>, ControlError> {
                match self {
                    $(Provider::$variant => $folder::call_control(config, patience),)+
                }
            }

            /// The provider's webhook routes.
            fn routes(self) -> Router<AppState> {
                match self {
                    $(Provider::$variant => $folder::routes(),)+
                }
            }
        }
    };
}

registry! {
    /// Twilio: Media Streams, the Calls API, TwiML webhooks.
    Twilio = "twilio" => twilio,
    /// Telnyx: media streaming, Call Control and its signed events.
    Telnyx = "telnyx" => telnyx,
    /// Vonage: the Voice WebSocket and the Voice API's transfer.
    Vonage = "vonage" => vonage,
    /// Plivo: audio streams and the Call API's transfer.
    Plivo = "plivo" => plivo,
    /// Exotel: voicebot streams only.
    Exotel = "exotel" => exotel,
}

impl std::fmt::Display for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is no provider of ours.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown provider {0:?}; known: {known}", known = Provider::names())]
pub struct UnknownProvider(pub String);

impl std::str::FromStr for Provider {
    type Err = UnknownProvider;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Provider::ALL
            .iter()
            .copied()
            .find(|p| p.as_str() == name)
            .ok_or_else(|| UnknownProvider(name.to_string()))
    }
}

impl Provider {
    /// Every provider's name, comma-separated, for messages that list what is known.
    pub fn names() -> String {
        Provider::ALL
            .iter()
            .map(|p| p.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Every provider's webhook routes, merged (the stream routes are the server's: one per provider, alike).
pub fn routes() -> Router<AppState> {
    Provider::ALL
        .iter()
        .fold(Router::new(), |router, p| router.merge(p.routes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_provider_route_has_its_protocol() {
        for &provider in Provider::ALL {
            assert_eq!(provider.media().name(), provider.as_str());
        }
        assert!("skype".parse::<Provider>().is_err());
    }

    #[test]
    fn every_providers_routes_merge_without_a_clash() {
        // axum panics on two routes with one path: each provider owns its own prefix.
        let _ = routes();
    }

    #[test]
    fn names_round_trip() {
        for &provider in Provider::ALL {
            assert_eq!(provider.as_str().parse::<Provider>(), Ok(provider));
            assert_eq!(provider.to_string(), provider.as_str());
        }
        assert_eq!(Provider::names(), "twilio, telnyx, vonage, plivo, exotel");
        assert_eq!(
            "Twilio".parse::<Provider>().unwrap_err().to_string(),
            "unknown provider \"Twilio\"; known: twilio, telnyx, vonage, plivo, exotel"
        );
    }
}
