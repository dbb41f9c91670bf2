//! The sans-IO call core: timestamped events in, actions out. Owns no socket, no clock, no thread.
//!
//! Feed [`Call::handle`] with what happened (speech started/ended, a transcript with its topic hits, a
//! DTMF digit, a ticket the store filed, the hang-up), then drain [`Call::poll_action`] until `None`.
//! Replay and the live server run this same type; only the event source and the clock differ, which is
//! what makes a replay show exactly what the live agent would have done.
//!
//! Nothing is told before it is written: escalation and callback tickets are requested with
//! [`Action::FileTicket`], and what follows (the transfer, the callback promise) is only released when the
//! store reports [`Event::TicketFiled`].

pub mod dialog;
pub mod extract;
pub mod hours;
pub mod live;
pub mod policy;
pub mod summary;

use std::collections::VecDeque;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::config::{AgentConfig, CallbackField, DialogSettings, SupportMode, TransferTarget};
use crate::events::{CallEvent, Decision, EventLine};
use crate::language::{fill, FieldWords, Language, PromptError, Prompts};
use crate::tickets::{FieldValue, TicketDraft, TicketKind, TopicEvidence, Triage};
use crate::topics::{MandatoryTopic, TopicHit};
use dialog::{Context, Dialog, Reply};

/// Whether the caller can hear the agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hearing {
    /// A live call: questions are asked one at a time and the next utterance is the answer.
    Live,
    /// A replayed recording: nobody hears the questions, so answers are never collected.
    Recording,
}

/// Everything a call needs to know up front.
#[derive(Debug, Clone)]
pub struct CallSetup {
    pub call_id: String,
    /// The caller's number, when the provider or the user gave it.
    pub caller: Option<String>,
    pub support: SupportMode,
    /// Where escalated calls go, in the order they are tried (see [`crate::config::Escalation`]).
    pub targets: Vec<TransferTarget>,
    /// When people take transfers; outside them an escalation becomes a callback.
    pub hours: Option<hours::BusinessHours>,
    pub contextual_summary: bool,
    pub extra_fields: Vec<CallbackField>,
    /// Every topic the matcher may report (to quote a topic's text in summaries).
    pub topics: Vec<MandatoryTopic>,
    pub prompts: Prompts,
    pub hearing: Hearing,
    /// How answers are understood in the call's language.
    pub words: FieldWords,
    pub dialog: DialogSettings,
    /// The business's time zone and the moment the call began: "tomorrow" is relative to them.
    pub timezone: Tz,
    pub started_at: DateTime<Utc>,
    /// The agent's country calling code (national numbers a caller gives get it).
    pub calling_code: String,
    /// Category and priority of each topic's tickets (topics absent here: the defaults).
    pub triage: std::collections::BTreeMap<String, Triage>,
}

impl CallSetup {
    /// A call of the agent `config`, speaking `language`.
    pub fn for_agent(
        call_id: String,
        caller: Option<String>,
        config: &AgentConfig,
        language: &Language,
        topics: Vec<MandatoryTopic>,
        hearing: Hearing,
        started_at: DateTime<Utc>,
    ) -> Self {
        Self {
            call_id,
            caller,
            support: config.agent.support,
            targets: config.escalation.targets.clone(),
            hours: config.escalation.hours.clone(),
            contextual_summary: config.escalation.contextual_summary,
            extra_fields: config.callback.extra_fields.clone(),
            topics,
            prompts: language.prompts.clone(),
            hearing,
            words: language.fields.clone(),
            dialog: config.callback.dialog,
            timezone: config.agent.timezone,
            started_at,
            // A validated config's number is E.164, so this only falls back on a hand-built one.
            calling_code: extract::phone::calling_code(&config.agent.phone_number)
                .unwrap_or_else(|_| "1".into()),
            triage: config.triage.clone(),
        }
    }
}

/// A recognised utterance.
#[derive(Debug, Clone, PartialEq)]
pub struct Transcript {
    pub text: String,
    pub start_ms: u64,
    pub end_ms: u64,
    pub is_final: bool,
}

/// What happened, at call time `t_ms`.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A live call connected: the agent greets the caller.
    Answered {
        t_ms: u64,
    },
    SpeechStarted {
        t_ms: u64,
    },
    SpeechEnded {
        t_ms: u64,
    },
    /// A transcript and the topics the matcher found in it.
    Heard {
        t_ms: u64,
        transcript: Transcript,
        hits: Vec<TopicHit>,
    },
    Dtmf {
        t_ms: u64,
        digit: char,
    },
    /// The store wrote the ticket requested by the last [`Action::FileTicket`].
    TicketFiled {
        t_ms: u64,
        id: i64,
    },
    HungUp {
        t_ms: u64,
    },
    /// The transfer asked for by the last [`Action::Transfer`] reached a person.
    TransferBridged {
        t_ms: u64,
    },
    /// The provider took the transfer and will not say how it went (its own flow, or no outcome reports).
    TransferHandedOver {
        t_ms: u64,
    },
    /// Nobody took the transfer (`outcome`: busy, no-answer, failed, canceled, or why the provider could
    /// not be asked): the caller is back with the agent, which offers a callback.
    TransferFailed {
        t_ms: u64,
        outcome: String,
    },
    /// Time passes with nothing else happening (live calls send it every few tens of milliseconds): the
    /// dialog's silence and keypad timeouts are measured on it.
    Tick {
        t_ms: u64,
    },
    /// The caller's voice has lasted long enough to count as talking (before [`Event::SpeechStarted`]):
    /// if the agent is speaking, the caller is barging in.
    VoiceOnset {
        t_ms: u64,
    },
    /// The oldest prompt not yet played has been heard in full (the provider echoed its mark).
    PromptPlayed {
        t_ms: u64,
    },
    /// The oldest prompt not yet played could not be spoken at all (the speech engine failed).
    PromptFailed {
        t_ms: u64,
        reason: String,
    },
    /// After [`Action::StopSpeaking`]: the prompt that was playing was cut after `heard_ms` (`None`: nothing
    /// had started), and `dropped` prompts queued behind it were never played.
    PromptsCut {
        t_ms: u64,
        heard_ms: Option<u64>,
        dropped: usize,
    },
}

/// What the adapters must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Write a line to the call's event log.
    Log(EventLine),
    /// Speak to the caller.
    Say { text: String },
    /// Transfer the call to `to`, then to each of `fallbacks` while nobody answers; `summary` is spoken to
    /// whoever answers. `ticket` is the escalation ticket already written for it. Report the outcome with
    /// [`Event::TransferBridged`] or [`Event::TransferFailed`].
    Transfer {
        to: String,
        fallbacks: Vec<String>,
        summary: Option<String>,
        ticket: Option<i64>,
    },
    /// Write a ticket, then report [`Event::TicketFiled`].
    FileTicket(TicketDraft),
    /// The caller is talking over the agent: stop playing and drop what is queued, then report
    /// [`Event::PromptsCut`].
    StopSpeaking,
    /// The agent's part is over: end the call once everything said before has played.
    HangUp,
}

#[derive(Debug, Clone, PartialEq)]
enum Phase {
    Listening,
    /// The callback dialog is collecting the extra fields (live calls only).
    AskingFields {
        draft: Box<TicketDraft>,
        dialog: Box<Dialog>,
        /// When the last question was asked: an utterance that began before it is not its answer.
        asked_ms: u64,
    },
    /// A ticket was requested; `then` is released once it is filed.
    Filing {
        kind: TicketKind,
        then: Vec<Action>,
        after: Box<Phase>,
    },
    /// Flagged and filed: still listening, escalation topics may still transfer.
    Flagged,
    /// A live transfer is under way: the agent waits for its outcome.
    Transferring {
        hit: Box<TopicHit>,
        ticket: Option<i64>,
    },
    /// Transferred: the agent's part of the call is over.
    Transferred,
    Ended,
}

#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error(transparent)]
    Prompt(#[from] PromptError),
    #[error("escalation to nowhere: no transfer number is configured")]
    NoTransferNumber,
    #[error(transparent)]
    Time(#[from] extract::when::TimeError),
}

/// One call's state machine.
pub struct Call {
    setup: CallSetup,
    phase: Phase,
    heard: Vec<Transcript>,
    actions: VecDeque<Action>,
    flagged: bool,
    /// Prompts said and not yet reported played or cut (live calls), oldest first.
    unplayed: VecDeque<String>,
    /// A [`Action::StopSpeaking`] is out and its [`Event::PromptsCut`] has not come back.
    stopping: bool,
    /// Start of the utterance a partial transcript already decided on: its final does not decide again.
    decided_on: Option<u64>,
    /// Since when neither side has said anything (the dialog's silence timeout counts from it).
    quiet_since: Option<u64>,
    /// The caller is speaking, or has spoken and the transcript has not come yet.
    caller_turn: bool,
    /// Every topic heard so far (the best evidence of each), for the ticket.
    topics_heard: Vec<TopicEvidence>,
}

impl Call {
    pub fn new(setup: CallSetup) -> Self {
        Self {
            setup,
            phase: Phase::Listening,
            heard: Vec::new(),
            actions: VecDeque::new(),
            flagged: false,
            unplayed: VecDeque::new(),
            stopping: false,
            decided_on: None,
            quiet_since: None,
            caller_turn: false,
            topics_heard: Vec::new(),
        }
    }

    pub fn setup(&self) -> &CallSetup {
        &self.setup
    }

    /// The next action, if any.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// True once the agent's part of the call is over (transferring, transferred or hung up).
    pub fn is_finished(&self) -> bool {
        matches!(
            self.phase,
            Phase::Transferring { .. } | Phase::Transferred | Phase::Ended
        )
    }

    /// True while a transfer's outcome is awaited.
    pub fn is_transferring(&self) -> bool {
        matches!(self.phase, Phase::Transferring { .. })
    }

    /// True while an utterance may still decide something (not asking a question, filing or finished).
    pub fn is_listening(&self) -> bool {
        matches!(self.phase, Phase::Listening | Phase::Flagged)
    }

    /// True while something the agent said has not been heard in full.
    pub fn is_speaking(&self) -> bool {
        !self.unplayed.is_empty()
    }

    /// Feeds one event.
    pub fn handle(&mut self, event: Event) -> Result<(), CallError> {
        // What was played or cut is still worth knowing after a transfer (the announcement plays out).
        match event {
            Event::PromptPlayed { t_ms } => {
                if let Some(text) = self.unplayed.pop_front() {
                    self.log(t_ms, CallEvent::Played { text });
                }
                self.quiet_from(t_ms);
                return Ok(());
            }
            Event::PromptFailed { t_ms, reason } => {
                if let Some(text) = self.unplayed.pop_front() {
                    self.log(t_ms, CallEvent::SayFailed { text, reason });
                }
                self.quiet_from(t_ms);
                return Ok(());
            }
            Event::PromptsCut {
                t_ms,
                heard_ms,
                dropped,
            } => {
                self.prompts_cut(t_ms, heard_ms, dropped);
                self.quiet_from(t_ms);
                return Ok(());
            }
            Event::TransferBridged { t_ms } => {
                self.transferred(t_ms, "bridged");
                return Ok(());
            }
            Event::TransferHandedOver { t_ms } => {
                self.transferred(t_ms, "handed-over");
                return Ok(());
            }
            Event::TransferFailed { t_ms, outcome } => return self.transfer_failed(t_ms, outcome),
            Event::HungUp { t_ms } if self.is_transferring() => {
                // Gone while the transfer rang: still owed a callback.
                self.transfer_failed(t_ms, "caller hung up".into())?;
                self.hung_up(t_ms);
                return Ok(());
            }
            _ => {}
        }
        // After a transfer or the hang-up the agent hears nothing more (a pending ticket is still
        // `Filing`, so its confirmation gets through).
        if self.is_finished() {
            return Ok(());
        }
        match event {
            Event::Answered { t_ms } => {
                if self.setup.hearing == Hearing::Live {
                    let greeting = self.setup.prompts.call.greeting.clone();
                    self.act(t_ms, Action::Say { text: greeting });
                }
            }
            Event::VoiceOnset { .. } => self.barge_in(),
            Event::SpeechStarted { t_ms } => {
                self.log(t_ms, CallEvent::SpeechStart);
                self.caller_turn = true;
                self.quiet_since = None;
                self.barge_in();
            }
            Event::SpeechEnded { t_ms } => self.log(t_ms, CallEvent::SpeechEnd),
            Event::Tick { t_ms } => self.tick(t_ms)?,
            Event::Heard {
                t_ms,
                transcript,
                hits,
            } => self.heard(t_ms, transcript, hits)?,
            Event::Dtmf { t_ms, digit } => self.dtmf(t_ms, digit)?,
            Event::TicketFiled { t_ms, id } => self.ticket_filed(t_ms, id),
            Event::HungUp { t_ms } => self.hung_up(t_ms),
            Event::PromptPlayed { .. }
            | Event::PromptFailed { .. }
            | Event::PromptsCut { .. }
            | Event::TransferBridged { .. }
            | Event::TransferHandedOver { .. }
            | Event::TransferFailed { .. } => {}
        }
        Ok(())
    }

    /// The caller talks while the agent speaks: the agent stops. A barge-in during a question is the
    /// start of the answer, so nothing else changes.
    fn barge_in(&mut self) {
        if self.unplayed.is_empty() || self.stopping || self.setup.hearing != Hearing::Live {
            return;
        }
        self.stopping = true;
        self.actions.push_back(Action::StopSpeaking);
    }

    fn prompts_cut(&mut self, t_ms: u64, heard_ms: Option<u64>, dropped: usize) {
        self.stopping = false;
        let interrupted = heard_ms.and_then(|ms| self.unplayed.pop_front().map(|t| (t, ms)));
        let dropped: Vec<String> = (0..dropped)
            .filter_map(|_| self.unplayed.pop_front())
            .collect();
        let (text, heard_ms) = match interrupted {
            Some((text, ms)) => (Some(text), Some(ms)),
            None => (None, None),
        };
        self.log(
            t_ms,
            CallEvent::BargeIn {
                text,
                heard_ms,
                dropped,
            },
        );
    }

    /// Nothing is being said from `t_ms` on, if the agent has nothing left to play and the caller is not
    /// mid-turn.
    fn quiet_from(&mut self, t_ms: u64) {
        if self.unplayed.is_empty() && !self.caller_turn {
            self.quiet_since = Some(t_ms);
        }
    }

    fn log(&mut self, t_ms: u64, event: CallEvent) {
        self.actions
            .push_back(Action::Log(EventLine::new(t_ms, event)));
    }

    /// Queues an effect together with its log line, or keeps it for after a ticket is filed.
    fn act(&mut self, t_ms: u64, action: Action) {
        if let Some(event) = Self::event_of(&action) {
            self.log(t_ms, event);
        }
        if let (Action::Say { text }, Hearing::Live) = (&action, self.setup.hearing) {
            self.unplayed.push_back(text.clone());
        }
        self.actions.push_back(action);
    }

    fn event_of(action: &Action) -> Option<CallEvent> {
        match action {
            Action::Say { text } => Some(CallEvent::Say { text: text.clone() }),
            Action::Transfer {
                to,
                fallbacks,
                summary,
                ..
            } => Some(CallEvent::Transfer {
                to: to.clone(),
                fallbacks: fallbacks.clone(),
                summary: summary.clone(),
            }),
            Action::Log(_) | Action::FileTicket(_) | Action::StopSpeaking | Action::HangUp => None,
        }
    }

    fn heard(
        &mut self,
        t_ms: u64,
        transcript: Transcript,
        hits: Vec<TopicHit>,
    ) -> Result<(), CallError> {
        self.log(
            t_ms,
            CallEvent::Transcript {
                text: transcript.text.clone(),
                start_ms: transcript.start_ms,
                end_ms: transcript.end_ms,
                is_final: transcript.is_final,
            },
        );
        if transcript.is_final {
            self.caller_turn = false;
            self.quiet_from(t_ms);
        }
        if transcript.text.is_empty() {
            return Ok(());
        }
        if transcript.is_final {
            // The final replaces the partial a decision was taken on, if any.
            match self.heard.last_mut() {
                Some(last) if !last.is_final && last.start_ms == transcript.start_ms => {
                    *last = transcript.clone();
                }
                _ => self.heard.push(transcript.clone()),
            }
            if let Phase::AskingFields { asked_ms, .. } = self.phase {
                if transcript.start_ms < asked_ms {
                    return Ok(());
                }
                // A mandatory escalation topic outranks the questions ("just put me through to someone"):
                // it is decided below like any utterance. Everything else is an answer.
                let verdict = policy::decide(self.setup.support, &hits, self.flagged);
                if verdict.decision != Decision::Escalate {
                    let text = transcript.text.clone();
                    self.converse(t_ms, |dialog, ctx| dialog.heard(ctx, &text))?;
                    return Ok(());
                }
            }
        }
        let deciding = match self.phase {
            Phase::Listening | Phase::Flagged => true,
            Phase::AskingFields { .. } => transcript.is_final,
            _ => false,
        };
        if !deciding {
            return Ok(());
        }
        if self.decided_on == Some(transcript.start_ms) {
            // A partial of this utterance already decided; its final only completes the transcript.
            return Ok(());
        }
        if !transcript.is_final {
            // A partial acts only when it already settles the call; "continue" waits for the final.
            let verdict = policy::decide(self.setup.support, &hits, self.flagged);
            if verdict.decision == Decision::Continue {
                return Ok(());
            }
            self.decided_on = Some(transcript.start_ms);
            // The decision quotes the words heard so far.
            self.heard.push(transcript.clone());
        }
        for hit in &hits {
            self.note_topic(hit);
            self.log(
                t_ms,
                CallEvent::Topic {
                    topic: hit.topic.clone(),
                    kind: hit.kind,
                    score: hit.score,
                    evidence: hit.evidence.clone(),
                    matched: hit.matched.clone(),
                },
            );
        }
        let verdict = policy::decide(self.setup.support, &hits, self.flagged);
        self.log(
            t_ms,
            CallEvent::Decision {
                decision: verdict.decision,
                reason: verdict.reason.clone(),
                topic: verdict.hit.as_ref().map(|h| h.topic.clone()),
            },
        );
        match (verdict.decision, verdict.hit) {
            (Decision::Escalate, Some(hit)) => self.escalate(t_ms, &hit)?,
            (Decision::Flag, Some(hit)) => self.flag(t_ms, &hit)?,
            _ => {}
        }
        Ok(())
    }

    fn topic_text(&self, id: &str) -> String {
        self.setup
            .topics
            .iter()
            .find(|t| t.id == id)
            .map_or_else(|| id.to_string(), |t| t.text.clone())
    }

    /// The caller's words so far, one line each with its call time.
    fn transcript_text(&self) -> String {
        self.heard
            .iter()
            .map(|t| {
                format!(
                    "[{:02}:{:02}] {}",
                    t.start_ms / 60_000,
                    t.start_ms / 1000 % 60,
                    t.text
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn summary_for(&self, hit: &TopicHit) -> Result<String, PromptError> {
        let earlier = self
            .heard
            .iter()
            .rev()
            .skip(1)
            .map(|t| t.text.as_str())
            .next();
        let fields = match &self.phase {
            Phase::AskingFields { dialog, .. } => dialog.fields(),
            _ => Vec::new(),
        };
        let transcript: Vec<&str> = self.heard.iter().map(|t| t.text.as_str()).collect();
        summary::contextual_summary(
            &self.setup.prompts,
            &summary::Brief {
                caller: self.setup.caller.as_deref(),
                topic_text: &self.topic_text(&hit.topic),
                evidence: &hit.evidence,
                earlier,
                fields: &fields,
                transcript: &transcript.join(" "),
            },
        )
    }

    /// Keeps the best evidence of each topic heard.
    fn note_topic(&mut self, hit: &TopicHit) {
        let evidence = TopicEvidence {
            topic: hit.topic.clone(),
            kind: hit.kind,
            score: hit.score,
            evidence: hit.evidence.clone(),
        };
        match self.topics_heard.iter_mut().find(|t| t.topic == hit.topic) {
            Some(known) if known.score >= hit.score => {}
            Some(known) => *known = evidence,
            None => self.topics_heard.push(evidence),
        }
    }

    fn draft(&self, kind: TicketKind, hit: &TopicHit, summary: String) -> TicketDraft {
        let upset = summary::sounds_upset(&self.setup.prompts, &self.transcript_text());
        let (category, priority) = self
            .setup
            .triage
            .get(&hit.topic)
            .copied()
            .unwrap_or_default()
            .decide(hit.kind, upset);
        let mut topics = self.topics_heard.clone();
        if !topics.iter().any(|t| t.topic == hit.topic) {
            topics.push(TopicEvidence {
                topic: hit.topic.clone(),
                kind: hit.kind,
                score: hit.score,
                evidence: hit.evidence.clone(),
            });
        }
        TicketDraft {
            category,
            priority,
            topics,
            kind,
            topic: Some(hit.topic.clone()),
            summary,
            transcript: self.transcript_text(),
            fields: Vec::new(),
            caller: self.setup.caller.clone(),
            call_id: self.setup.call_id.clone(),
            note: None,
            promise: None,
            awaiting_transfer: false,
        }
    }

    /// The call time `t_ms` as a moment in the business's time zone.
    fn moment(&self, t_ms: u64) -> DateTime<Tz> {
        Context::at(self.setup.started_at, self.setup.timezone, t_ms)
    }

    fn escalate(&mut self, t_ms: u64, hit: &TopicHit) -> Result<(), CallError> {
        let mut targets =
            crate::config::transfer_targets(&self.setup.targets, &hit.topic).into_iter();
        let to = targets.next().ok_or(CallError::NoTransferNumber)?;
        let now = self.moment(t_ms);
        if let Some(hours) = &self.setup.hours {
            if !hours.is_open(self.setup.timezone, now.with_timezone(&Utc)) {
                return self.after_hours(t_ms, hit);
            }
        }
        let summary = self.summary_for(hit)?;
        let mut draft = self.draft(TicketKind::Escalation, hit, summary.clone());
        draft.awaiting_transfer = self.setup.hearing == Hearing::Live;
        if let Phase::AskingFields { dialog, .. } = &self.phase {
            // Transferred in the middle of the callback questions: the answers so far go with the call.
            draft.fields = dialog.fields();
            draft.note = Some(self.setup.prompts.callback.transferred.clone());
        }
        let then = vec![
            Action::Say {
                text: self.setup.prompts.escalation.announce.clone(),
            },
            Action::Transfer {
                to,
                fallbacks: targets.collect(),
                summary: self.setup.contextual_summary.then_some(summary),
                ticket: None,
            },
        ];
        let after = match self.setup.hearing {
            // Nobody dials for a recording: what the live agent would do ends with the transfer.
            Hearing::Recording => Phase::Transferred,
            Hearing::Live => Phase::Transferring {
                hit: Box::new(hit.clone()),
                ticket: None,
            },
        };
        self.file(draft, then, after);
        Ok(())
    }

    /// Outside business hours nobody can take the transfer: the caller is told when the team is back and
    /// the escalation becomes a callback.
    fn after_hours(&mut self, t_ms: u64, hit: &TopicHit) -> Result<(), CallError> {
        let now = self.moment(t_ms);
        let esc = &self.setup.prompts.escalation;
        let opening = self
            .setup
            .hours
            .as_ref()
            .and_then(|h| h.next_opening(self.setup.timezone, now.with_timezone(&Utc)));
        let when = match opening {
            Some(at) => hours::spoken_opening(at, now, &self.setup.prompts.time)?,
            None => self.setup.prompts.time.any.clone(),
        };
        let said = fill(&esc.after_hours, &[("when", &when)])?;
        let note = fill(&esc.after_hours_note, &[("when", &when)])?;
        self.flag_with(t_ms, hit, Some(said), Some(note))
    }

    /// The transfer under way reached its end (`outcome`): the agent's part is over.
    fn transferred(&mut self, t_ms: u64, outcome: &str) {
        if self.is_transferring() {
            let outcome = outcome.to_string();
            self.log(t_ms, CallEvent::TransferOutcome { outcome });
            self.phase = Phase::Transferred;
        }
    }

    /// Nobody took the transfer: the agent says so and offers the callback, whose ticket points back at the
    /// escalation ticket (which the adapter updates with the attempts).
    fn transfer_failed(&mut self, t_ms: u64, outcome: String) -> Result<(), CallError> {
        let Phase::Transferring { hit, ticket } =
            std::mem::replace(&mut self.phase, Phase::Listening)
        else {
            return Ok(());
        };
        self.log(
            t_ms,
            CallEvent::TransferOutcome {
                outcome: outcome.clone(),
            },
        );
        let esc = &self.setup.prompts.escalation;
        let ticket = ticket.map_or_else(|| "?".to_string(), |id| id.to_string());
        let note = fill(
            &esc.failed_note,
            &[("outcome", &outcome), ("ticket", &ticket)],
        )?;
        let said = esc.failed.clone();
        // A callback is owed even if one was filed before the escalation.
        self.flagged = false;
        self.flag_with(t_ms, &hit, Some(said), Some(note))
    }

    fn flag(&mut self, t_ms: u64, hit: &TopicHit) -> Result<(), CallError> {
        self.flag_with(t_ms, hit, None, None)
    }

    /// Flags the call: `opening` is said before the callback intro, `note` goes on the ticket.
    fn flag_with(
        &mut self,
        t_ms: u64,
        hit: &TopicHit,
        opening: Option<String>,
        note: Option<String>,
    ) -> Result<(), CallError> {
        self.flagged = true;
        let summary = self.summary_for(hit)?;
        let mut draft = self.draft(TicketKind::Callback, hit, summary);
        draft.note = note;
        draft.fields = self
            .setup
            .extra_fields
            .iter()
            .map(|f| FieldValue::missing(&f.name, &f.ask, f.kind.as_str()))
            .collect();
        if let Some(text) = opening {
            self.act(t_ms, Action::Say { text });
        }
        self.act(
            t_ms,
            Action::Say {
                text: self.setup.prompts.callback.intro.clone(),
            },
        );
        match self.setup.hearing {
            Hearing::Live => {
                let dialog = Box::new(Dialog::new(self.setup.extra_fields.clone()));
                self.phase = Phase::AskingFields {
                    draft: Box::new(draft),
                    dialog,
                    asked_ms: t_ms,
                };
                self.converse(t_ms, |dialog, ctx| dialog.start(ctx))?;
            }
            Hearing::Recording => {
                let questions = self
                    .setup
                    .extra_fields
                    .iter()
                    .map(|field| dialog::question(field, &self.setup.prompts))
                    .collect::<Result<Vec<_>, _>>()?;
                for text in questions {
                    self.act(t_ms, Action::Say { text });
                }
                if !draft.fields.is_empty() {
                    let not_heard = self.setup.prompts.callback.not_heard.clone();
                    draft.note = Some(match draft.note.take() {
                        Some(n) => format!("{n} {not_heard}"),
                        None => not_heard,
                    });
                }
                let promise = self.setup.prompts.callback.promise.clone();
                draft.promise = Some(promise.clone());
                self.file(draft, vec![Action::Say { text: promise }], Phase::Flagged);
            }
        }
        Ok(())
    }

    /// Runs one step of the callback dialog and carries out its reply: say what it says, and when every
    /// field is settled, file the ticket, then promise the callback and say goodbye.
    fn converse(
        &mut self,
        t_ms: u64,
        step: impl FnOnce(&mut Dialog, &Context<'_>) -> Result<Reply, PromptError>,
    ) -> Result<(), CallError> {
        let Phase::AskingFields { dialog, .. } = &mut self.phase else {
            return Ok(());
        };
        let ctx = Context {
            prompts: &self.setup.prompts,
            words: &self.setup.words,
            settings: self.setup.dialog,
            calling_code: &self.setup.calling_code,
            now: Context::at(self.setup.started_at, self.setup.timezone, t_ms),
        };
        let reply = step(dialog, &ctx)?;
        for text in reply.say.iter().cloned() {
            self.act(t_ms, Action::Say { text });
        }
        if !reply.say.is_empty() {
            if let Phase::AskingFields { asked_ms, .. } = &mut self.phase {
                *asked_ms = t_ms;
            }
            self.quiet_since = None;
        }
        if reply.done {
            self.finish_dialog(None);
        }
        Ok(())
    }

    /// Files the callback with what the dialog collected. `note` says why it ended early, if it did.
    fn finish_dialog(&mut self, note: Option<String>) {
        let Phase::AskingFields { draft, dialog, .. } =
            std::mem::replace(&mut self.phase, Phase::Listening)
        else {
            return;
        };
        let mut draft = *draft;
        draft.fields = dialog.fields();
        draft.transcript = self.transcript_text();
        if let Some(note) = note {
            // Nobody is left to hear a promise.
            draft.note = Some(match draft.note.take() {
                Some(first) => format!("{first} {note}"),
                None => note,
            });
            self.file(draft, Vec::new(), Phase::Ended);
            return;
        }
        let callback = &self.setup.prompts.callback;
        // `promise_time` was checked at load to hold `{time}` and nothing else, so filling cannot fail.
        let promise = dialog
            .promised_time()
            .and_then(|time| fill(&callback.promise_time, &[("time", &time)]).ok())
            .unwrap_or_else(|| callback.promise.clone());
        draft.promise = Some(promise.clone());
        let then = vec![
            Action::Say { text: promise },
            Action::Say {
                text: self.setup.prompts.call.goodbye.clone(),
            },
            Action::HangUp,
        ];
        self.file(draft, then, Phase::Ended);
    }

    fn dtmf(&mut self, t_ms: u64, digit: char) -> Result<(), CallError> {
        self.log(t_ms, CallEvent::Dtmf { digit });
        if let Phase::AskingFields { .. } = self.phase {
            self.quiet_since = Some(t_ms);
            self.converse(t_ms, |dialog, ctx| dialog.key(ctx, t_ms, digit))?;
        }
        Ok(())
    }

    /// Keypad and silence timeouts of the dialog.
    fn tick(&mut self, t_ms: u64) -> Result<(), CallError> {
        let Phase::AskingFields { dialog, .. } = &self.phase else {
            return Ok(());
        };
        if dialog.keys_pending() {
            return self.converse(t_ms, |dialog, ctx| dialog.tick(ctx, t_ms));
        }
        let silent = !self.caller_turn
            && self.unplayed.is_empty()
            && self
                .quiet_since
                .is_some_and(|q| t_ms >= q + self.setup.dialog.silence_ms);
        if silent {
            self.converse(t_ms, |dialog, ctx| dialog.silence(ctx))?;
            self.quiet_since = None;
        }
        Ok(())
    }

    fn file(&mut self, draft: TicketDraft, then: Vec<Action>, after: Phase) {
        let kind = draft.kind;
        self.actions.push_back(Action::FileTicket(draft));
        self.phase = Phase::Filing {
            kind,
            then,
            after: Box::new(after),
        };
    }

    fn ticket_filed(&mut self, t_ms: u64, id: i64) {
        let Phase::Filing { kind, then, after } =
            std::mem::replace(&mut self.phase, Phase::Listening)
        else {
            return;
        };
        self.log(t_ms, CallEvent::Ticket { id, kind });
        for mut action in then {
            if action == Action::HangUp {
                self.log(t_ms, CallEvent::AgentHangup);
            }
            if let Action::Transfer { ticket, .. } = &mut action {
                *ticket = Some(id);
            }
            self.act(t_ms, action);
        }
        self.phase = match *after {
            Phase::Transferring { hit, .. } => Phase::Transferring {
                hit,
                ticket: Some(id),
            },
            other => other,
        };
    }

    fn hung_up(&mut self, t_ms: u64) {
        self.log(t_ms, CallEvent::Hangup);
        if let Phase::AskingFields { .. } = self.phase {
            // Nothing is lost: what was collected is filed, the rest is marked missing and the note says why.
            let note = self.setup.prompts.callback.hung_up.clone();
            self.finish_dialog(Some(note));
            return;
        }
        if let Phase::Filing { kind, .. } = std::mem::replace(&mut self.phase, Phase::Ended) {
            // The ticket is still written and reported; what was to be said to the caller is moot.
            self.phase = Phase::Filing {
                kind,
                then: Vec::new(),
                after: Box::new(Phase::Ended),
            };
        }
    }
}
