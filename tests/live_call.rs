//! The sans-IO live call driven in simulated time: inputs stamped with a clock in, effects checked out.
//! No models, no sockets, no wall clock: the test plays the driver's part (it renders prompts as silence,
//! files tickets, echoes marks once their audio has played) and the caller's (20 ms of audio at a time).

mod common;

use std::collections::VecDeque;

use switchboard::audio::segmenter::Utterance;
use switchboard::call::live::{
    Dialed, Effect, Ending, Heard, Input, JobId, LineSetup, LiveCall, Measure, Output, Recognise,
    Recognition, RingOutcome, IDLE_MS, PACE_MS,
};
use switchboard::call::{Call, CallSetup, Hearing};
use switchboard::config;
use switchboard::events::{CallEvent, Decision};
use switchboard::language::{Language, Prompts};
use switchboard::tickets::{TicketDraft, TicketKind};
use switchboard::topics::call_topics;
use switchboard::topics::{TopicHit, TopicKind};

const RATE: u32 = 8_000;
/// Every prompt renders to this much audio.
const PROMPT_MS: u64 = 2_000;
/// One media message of caller audio.
const STEP_MS: u64 = 20;

fn line() -> LineSetup {
    LineSetup {
        rate: RATE,
        min_audio_ms: 20,
        echoes_marks: true,
        ring_all: false,
        partial_confidence: Some(0.5),
        provider: "twilio".into(),
    }
}

fn prompts() -> Prompts {
    Language::load("en").unwrap().prompts
}

/// Two targets, rung in order: the first is also the transfer number.
fn two_targets() -> String {
    common::agent_toml("decide").replace(
        "transfer_number = \"+15550100001\"\n",
        "targets = [{ number = \"+15550100002\" }, { number = \"+15550100003\" }]\n",
    )
}

/// Plays the driver, the provider and the caller around one live call, in simulated time.
struct Sim {
    live: LiveCall,
    /// The clock.
    now: u64,
    /// Caller audio sent so far (call time).
    heard_ms: u64,
    /// Every effect so far, in order.
    effects: Vec<Effect>,
    /// What the last drain of `poll` said: when to wake the call next.
    deadline: u64,
    /// The clock at which the audio sent so far has played on the provider's side.
    played_until: u64,
    /// Marks sent, with the clock they will have played at (the provider echoes them then).
    marks: VecDeque<(String, u64)>,
    /// Keep tickets unfiled (a slow store) until the test files them with [`Sim::file_held`].
    hold_tickets: bool,
    held: Vec<TicketDraft>,
    next_ticket: i64,
    /// An `EndStream` is out: the driver stops waking the call.
    ended: bool,
}

impl Sim {
    fn new(toml: &str) -> Self {
        let cfg = config::parse(toml, "agent.toml").unwrap().config;
        let en = Language::load("en").unwrap();
        // A fixed start, so two runs of the same script are the same call.
        let started_at = chrono::DateTime::parse_from_rfc3339("2026-03-04T15:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let call = Call::new(CallSetup::for_agent(
            "CA-live".into(),
            Some("+15550188888".into()),
            &cfg,
            &en,
            call_topics(&cfg, &en),
            Hearing::Live,
            started_at,
        ));
        let live = LiveCall::answer(call, line(), 0).unwrap();
        let mut sim = Self {
            live,
            now: 0,
            heard_ms: 0,
            effects: Vec::new(),
            deadline: 0,
            played_until: 0,
            marks: VecDeque::new(),
            hold_tickets: false,
            held: Vec::new(),
            next_ticket: 1,
            ended: false,
        };
        sim.drain();
        sim
    }

    /// Feeds one input at the current clock (the input carries it) and carries out what follows.
    fn input(&mut self, input: Input) -> Vec<Effect> {
        self.live.handle(input).unwrap();
        self.drain()
    }

    /// Drains `poll` until it asks to be woken, answering what the driver answers at once.
    fn drain(&mut self) -> Vec<Effect> {
        let mut out = Vec::new();
        loop {
            let mut answers = Vec::new();
            loop {
                match self.live.poll() {
                    Output::Effect(effect) => {
                        answers.extend(self.carry_out(&effect));
                        out.push(effect);
                    }
                    Output::Timeout(t) => {
                        self.deadline = t;
                        break;
                    }
                }
            }
            if answers.is_empty() {
                break;
            }
            for answer in answers {
                self.live.handle(answer).unwrap();
            }
        }
        self.effects.extend(out.iter().cloned());
        out
    }

    /// The driver's (and the provider's) part of `effect`; what it answers at once.
    fn carry_out(&mut self, effect: &Effect) -> Option<Input> {
        let now = self.now;
        match effect {
            Effect::Render { prompt, .. } => Some(Input::Rendered {
                now,
                prompt: *prompt,
                result: Ok(vec![0.1; (u64::from(RATE) * PROMPT_MS / 1000) as usize].into()),
            }),
            Effect::FileTicket(draft) if self.hold_tickets => {
                self.held.push((**draft).clone());
                None
            }
            Effect::FileTicket(_) => {
                let id = self.next_ticket;
                self.next_ticket += 1;
                Some(Input::TicketFiled { now, id: Some(id) })
            }
            Effect::SendAudio(samples) => {
                let ms = samples.len() as u64 * 1000 / u64::from(RATE);
                self.played_until = self.played_until.max(now) + ms;
                None
            }
            Effect::SendMark(mark) => {
                self.marks.push_back((mark.clone(), self.played_until));
                None
            }
            Effect::Clear => {
                self.marks.clear();
                self.played_until = now;
                None
            }
            Effect::EndStream(_) => {
                self.ended = true;
                None
            }
            _ => None,
        }
    }

    /// Files the tickets held back, in order, with ids from `first`.
    fn file_held(&mut self, first: i64) -> Vec<Effect> {
        let held = std::mem::take(&mut self.held);
        let mut out = Vec::new();
        for (i, _) in held.iter().enumerate() {
            let id = first + i as i64;
            out.extend(self.input(Input::TicketFiled {
                now: self.now,
                id: Some(id),
            }));
        }
        out
    }

    /// Runs the clock to `until` with no caller audio: the provider echoes marks as they play, and the
    /// call is woken at each deadline it asked for.
    fn run_until(&mut self, until: u64) -> Vec<Effect> {
        let mut out = Vec::new();
        loop {
            let mark_at = self.marks.front().map_or(u64::MAX, |(_, at)| *at);
            let wake = if self.ended { u64::MAX } else { self.deadline };
            let next = mark_at.min(wake).max(self.now);
            if next > until || next == u64::MAX {
                break;
            }
            self.now = next;
            while self.marks.front().is_some_and(|(_, at)| *at <= next) {
                let (mark, _) = self.marks.pop_front().unwrap();
                out.extend(self.input(Input::MarkPlayed { now: next, mark }));
            }
            if !self.ended && self.deadline <= next {
                out.extend(self.input(Input::Timeout { now: next }));
                if !self.ended && self.deadline <= next {
                    panic!(
                        "woken at {next}, the call asks to be woken at {} again",
                        self.deadline
                    );
                }
            }
        }
        self.now = self.now.max(until);
        out
    }

    /// 20 ms more of caller audio, in which the ears noticed `heard`.
    fn step(&mut self, heard: Vec<Heard>) -> Vec<Effect> {
        let mut out = self.run_until(self.now + STEP_MS);
        self.heard_ms += STEP_MS;
        out.extend(self.input(Input::Listened {
            now: self.now,
            received_ms: STEP_MS,
            heard_ms: self.heard_ms,
            heard,
        }));
        out
    }

    /// Caller audio (nothing noticed in it) until call time `heard_ms`.
    fn audio_until(&mut self, heard_ms: u64) -> Vec<Effect> {
        let mut out = Vec::new();
        while self.heard_ms < heard_ms {
            out.extend(self.step(vec![]));
        }
        out
    }

    /// The caller says one utterance from now for `ms`; returns the final's job and the effects so far.
    fn utterance(&mut self, ms: u64) -> (JobId, Vec<Effect>) {
        let start_ms = self.heard_ms;
        let mut out = self.step(vec![Heard::Started { start_ms }]);
        out.extend(self.audio_until(start_ms + ms));
        out.extend(self.step(vec![Heard::Ended {
            utterance: Utterance {
                start_ms,
                end_ms: start_ms + ms,
            },
            detected_ms: self.heard_ms + STEP_MS,
            audio: vec![0.0; 160],
        }]));
        let job = final_job(&out).unwrap_or_else(|| panic!("no final asked for: {out:?}"));
        (job, out)
    }

    fn recognised(&mut self, job: JobId, text: &str, hits: Vec<TopicHit>) -> Vec<Effect> {
        self.input(Input::Recognised {
            now: self.now,
            job,
            result: Ok(Recognition {
                text: text.into(),
                hits,
            }),
        })
    }

    /// The caller says `text` (in which the matcher finds `hits`) for 2 s.
    fn says(&mut self, text: &str, hits: Vec<TopicHit>) -> Vec<Effect> {
        let (job, mut out) = self.utterance(2_000);
        out.extend(self.recognised(job, text, hits));
        out
    }
}

fn hit(topic: &str, kind: TopicKind, evidence: &str) -> TopicHit {
    TopicHit {
        topic: topic.into(),
        kind,
        score: 0.8,
        evidence: evidence.into(),
        matched: vec![],
    }
}

fn cancellation(words: &str) -> Vec<TopicHit> {
    vec![hit("cancellation", TopicKind::Escalation, words)]
}

fn logged(effects: &[Effect]) -> Vec<CallEvent> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Log(line) => Some(line.event.clone()),
            _ => None,
        })
        .collect()
}

fn rendered(effects: &[Effect]) -> Vec<String> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Render { text, .. } => Some(text.clone()),
            _ => None,
        })
        .collect()
}

fn final_job(effects: &[Effect]) -> Option<JobId> {
    effects.iter().find_map(|e| match e {
        Effect::Recognise(Recognise::Final { job, .. }) => Some(*job),
        _ => None,
    })
}

fn partial_job(effects: &[Effect]) -> Option<(JobId, u64)> {
    effects.iter().find_map(|e| match e {
        Effect::Recognise(Recognise::Partial { job, start_ms }) => Some((*job, *start_ms)),
        _ => None,
    })
}

fn tickets(effects: &[Effect]) -> Vec<&TicketDraft> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::FileTicket(draft) => Some(&**draft),
            _ => None,
        })
        .collect()
}

fn decisions(effects: &[Effect]) -> Vec<Decision> {
    logged(effects)
        .into_iter()
        .filter_map(|e| match e {
            CallEvent::Decision { decision, .. } => Some(decision),
            _ => None,
        })
        .collect()
}

fn dials(effects: &[Effect]) -> Vec<(u32, Vec<String>, bool)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Dial {
                attempt,
                targets,
                first,
                ..
            } => Some((*attempt, targets.clone(), *first)),
            _ => None,
        })
        .collect()
}

fn sends_audio(effects: &[Effect]) -> bool {
    effects.iter().any(|e| matches!(e, Effect::SendAudio(_)))
}

/// The greeting (2 s) plays out in full while the caller is silent.
fn greeted(sim: &mut Sim) {
    let fx = sim.audio_until(PROMPT_MS + 500);
    assert!(
        logged(&fx).contains(&CallEvent::Played {
            text: prompts().call.greeting
        }),
        "{fx:?}"
    );
}

/// The caller asks to cancel; the escalation ticket is filed and the announcement starts.
fn escalated(sim: &mut Sim) -> Vec<Effect> {
    greeted(sim);
    let words = "I want to cancel my contract";
    let fx = sim.says(words, cancellation(words));
    assert_eq!(decisions(&fx), [Decision::Escalate], "{fx:?}");
    assert_eq!(rendered(&fx), [prompts().escalation.announce]);
    fx
}

#[test]
fn a_partial_decides_before_the_caller_finishes() {
    let mut sim = Sim::new(&common::agent_toml("decide"));
    greeted(&mut sim);
    // The store is slow: the utterance ends before the escalation ticket is written.
    sim.hold_tickets = true;
    let start_ms = sim.heard_ms;
    let mut fx = sim.step(vec![Heard::Started { start_ms }]);
    // Nothing is looked at before 1 s of the utterance has been heard.
    while sim.heard_ms < start_ms + 1_000 {
        assert_eq!(partial_job(&fx), None, "at {} ms: {fx:?}", sim.heard_ms);
        fx = sim.step(vec![]);
    }
    let Some((job, partial_start)) = partial_job(&fx) else {
        panic!("a partial is due at 1 s of open utterance: {fx:?}")
    };
    assert_eq!(partial_start, start_ms);

    // The recogniser answers 100 ms later; the caller is still talking.
    let mut late = sim.step(vec![]);
    for _ in 0..4 {
        late.extend(sim.step(vec![]));
    }
    assert_eq!(partial_job(&late), None, "one partial at a time: {late:?}");
    let words = "I want to cancel my contract";
    let fx = sim.recognised(job, words, cancellation(words));
    let lines: Vec<_> = fx
        .iter()
        .filter_map(|e| match e {
            Effect::Log(l) => Some(l.clone()),
            _ => None,
        })
        .collect();
    assert!(
        matches!(&lines[0].event, CallEvent::Transcript { text, start_ms: s, is_final: false, .. }
            if text == words && *s == start_ms),
        "the decision quotes a non-final transcript: {lines:?}"
    );
    let decision = lines
        .iter()
        .find(|l| matches!(l.event, CallEvent::Decision { .. }))
        .expect("a decision line");
    assert!(matches!(
        decision.event,
        CallEvent::Decision {
            decision: Decision::Escalate,
            ..
        }
    ));
    assert_eq!(
        decision.wall_ms,
        Some(100),
        "wall time from the partial's request"
    );
    assert!(fx.contains(&Effect::Measure(Measure::Decision {
        decision: Decision::Escalate,
        latency_ms: None
    })));
    let decided_at = fx
        .iter()
        .position(|e| matches!(e, Effect::Log(l) if matches!(l.event, CallEvent::Decision { .. })))
        .unwrap();
    let ticket_at = fx
        .iter()
        .position(|e| matches!(e, Effect::FileTicket(_)))
        .expect("the escalation ticket is asked for");
    assert!(ticket_at > decided_at);
    assert_eq!(sim.held[0].kind, TicketKind::Escalation);
    assert!(sim.held[0].transcript.contains(words));

    // The utterance is still open: no more partials once decided.
    let more = sim.audio_until(start_ms + 2_500);
    assert_eq!(partial_job(&more), None, "{more:?}");
    let end = sim.step(vec![Heard::Ended {
        utterance: Utterance {
            start_ms,
            end_ms: start_ms + 2_500,
        },
        detected_ms: start_ms + 2_520,
        audio: vec![0.0; 160],
    }]);
    let job = final_job(&end).expect("the final is still recognised, for the transcript");
    let fx = sim.recognised(
        job,
        "I want to cancel my contract please",
        cancellation(words),
    );
    assert!(
        logged(&fx).iter().any(
            |e| matches!(e, CallEvent::Transcript { is_final: true, start_ms: s, .. } if *s == start_ms)
        ),
        "{fx:?}"
    );
    assert_eq!(decisions(&fx), [], "the final decides nothing more: {fx:?}");
    assert!(tickets(&fx).is_empty() && sim.held.len() == 1);

    // Once the ticket is written the caller hears the announcement, and the transfer is prepared.
    let fx = sim.file_held(7);
    assert_eq!(rendered(&fx), [prompts().escalation.announce]);
    assert!(fx.iter().any(|e| matches!(
        e,
        Effect::PrepareTransfer {
            ticket: Some(7),
            summary: Some(_),
            ..
        }
    )));
}

#[test]
fn barge_in_cuts_a_prompt_and_reports_what_was_heard() {
    let mut sim = Sim::new(&common::agent_toml("decide"));
    assert_eq!(rendered(&sim.effects), [prompts().call.greeting]);
    assert!(sends_audio(&sim.effects), "the greeting starts at once");
    assert_eq!(
        sim.deadline, PACE_MS,
        "paced while the agent speaks: {:?}",
        sim.deadline
    );
    // 1 s of the greeting plays, paced by the call's own deadlines.
    let paced = sim.run_until(1_000);
    assert!(sends_audio(&paced));
    assert!(
        !paced
            .iter()
            .any(|e| matches!(e, Effect::SendMark(_) | Effect::Clear)),
        "{paced:?}"
    );
    let fx = sim.step(vec![Heard::Voice { t_ms: 1_000 }]);
    let played_ms = sim.now;
    assert!(fx.contains(&Effect::Clear), "{fx:?}");
    assert!(fx.contains(&Effect::Measure(Measure::BargeIn)));
    let cut = logged(&fx)
        .into_iter()
        .find_map(|e| match e {
            CallEvent::BargeIn {
                text,
                heard_ms,
                dropped,
            } => Some((text, heard_ms, dropped)),
            _ => None,
        })
        .unwrap_or_else(|| panic!("a barge-in line: {fx:?}"));
    assert_eq!(cut.0, Some(prompts().call.greeting));
    let heard_ms = cut.1.expect("how much of the greeting was heard");
    assert!(
        heard_ms.abs_diff(played_ms) <= STEP_MS,
        "heard {heard_ms} ms of a greeting that played for {played_ms} ms"
    );
    assert!(cut.2.is_empty());
    // Nothing more of it is sent, and nothing ticks for a silent agent.
    let after = sim.audio_until(3_000);
    assert!(!sends_audio(&after), "{after:?}");
    assert_eq!(sim.deadline, sim.now + IDLE_MS);
}

#[test]
fn barge_in_drops_the_prompts_queued_behind_the_one_playing() {
    let mut sim = Sim::new(&common::agent_toml("decide"));
    greeted(&mut sim);
    let words = "this is the worst service I have ever had";
    let fx = sim.says(words, vec![hit("complaint", TopicKind::Callback, words)]);
    let p = prompts();
    let question = "What is the reason for your call?";
    assert_eq!(rendered(&fx), [p.callback.intro.clone(), question.into()]);
    // Half of the intro plays, then the caller talks over it.
    let start = sim.now;
    sim.audio_until(sim.heard_ms + PROMPT_MS / 2);
    let fx = sim.step(vec![Heard::Voice {
        t_ms: sim.heard_ms + STEP_MS,
    }]);
    assert!(fx.contains(&Effect::Clear), "{fx:?}");
    let Some(CallEvent::BargeIn {
        text,
        heard_ms: Some(heard_ms),
        dropped,
    }) = logged(&fx)
        .into_iter()
        .find(|e| matches!(e, CallEvent::BargeIn { .. }))
    else {
        panic!("{fx:?}")
    };
    assert_eq!(text, Some(p.callback.intro));
    assert!(
        heard_ms.abs_diff(sim.now - start) <= STEP_MS,
        "{heard_ms} ms"
    );
    assert_eq!(dropped, [question]);
}

#[test]
fn targets_are_rung_in_order_and_a_caller_nobody_takes_is_brought_back_for_a_callback() {
    let mut sim = Sim::new(&two_targets());
    let fx = escalated(&mut sim);
    assert!(fx.iter().any(|e| matches!(
        e,
        Effect::PrepareTransfer { to, ticket: Some(1), .. } if to == "+15550100002"
    )));
    assert!(
        dials(&fx).is_empty(),
        "nothing rings during the announcement"
    );

    // The announcement plays out; then the first target is rung.
    let fx = sim.audio_until(sim.heard_ms + PROMPT_MS + 200);
    assert!(logged(&fx).contains(&CallEvent::Played {
        text: prompts().escalation.announce
    }));
    assert_eq!(dials(&fx), [(1, vec!["+15550100002".to_string()], true)]);
    assert!(fx.iter().any(|e| matches!(
        e,
        Effect::Dial {
            ticket: Some(1),
            whisper: true,
            ..
        }
    )));
    let fx = sim.input(Input::Dialed {
        now: sim.now,
        attempt: 1,
        attempt_id: Some(11),
        waited_ms: Some(40),
        result: Dialed::Reported,
    });
    assert!(logged(&fx).contains(&CallEvent::Dial {
        to: "+15550100002".into(),
        attempt: 1,
        provider: "twilio".into(),
        after_prompt_ms: Some(40),
    }));
    assert!(fx
        .iter()
        .any(|e| matches!(e, Effect::Measure(Measure::Dial { .. }))));
    assert_eq!(
        fx.last(),
        Some(&Effect::EndStream(Ending::Transferred)),
        "{fx:?}"
    );
    let fx = sim.input(Input::StreamEnded {
        now: sim.now + 50,
        reason: "transferred".into(),
        detail: String::new(),
    });
    assert!(fx.contains(&Effect::Park), "{fx:?}");
    assert!(!fx.contains(&Effect::Release));
    assert_eq!(
        sim.deadline,
        u64::MAX,
        "a parked call waits for the provider"
    );
    assert_eq!(
        sim.live.ringing(),
        Some((1, &["+15550100002".to_string()][..]))
    );

    // Busy: the next target rings.
    let fx = sim.input(Input::RingOutcome {
        now: 20_000,
        attempt: 1,
        outcome: RingOutcome::NotTaken {
            status: "busy".into(),
            detail: None,
        },
    });
    assert!(fx.contains(&Effect::EndAttempt {
        attempt_id: Some(11),
        outcome: "busy".into(),
        detail: None,
        talk_seconds: None,
    }));
    assert_eq!(dials(&fx), [(2, vec!["+15550100003".to_string()], false)]);
    let fx = sim.input(Input::Dialed {
        now: 20_100,
        attempt: 2,
        attempt_id: Some(12),
        waited_ms: None,
        result: Dialed::Reported,
    });
    assert!(!fx.iter().any(|e| matches!(e, Effect::EndStream(_))));
    // A late report about the first attempt changes nothing.
    let fx = sim.input(Input::RingOutcome {
        now: 20_200,
        attempt: 1,
        outcome: RingOutcome::NotTaken {
            status: "busy".into(),
            detail: None,
        },
    });
    assert_eq!(fx, []);

    // Nobody answers the second either: the caller is brought back.
    let fx = sim.input(Input::RingOutcome {
        now: 45_000,
        attempt: 2,
        outcome: RingOutcome::NotTaken {
            status: "no-answer".into(),
            detail: None,
        },
    });
    assert!(fx.contains(&Effect::EndAttempt {
        attempt_id: Some(12),
        outcome: "no-answer".into(),
        detail: None,
        talk_seconds: None,
    }));
    assert_eq!(
        fx.last(),
        Some(&Effect::BringBack {
            outcome: "no-answer".into()
        })
    );
    assert_eq!(sim.live.returning(), Some("no-answer"));

    // Back on a new stream: the agent says so and asks the callback's questions.
    sim.now = 46_000;
    let parked_at = sim.heard_ms;
    let fx = sim.input(Input::Resumed { now: sim.now });
    sim.heard_ms = sim.live.heard_ms();
    sim.played_until = sim.now;
    assert!(
        sim.heard_ms > parked_at,
        "call time ran on while the call was parked"
    );
    assert!(logged(&fx).contains(&CallEvent::TransferOutcome {
        outcome: "no-answer".into()
    }));
    let p = prompts();
    assert_eq!(
        rendered(&fx),
        [
            p.escalation.failed.clone(),
            p.callback.intro.clone(),
            "What is the reason for your call?".into()
        ]
    );
    // The prompts play, the caller answers the first question, then hangs up: the callback is filed.
    sim.audio_until(sim.heard_ms + 3 * PROMPT_MS + 500);
    let fx = sim.says("my bill is wrong", vec![]);
    assert!(
        rendered(&fx).last().is_some_and(|q| q.starts_with("When")),
        "{fx:?}"
    );
    let fx = sim.input(Input::StreamEnded {
        now: sim.now,
        reason: "hangup".into(),
        detail: "the caller hung up".into(),
    });
    let [draft] = tickets(&fx)[..] else {
        panic!("one callback ticket: {fx:?}")
    };
    assert_eq!(draft.kind, TicketKind::Callback);
    assert_eq!(draft.fields[0].value.as_deref(), Some("my bill is wrong"));
    let note = draft.note.as_deref().unwrap_or_default();
    assert!(
        note.contains("no-answer") && note.contains("escalation ticket #1"),
        "{note}"
    );
    assert!(fx.contains(&Effect::Release));
}

#[test]
fn a_flood_of_caller_audio_ends_the_stream() {
    let mut sim = Sim::new(&common::agent_toml("decide"));
    sim.now = 1_000;
    // Up to 5 s ahead of the clock is a network burst.
    let fx = sim.input(Input::Listened {
        now: 1_000,
        received_ms: 6_000,
        heard_ms: 1_000,
        heard: vec![],
    });
    assert!(
        !fx.iter().any(|e| matches!(e, Effect::EndStream(_))),
        "{fx:?}"
    );
    let fx = sim.input(Input::Listened {
        now: 1_000,
        received_ms: 20,
        heard_ms: 1_020,
        heard: vec![],
    });
    assert_eq!(
        fx.iter()
            .filter(|e| matches!(e, Effect::EndStream(_)))
            .collect::<Vec<_>>(),
        [&Effect::EndStream(Ending::Flooding)]
    );
}

#[test]
fn a_silent_stream_ends_idle_and_nothing_ticks_for_a_silent_agent() {
    let mut sim = Sim::new(&common::agent_toml("decide"));
    // While the greeting plays the call is paced.
    sim.audio_until(1_000);
    assert_eq!(sim.deadline, sim.now + PACE_MS);
    greeted(&mut sim);
    // Nothing plays, nothing is pending: the only deadline is the idle guard.
    let last_message = sim.now;
    assert_eq!(sim.deadline, last_message + IDLE_MS);
    // Woken early (another input's wake-up), it still waits.
    let fx = sim.input(Input::Timeout {
        now: last_message + IDLE_MS - 1,
    });
    assert_eq!(fx, []);
    assert_eq!(sim.deadline, last_message + IDLE_MS);
    let fx = sim.input(Input::Timeout {
        now: last_message + IDLE_MS,
    });
    assert_eq!(fx, [Effect::EndStream(Ending::Idle)]);
    assert!(
        sim.deadline > last_message + IDLE_MS,
        "an ending stream is not woken again and again: {}",
        sim.deadline
    );
}

/// One call from greeting to release: barge-in, a partial that escalates, a busy target, a bridged one.
fn scripted_call() -> Vec<Effect> {
    let mut sim = Sim::new(&two_targets());
    sim.run_until(700);
    sim.step(vec![Heard::Voice { t_ms: 720 }]);
    let start_ms = sim.heard_ms;
    sim.step(vec![Heard::Started { start_ms }]);
    let fx = sim.audio_until(start_ms + 1_000);
    let (job, _) = partial_job(&fx).expect("a partial");
    let words = "I want to cancel my contract";
    sim.recognised(job, words, cancellation(words));
    sim.audio_until(start_ms + 1_500);
    // The call is being transferred: its final needs no recognising.
    let end = sim.step(vec![Heard::Ended {
        utterance: Utterance {
            start_ms,
            end_ms: start_ms + 1_500,
        },
        detected_ms: start_ms + 1_520,
        audio: vec![0.0; 160],
    }]);
    assert_eq!(final_job(&end), None, "{end:?}");
    sim.audio_until(sim.heard_ms + PROMPT_MS + 200);
    for (attempt, outcome) in [
        (
            1,
            RingOutcome::NotTaken {
                status: "busy".into(),
                detail: Some("486".into()),
            },
        ),
        (
            2,
            RingOutcome::Bridged {
                talk_seconds: Some(90),
                over: true,
            },
        ),
    ] {
        sim.input(Input::Dialed {
            now: sim.now,
            attempt,
            attempt_id: Some(i64::from(attempt)),
            waited_ms: None,
            result: Dialed::Reported,
        });
        if attempt == 1 {
            sim.input(Input::StreamEnded {
                now: sim.now,
                reason: "transferred".into(),
                detail: String::new(),
            });
        }
        sim.now += 15_000;
        sim.input(Input::RingOutcome {
            now: sim.now,
            attempt,
            outcome,
        });
    }
    assert!(sim.live.is_released(), "{:?}", sim.effects);
    sim.effects
}

#[test]
fn the_same_events_always_give_the_same_effects() {
    let first = scripted_call();
    let second = scripted_call();
    assert!(first.len() > 50, "{first:?}");
    assert_eq!(format!("{first:?}"), format!("{second:?}"));
}
