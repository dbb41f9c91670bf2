//! switchboard: a runtime for AI phone agents that never lets a caller slip through.
//!
//! The call core ([`call`]) is a sans-IO state machine; everything else is an engine or an adapter around
//! it. See `docs/ARCHITECTURE.md` and the README.

pub mod asr;
pub mod audio;
pub mod call;
pub mod cli;
pub mod config;
pub mod effects;
pub mod engines;
pub mod eval;
pub mod events;
pub mod language;
pub mod listen;
pub mod loadtest;
pub mod models;
pub mod notify;
pub mod onnx;
pub mod plot;
pub mod providers;
pub mod recognition;
pub mod rehearsal;
pub mod replay;
pub mod server;
pub mod speech;
pub mod stats;
pub mod summary_llm;
pub mod support;
pub mod telephony;
pub mod tickets;
pub mod topics;
