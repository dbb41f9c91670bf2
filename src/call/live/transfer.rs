//! A transfer's phases, as the live call lives them: the announcement plays, the targets are rung in order
//! (or all at once where the provider can), the provider reports each attempt's outcome, and when nobody
//! takes the call the caller is brought back to the agent on a new stream. Pure bookkeeping: the live call
//! turns each step into effects ([`super::Effect::Dial`], [`super::Effect::BringBack`]) and is told how they
//! went.

use std::collections::VecDeque;

/// What became of a dial request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dialed {
    /// The provider took the call and will report the outcome (Twilio's `<Dial action>`, Telnyx's events).
    Reported,
    /// Twilio without API credentials: the `<Connect action>` TwiML dials once the stream closes, and its
    /// `<Dial action>` reports.
    AtStreamEnd,
    /// The provider took the call (or takes it when the stream closes) and reports nothing back to us.
    HandedOver,
    /// The provider could not be asked (why).
    Unavailable(String),
}

/// How an attempt ended, as the provider reported it.
#[derive(Debug, Clone, PartialEq)]
pub enum RingOutcome {
    /// A person answered. `over`: the conversation has ended too (Twilio reports once, at the end);
    /// otherwise the provider reports [`RingOutcome::ConversationOver`] later (Telnyx).
    Bridged {
        talk_seconds: Option<i64>,
        over: bool,
    },
    /// The bridged conversation ended (Telnyx's hang-up after the bridge).
    ConversationOver,
    /// Nobody took it: `status` in Twilio's words (busy, no-answer, failed, canceled), `detail` the
    /// provider's own.
    NotTaken {
        status: String,
        detail: Option<String>,
    },
    /// The caller hung up while it rang.
    CallerGone { status: String },
}

/// Where a decided transfer stands.
#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    /// The announcement is playing; nothing is rung until it has.
    Announcing,
    /// A dial request is out.
    Dialing { on_stream: bool },
    /// The provider has the call and rings `group` for attempt `attempt`.
    Ringing,
    /// A person took it; the conversation goes on (its length is metered when it ends).
    Bridged { since: u64 },
    /// Nobody took it: the caller is being brought back to a new stream, where the call goes on with
    /// `outcome`.
    Returning { outcome: String },
}

/// A transfer the core asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct Transfer {
    pub phase: Phase,
    /// Targets not yet rung, in order.
    pub rest: VecDeque<String>,
    /// The targets the current attempt rings.
    pub group: Vec<String>,
    /// Attempts made so far (the current one's number).
    pub attempt: u32,
    /// The current attempt's row in the store, once written.
    pub attempt_id: Option<i64>,
    pub ticket: Option<i64>,
    pub whisper: bool,
    /// The call's clock when it was decided (the first dial's `wall_ms`).
    pub decided_at: u64,
    /// Ring every target at once (the provider can, and the business asked for it).
    pub ring_all: bool,
    /// How the last attempt nobody took ended (what the caller returns with).
    pub last_outcome: Option<String>,
}

impl Transfer {
    pub fn new(
        targets: VecDeque<String>,
        ticket: Option<i64>,
        whisper: bool,
        decided_at: u64,
        ring_all: bool,
    ) -> Self {
        Self {
            phase: Phase::Announcing,
            rest: targets,
            group: Vec::new(),
            attempt: 0,
            attempt_id: None,
            ticket,
            whisper,
            decided_at,
            ring_all,
            last_outcome: None,
        }
    }

    /// The next group to ring and its attempt number, or `None` when nobody is left.
    pub fn next_group(&mut self) -> Option<(Vec<String>, u32)> {
        let group: Vec<String> = if self.ring_all {
            self.rest.drain(..).collect()
        } else {
            self.rest.pop_front().into_iter().collect()
        };
        if group.is_empty() {
            return None;
        }
        self.attempt += 1;
        self.attempt_id = None;
        self.group = group.clone();
        Some((group, self.attempt))
    }
}
