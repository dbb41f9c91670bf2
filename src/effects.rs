//! The one effects driver: it runs a [`LiveCall`] by carrying out the effects it asks for and feeding the
//! results back, the same way for `serve`, `replay` and `rehearse`. What differs between them is only the
//! [`Hands`]: a live stream sends frames to a WebSocket and dials through the provider, a replay recognises
//! inline and sends nothing, a rehearsal plays to a simulated caller.
//!
//! The rules that keep "nothing lost" true live here once: a ticket is written (with the store's retries)
//! before the call is told it exists, and so before anything that depends on it is said or dialed; a
//! ticket that cannot be written is reported, never silently dropped.

use std::sync::Arc;
use std::time::Duration;

use crate::call::live::{
    Dialed, Effect, Ending, Input, LiveCall, Measure, Output, Recognise, Recognition,
};
use crate::call::CallError;
use crate::events::EventLine;
use crate::tickets::TicketDraft;

/// Tries of a ticket write before it counts as lost: the first, then three retries.
pub const TICKET_TRIES: u32 = 4;
/// The wait before retry `n` is `n` times this.
pub const TICKET_BACKOFF: Duration = Duration::from_millis(100);

/// A request to ring targets, as the driver hands it to the provider side.
#[derive(Debug, Clone, PartialEq)]
pub struct DialRequest {
    pub targets: Vec<String>,
    pub attempt: u32,
    pub ticket: Option<i64>,
    pub whisper: bool,
    /// The first attempt of the transfer (it waits for the LLM summary first).
    pub first: bool,
}

/// What the provider side answered a dial with.
#[derive(Debug, Clone, PartialEq)]
pub struct DialAnswer {
    /// The attempt's row in the store, when there is a ticket to hang it on.
    pub attempt_id: Option<i64>,
    /// From the end of the announcement to the request (the summary's wait, the row).
    pub waited_ms: Option<u64>,
    pub dialed: Dialed,
}

/// How the effects of one setting are carried out. Each method does one thing; the driver decides the
/// order and feeds the answers back.
#[allow(async_fn_in_trait)]
pub trait Hands {
    /// The call's clock now (ms): the wall clock of a live call, simulated time elsewhere.
    fn now(&self) -> u64;
    /// Writes a line to the call's log.
    fn log(&mut self, line: EventLine);
    fn measure(&mut self, _measure: Measure) {}
    /// Hands a job to the recogniser. `Some`: answered at once; `None`: the answer comes later as an
    /// [`Input::Recognised`] (or [`Input::PartialRefused`]) fed by the caller of [`drive`].
    async fn recognise(&mut self, job: Recognise) -> Option<Input>;
    /// Renders a prompt at the line's rate.
    async fn render(&mut self, text: &str) -> Result<Arc<[f32]>, String>;
    /// Sends paced audio, a mark, or a clear (nothing, where nobody listens).
    fn send(&mut self, effect: Effect);
    /// One attempt at writing a ticket.
    async fn write_ticket(&mut self, draft: &TicketDraft) -> Result<i64, String>;
    /// A ticket could not be written after every try.
    fn ticket_lost(&mut self, draft: &TicketDraft, reason: &str);
    /// A transfer was decided: keep the summary for whoever answers, start the LLM summary.
    async fn prepare_transfer(&mut self, to: &str, summary: Option<&str>, ticket: Option<i64>);
    /// Writes the attempt's row, then asks the provider to ring.
    async fn dial(&mut self, request: DialRequest) -> DialAnswer;
    async fn end_attempt(
        &mut self,
        attempt_id: Option<i64>,
        outcome: &str,
        detail: Option<&str>,
        talk_seconds: Option<i64>,
    );
    /// Asks the provider to bring the caller back to a new stream.
    async fn bring_back(&mut self, outcome: &str) -> Result<(), String>;
    fn meter(&mut self, agent_ms: u64, transfer_ms: u64, outcome: Option<&str>);
    fn end_stream(&mut self, ending: Ending);
    fn park(&mut self) {}
    fn release(&mut self) {}
}

/// Feeds `input`, then carries out every effect (feeding each answer back) until the call only waits:
/// returns the clock time it next wants an [`Input::Timeout`].
pub async fn drive<H: Hands>(
    live: &mut LiveCall,
    hands: &mut H,
    input: Input,
) -> Result<u64, CallError> {
    live.handle(input)?;
    loop {
        let effect = match live.poll() {
            Output::Timeout(at) => return Ok(at),
            Output::Effect(effect) => effect,
        };
        if let Some(answer) = execute(hands, effect).await {
            live.handle(answer)?;
        }
    }
}

async fn execute<H: Hands>(hands: &mut H, effect: Effect) -> Option<Input> {
    match effect {
        Effect::Log(line) => hands.log(line),
        Effect::Measure(m) => hands.measure(m),
        Effect::Recognise(job) => return hands.recognise(job).await,
        Effect::Render { prompt, text } => {
            let result = hands.render(&text).await;
            return Some(Input::Rendered {
                now: hands.now(),
                prompt,
                result,
            });
        }
        e @ (Effect::SendAudio(_) | Effect::SendMark(_) | Effect::Clear) => hands.send(e),
        Effect::FileTicket(draft) => {
            let mut tries = 0;
            let id = loop {
                tries += 1;
                match hands.write_ticket(&draft).await {
                    Ok(id) => break Some(id),
                    Err(reason) => match retry_wait(tries) {
                        Some(wait) => {
                            tracing::warn!(call_id = draft.call_id, error = %reason, tries, "ticket write failed; retrying");
                            tokio::time::sleep(wait).await;
                        }
                        None => {
                            hands.ticket_lost(&draft, &reason);
                            break None;
                        }
                    },
                }
            };
            return Some(Input::TicketFiled {
                now: hands.now(),
                id,
            });
        }
        Effect::PrepareTransfer {
            to,
            summary,
            ticket,
        } => {
            hands
                .prepare_transfer(&to, summary.as_deref(), ticket)
                .await
        }
        Effect::Dial {
            targets,
            attempt,
            ticket,
            whisper,
            first,
        } => {
            let answer = hands
                .dial(DialRequest {
                    targets,
                    attempt,
                    ticket,
                    whisper,
                    first,
                })
                .await;
            return Some(Input::Dialed {
                now: hands.now(),
                attempt,
                attempt_id: answer.attempt_id,
                waited_ms: answer.waited_ms,
                result: answer.dialed,
            });
        }
        Effect::EndAttempt {
            attempt_id,
            outcome,
            detail,
            talk_seconds,
        } => {
            hands
                .end_attempt(attempt_id, &outcome, detail.as_deref(), talk_seconds)
                .await
        }
        Effect::BringBack { outcome } => {
            if let Err(reason) = hands.bring_back(&outcome).await {
                return Some(Input::BringBackFailed {
                    now: hands.now(),
                    reason,
                });
            }
        }
        Effect::Meter {
            agent_ms,
            transfer_ms,
            outcome,
        } => hands.meter(agent_ms, transfer_ms, outcome.as_deref()),
        Effect::EndStream(ending) => hands.end_stream(ending),
        Effect::Park => hands.park(),
        Effect::Release => hands.release(),
    }
    None
}

/// The wait before trying a failed ticket write again after `tries` tries, or `None` to give up: a store
/// that hiccups (a locked SQLite file, a PostgreSQL failover) must not lose a caller's ticket, and one that
/// stays down must not hold the call for long.
pub fn retry_wait(tries: u32) -> Option<Duration> {
    (tries < TICKET_TRIES).then(|| TICKET_BACKOFF * tries)
}

/// A recognition answer as the live call takes it.
pub fn recognition(
    job: crate::call::live::JobId,
    now: u64,
    result: Result<(String, Vec<crate::topics::TopicHit>), String>,
) -> Input {
    Input::Recognised {
        now,
        job,
        result: result.map(|(text, hits)| Recognition { text, hits }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_ticket_write_is_tried_four_times_with_growing_waits() {
        let waits: Vec<_> = (1..=TICKET_TRIES).map(retry_wait).collect();
        assert_eq!(
            waits,
            [
                Some(Duration::from_millis(100)),
                Some(Duration::from_millis(200)),
                Some(Duration::from_millis(300)),
                None
            ]
        );
    }
}
