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

pub mod extract;
pub mod policy;
pub mod summary;

use std::collections::VecDeque;

use crate::config::{CallbackField, SupportMode};
use crate::events::{CallEvent, Decision, EventLine};
use crate::prompts::{PromptError, Prompts};
use crate::tickets::{FieldValue, TicketDraft, TicketKind};
use crate::topics::{MandatoryTopic, TopicHit};

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
    pub transfer_number: Option<String>,
    pub contextual_summary: bool,
    pub extra_fields: Vec<CallbackField>,
    /// Every topic the matcher may report (to quote a topic's text in summaries).
    pub topics: Vec<MandatoryTopic>,
    pub prompts: Prompts,
    pub hearing: Hearing,
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
    /// Transfer the call; `summary` is spoken to whoever answers.
    Transfer { to: String, summary: Option<String> },
    /// Write a ticket, then report [`Event::TicketFiled`].
    FileTicket(TicketDraft),
    /// The caller is talking over the agent: stop playing and drop what is queued, then report
    /// [`Event::PromptsCut`].
    StopSpeaking,
}

#[derive(Debug, Clone, PartialEq)]
enum Phase {
    Listening,
    /// Waiting for the answer to `extra_fields[next]` (live calls only).
    AskingFields {
        draft: TicketDraft,
        next: usize,
        /// When the question was asked: an utterance that began before it is not its answer.
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
        }
    }

    pub fn setup(&self) -> &CallSetup {
        &self.setup
    }

    /// The next action, if any.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// True once the agent's part of the call is over (transferred or hung up).
    pub fn is_finished(&self) -> bool {
        matches!(self.phase, Phase::Transferred | Phase::Ended)
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
                return Ok(());
            }
            Event::PromptFailed { t_ms, reason } => {
                if let Some(text) = self.unplayed.pop_front() {
                    self.log(t_ms, CallEvent::SayFailed { text, reason });
                }
                return Ok(());
            }
            Event::PromptsCut {
                t_ms,
                heard_ms,
                dropped,
            } => {
                self.prompts_cut(t_ms, heard_ms, dropped);
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
                self.barge_in();
            }
            Event::SpeechEnded { t_ms } => self.log(t_ms, CallEvent::SpeechEnd),
            Event::Heard {
                t_ms,
                transcript,
                hits,
            } => self.heard(t_ms, transcript, hits)?,
            Event::Dtmf { t_ms, digit } => self.dtmf(t_ms, digit),
            Event::TicketFiled { t_ms, id } => self.ticket_filed(t_ms, id),
            Event::HungUp { t_ms } => self.hung_up(t_ms),
            Event::PromptPlayed { .. } | Event::PromptFailed { .. } | Event::PromptsCut { .. } => {}
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
            Action::Transfer { to, summary } => Some(CallEvent::Transfer {
                to: to.clone(),
                summary: summary.clone(),
            }),
            Action::Log(_) | Action::FileTicket(_) | Action::StopSpeaking => None,
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
                if transcript.start_ms >= asked_ms {
                    self.answer(t_ms, &transcript.text);
                }
                return Ok(());
            }
        }
        if !matches!(self.phase, Phase::Listening | Phase::Flagged) {
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
            (Decision::Escalate, Some(hit)) => self.escalate(&hit)?,
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
        summary::contextual_summary(
            &self.setup.prompts,
            self.setup.caller.as_deref(),
            &self.topic_text(&hit.topic),
            &hit.evidence,
            earlier,
        )
    }

    fn draft(&self, kind: TicketKind, hit: &TopicHit, summary: String) -> TicketDraft {
        TicketDraft {
            kind,
            topic: Some(hit.topic.clone()),
            summary,
            transcript: self.transcript_text(),
            fields: Vec::new(),
            caller: self.setup.caller.clone(),
            call_id: self.setup.call_id.clone(),
            note: None,
        }
    }

    fn escalate(&mut self, hit: &TopicHit) -> Result<(), CallError> {
        let to = self
            .setup
            .transfer_number
            .clone()
            .ok_or(CallError::NoTransferNumber)?;
        let summary = self.summary_for(hit)?;
        let draft = self.draft(TicketKind::Escalation, hit, summary.clone());
        let then = vec![
            Action::Say {
                text: self.setup.prompts.escalation.announce.clone(),
            },
            Action::Transfer {
                to,
                summary: self.setup.contextual_summary.then_some(summary),
            },
        ];
        self.file(draft, then, Phase::Transferred);
        Ok(())
    }

    fn flag(&mut self, t_ms: u64, hit: &TopicHit) -> Result<(), CallError> {
        self.flagged = true;
        let summary = self.summary_for(hit)?;
        let mut draft = self.draft(TicketKind::Callback, hit, summary);
        draft.fields = self
            .setup
            .extra_fields
            .iter()
            .map(|f| FieldValue {
                name: f.name.clone(),
                ask: f.ask.clone(),
                value: None,
            })
            .collect();
        self.act(
            t_ms,
            Action::Say {
                text: self.setup.prompts.callback.intro.clone(),
            },
        );
        match self.setup.hearing {
            Hearing::Live if !draft.fields.is_empty() => {
                let ask = draft.fields[0].ask.clone();
                self.act(t_ms, Action::Say { text: ask });
                self.phase = Phase::AskingFields {
                    draft,
                    next: 0,
                    asked_ms: t_ms,
                };
            }
            Hearing::Live => self.file_callback(draft),
            Hearing::Recording => {
                for field in &draft.fields {
                    self.act(
                        t_ms,
                        Action::Say {
                            text: field.ask.clone(),
                        },
                    );
                }
                if !draft.fields.is_empty() {
                    draft.note = Some(self.setup.prompts.callback.not_heard.clone());
                }
                self.file_callback(draft);
            }
        }
        Ok(())
    }

    fn file_callback(&mut self, draft: TicketDraft) {
        let promise = Action::Say {
            text: self.setup.prompts.callback.promise.clone(),
        };
        self.file(draft, vec![promise], Phase::Flagged);
    }

    /// Records the answer to the current question and asks the next one, or files the ticket.
    fn answer(&mut self, t_ms: u64, text: &str) {
        let Phase::AskingFields {
            mut draft, next, ..
        } = std::mem::replace(&mut self.phase, Phase::Listening)
        else {
            return;
        };
        draft.fields[next].value = Some(text.to_string());
        let next = next + 1;
        if let Some(field) = draft.fields.get(next) {
            let ask = field.ask.clone();
            self.act(t_ms, Action::Say { text: ask });
            self.phase = Phase::AskingFields {
                draft,
                next,
                asked_ms: t_ms,
            };
        } else {
            draft.transcript = self.transcript_text();
            self.file_callback(draft);
        }
    }

    fn dtmf(&mut self, t_ms: u64, digit: char) {
        // Until the typed dialog lands, a key press while a question is open answers it with the digit.
        if let Phase::AskingFields { .. } = self.phase {
            self.answer(t_ms, &digit.to_string());
        }
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
        for action in then {
            self.act(t_ms, action);
        }
        self.phase = *after;
    }

    fn hung_up(&mut self, t_ms: u64) {
        self.log(t_ms, CallEvent::Hangup);
        match std::mem::replace(&mut self.phase, Phase::Ended) {
            Phase::AskingFields { mut draft, .. } => {
                // Nothing is lost: what was collected is filed, the rest stays empty and the note says why.
                draft.transcript = self.transcript_text();
                draft.note = Some(self.setup.prompts.callback.hung_up.clone());
                self.file(draft, Vec::new(), Phase::Ended);
            }
            Phase::Filing { kind, .. } => {
                // The ticket is still written and reported; what was to be said to the caller is moot.
                self.phase = Phase::Filing {
                    kind,
                    then: Vec::new(),
                    after: Box::new(Phase::Ended),
                };
            }
            _ => {}
        }
    }
}
