//! The sans-IO call core driven in simulated time: scripted events in, actions checked out. No models,
//! no sockets, no clock.

mod common;

use switchboard::call::{Action, Call, CallSetup, Event, Hearing, Transcript};
use switchboard::config::{self, SupportMode};
use switchboard::events::{CallEvent, Decision};
use switchboard::language::Language;
use switchboard::tickets::TicketKind;
use switchboard::topics::{call_topics, TopicHit, TopicKind};

fn call(support: &str, hearing: Hearing) -> Call {
    call_with(&common::agent_toml(support), hearing, chrono::Utc::now())
}

fn call_with(toml: &str, hearing: Hearing, started_at: chrono::DateTime<chrono::Utc>) -> Call {
    let cfg = config::parse(toml, "agent.toml").unwrap().config;
    let en = Language::load("en").unwrap();
    Call::new(CallSetup::for_agent(
        "CA-test".into(),
        Some("+15550188888".into()),
        &cfg,
        &en,
        call_topics(&cfg, &en),
        hearing,
        started_at,
    ))
}

fn says(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Say { text } => Some(text.clone()),
            _ => None,
        })
        .collect()
}

/// The caller asks to cancel at 4 s.
fn asks_to_cancel(c: &mut Call) {
    c.handle(heard_topic(
        4_000,
        "I want to cancel my contract",
        "cancellation",
        TopicKind::Escalation,
    ))
    .unwrap();
}

/// Escalates a live call on "cancel my contract" and files its ticket as #7.
fn escalated(c: &mut Call) -> Vec<Action> {
    asks_to_cancel(c);
    drain(c);
    c.handle(Event::TicketFiled { t_ms: 4_100, id: 7 }).unwrap();
    drain(c)
}

#[test]
fn a_transfer_nobody_takes_brings_the_caller_back_for_a_callback() {
    let mut c = call("decide", Hearing::Live);
    escalated(&mut c);
    assert!(c.is_transferring());
    // Nothing the caller says while it rings decides anything.
    c.handle(heard_topic(
        9_000,
        "hello?",
        "complaint",
        TopicKind::Callback,
    ))
    .unwrap();
    assert_eq!(drain(&mut c), []);

    c.handle(Event::TransferFailed {
        t_ms: 30_000,
        outcome: "no-answer".into(),
    })
    .unwrap();
    let back = drain(&mut c);
    assert!(log(&back).contains(&CallEvent::TransferOutcome {
        outcome: "no-answer".into()
    }));
    assert_eq!(
        says(&back),
        [
            "I'm sorry, nobody could take your call right now.",
            "I'll make sure someone from our team calls you back about this. First, a few quick questions.",
            "What is the reason for your call?"
        ]
    );
    assert!(!c.is_finished(), "the agent has the caller again");
    // The caller answers the first question, then hangs up: the callback ticket is still filed.
    c.handle(heard(34_000, "my bill is wrong", vec![])).unwrap();
    drain(&mut c);
    c.handle(Event::HungUp { t_ms: 40_000 }).unwrap();
    let fx = drain(&mut c);
    let Some(Action::FileTicket(draft)) = effects(&fx).into_iter().next() else {
        panic!("{fx:?}")
    };
    assert_eq!(draft.kind, TicketKind::Callback);
    assert_eq!(draft.topic.as_deref(), Some("cancellation"));
    assert_eq!(draft.fields[0].value.as_deref(), Some("my bill is wrong"));
    let note = draft.note.as_deref().unwrap();
    assert!(
        note.contains("no-answer") && note.contains("escalation ticket #7"),
        "{note}"
    );
}

#[test]
fn a_caller_who_hangs_up_while_the_transfer_rings_is_still_owed_a_callback() {
    let mut c = call("escalate", Hearing::Live);
    escalated(&mut c);
    c.handle(Event::HungUp { t_ms: 12_000 }).unwrap();
    let fx = drain(&mut c);
    let Some(Action::FileTicket(draft)) = fx.iter().find(|a| matches!(a, Action::FileTicket(_)))
    else {
        panic!("{fx:?}")
    };
    assert_eq!(draft.kind, TicketKind::Callback);
    assert!(draft.note.as_deref().unwrap().contains("caller hung up"));
}

#[test]
fn each_topic_rings_its_own_targets_first_then_the_general_ones() {
    let toml = common::agent_toml("escalate").replace(
        "transfer_number = \"+15550100001\"\n",
        "transfer_number = \"+15550100001\"\ntargets = [\n  { number = \"+15550100002\", name = \"Retention\", topics = [\"cancellation\"] },\n  { number = \"+15550100003\" },\n]\n",
    );
    let mut c = call_with(&toml, Hearing::Live, chrono::Utc::now());
    let fx = escalated(&mut c);
    let Some(Action::Transfer { to, fallbacks, .. }) = effects(&fx).into_iter().nth(1) else {
        panic!("{fx:?}")
    };
    assert_eq!(to, "+15550100002");
    assert_eq!(fallbacks, &["+15550100001", "+15550100003"]);
}

#[test]
fn outside_business_hours_an_escalation_becomes_a_callback_with_a_time() {
    use chrono::TimeZone;
    let toml = common::agent_toml("escalate").replace(
        "[callback]",
        "ring_seconds = 15\n[escalation.hours]\nmon = \"09:00-17:00\"\ntue = \"09:00-17:00\"\nwed = \"09:00-17:00\"\nthu = \"09:00-17:00\"\nfri = \"09:00-17:00\"\n\n[callback]",
    );
    // Saturday 5 December 2026, 10:00 in New York.
    let saturday = chrono_tz::America::New_York
        .with_ymd_and_hms(2026, 12, 5, 10, 0, 0)
        .unwrap()
        .with_timezone(&chrono::Utc);
    let mut c = call_with(&toml, Hearing::Recording, saturday);
    asks_to_cancel(&mut c);
    let fx = drain(&mut c);
    assert!(log(&fx).iter().any(|e| matches!(
        e,
        CallEvent::Decision {
            decision: Decision::Escalate,
            ..
        }
    )));
    assert_eq!(
        says(&fx)[0],
        "Our team is not available right now. They are back on Monday at 9 am, and they will call you back."
    );
    assert!(
        !fx.iter().any(|a| matches!(a, Action::Transfer { .. })),
        "nobody to transfer to: {fx:?}"
    );
    let Some(Action::FileTicket(draft)) = effects(&fx)
        .into_iter()
        .find(|a| matches!(a, Action::FileTicket(_)))
    else {
        panic!("{fx:?}")
    };
    assert_eq!(draft.kind, TicketKind::Callback);
    assert!(draft
        .note
        .as_deref()
        .unwrap()
        .starts_with("Escalation outside business hours; the team is back on Monday at 9 am."));
    // On a weekday at 10:00 the same call is transferred.
    let monday = saturday + chrono::Duration::days(2);
    let mut c = call_with(&toml, Hearing::Recording, monday);
    asks_to_cancel(&mut c);
    let Some(Action::FileTicket(draft)) = effects(&drain(&mut c)).into_iter().next().cloned()
    else {
        panic!()
    };
    assert_eq!(draft.kind, TicketKind::Escalation);
}

fn heard(t_ms: u64, text: &str, hits: Vec<TopicHit>) -> Event {
    Event::Heard {
        t_ms,
        transcript: Transcript {
            text: text.into(),
            start_ms: t_ms.saturating_sub(2_000),
            end_ms: t_ms,
            is_final: true,
        },
        hits,
    }
}

/// The caller says `words`, in which the matcher found `topic`.
fn heard_topic(t_ms: u64, words: &str, topic: &str, kind: TopicKind) -> Event {
    heard(t_ms, words, vec![hit(topic, kind, words)])
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

fn drain(c: &mut Call) -> Vec<Action> {
    std::iter::from_fn(|| c.poll_action()).collect()
}

fn effects(actions: &[Action]) -> Vec<&Action> {
    actions
        .iter()
        .filter(|a| !matches!(a, Action::Log(_)))
        .collect()
}

fn log(actions: &[Action]) -> Vec<CallEvent> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Log(l) => Some(l.event.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn escalation_files_the_ticket_before_anyone_is_told() {
    let mut c = call("escalate", Hearing::Live);
    c.handle(heard(
        3_000,
        "I have been with you for ten years now",
        vec![],
    ))
    .unwrap();
    let first = drain(&mut c);
    assert!(effects(&first).is_empty());
    assert!(log(&first).contains(&CallEvent::Decision {
        decision: Decision::Continue,
        reason: "no mandatory topic heard".into(),
        topic: None
    }));

    let words = "and I want to cancel my contract";
    c.handle(heard_topic(
        6_000,
        words,
        "cancellation",
        TopicKind::Escalation,
    ))
    .unwrap();
    let actions = drain(&mut c);
    let fx = effects(&actions);
    assert_eq!(
        fx.len(),
        1,
        "only the ticket may be requested before it is filed: {fx:?}"
    );
    let Action::FileTicket(draft) = fx[0] else {
        panic!("{fx:?}")
    };
    assert_eq!(draft.kind, TicketKind::Escalation);
    assert_eq!(draft.caller.as_deref(), Some("+15550188888"));
    assert!(
        draft.summary.contains("ten years"),
        "earlier context kept: {}",
        draft.summary
    );
    assert!(
        draft.transcript.contains("[00:04] and I want to cancel"),
        "{}",
        draft.transcript
    );
    assert!(!c.is_finished());

    c.handle(Event::TicketFiled {
        t_ms: 6_000,
        id: 42,
    })
    .unwrap();
    let after = drain(&mut c);
    let fx = effects(&after);
    assert!(matches!(fx[0], Action::Say { .. }), "{fx:?}");
    let Action::Transfer {
        to,
        summary,
        ticket,
        fallbacks,
    } = fx[1]
    else {
        panic!("{fx:?}")
    };
    assert_eq!(to, "+15550100001");
    assert!(fallbacks.is_empty());
    assert_eq!(
        *ticket,
        Some(42),
        "the transfer names the ticket written for it"
    );
    assert!(summary.as_deref().unwrap().contains("cancel my contract"));
    assert_eq!(
        log(&after)[0],
        CallEvent::Ticket {
            id: 42,
            kind: TicketKind::Escalation
        }
    );
    assert!(c.is_finished());
    assert!(c.is_transferring());
    c.handle(Event::TransferBridged { t_ms: 30_000 }).unwrap();
    assert_eq!(
        log(&drain(&mut c)),
        [CallEvent::TransferOutcome {
            outcome: "bridged".into()
        }]
    );
    assert!(!c.is_transferring());

    // The agent's part is over: it hears nothing more, so nothing is logged or done.
    c.handle(heard_topic(
        9_000,
        "hello?",
        "cancellation",
        TopicKind::Escalation,
    ))
    .unwrap();
    c.handle(Event::HungUp { t_ms: 12_000 }).unwrap();
    assert_eq!(drain(&mut c), []);
}

#[test]
fn a_live_flag_asks_each_field_and_files_the_answers() {
    let mut c = call("flag", Hearing::Live);
    let words = "this is the worst service I have ever had";
    c.handle(heard_topic(4_000, words, "complaint", TopicKind::Callback))
        .unwrap();
    let said = says(&drain(&mut c));
    assert_eq!(
        said.len(),
        2,
        "intro, then only the first question: {said:?}"
    );
    assert_eq!(said[1], "What is the reason for your call?");

    c.handle(heard(7_000, "my bill was wrong", vec![])).unwrap();
    let said = says(&drain(&mut c));
    assert!(said.last().unwrap().starts_with("When"), "{said:?}");
    c.handle(heard(9_000, "as soon as possible", vec![]))
        .unwrap();
    assert_eq!(
        says(&drain(&mut c)),
        ["I have as soon as possible. Is that right?"]
    );
    c.handle(heard(12_000, "yes", vec![])).unwrap();
    drain(&mut c);
    c.handle(heard(15_000, "no thanks", vec![])).unwrap();
    let fx = drain(&mut c);
    let Some(Action::FileTicket(draft)) = fx.iter().find(|a| matches!(a, Action::FileTicket(_)))
    else {
        panic!("{fx:?}")
    };
    let values: Vec<_> = draft.fields.iter().map(|f| f.value.clone()).collect();
    assert_eq!(values[0].as_deref(), Some("my bill was wrong"));
    assert!(values[1].is_some());
    assert_eq!(values[2], None);
    c.handle(Event::TicketFiled {
        t_ms: 15_000,
        id: 7,
    })
    .unwrap();
    let end = effects(&drain(&mut c))
        .into_iter()
        .cloned()
        .collect::<Vec<_>>();
    assert!(
        matches!(&end[..], [Action::Say { text }, Action::Say { .. }, Action::HangUp] if text.contains("as soon as possible")),
        "promise, goodbye, hang up: {end:?}"
    );
    assert!(c.is_finished(), "the agent's part is over");
}

#[test]
fn hanging_up_mid_dialog_still_files_what_was_collected() {
    let mut c = call("flag", Hearing::Live);
    c.handle(heard_topic(
        4_000,
        "I want to complain",
        "complaint",
        TopicKind::Callback,
    ))
    .unwrap();
    c.handle(heard(6_000, "the engineer never came", vec![]))
        .unwrap();
    drain(&mut c);
    c.handle(Event::HungUp { t_ms: 7_000 }).unwrap();
    let fx = drain(&mut c);
    let Some(Action::FileTicket(draft)) = effects(&fx).into_iter().next() else {
        panic!("{fx:?}")
    };
    assert_eq!(
        draft.fields[0].value.as_deref(),
        Some("the engineer never came")
    );
    assert_eq!(draft.fields[1].value, None);
    assert!(draft.note.as_deref().unwrap().contains("hung up"));
    c.handle(Event::TicketFiled { t_ms: 7_000, id: 3 }).unwrap();
    let after = log(&drain(&mut c));
    assert_eq!(
        after,
        [CallEvent::Ticket {
            id: 3,
            kind: TicketKind::Callback
        }]
    );
    assert!(c.is_finished());
}

#[test]
fn off_mode_reports_topics_but_only_continues() {
    let mut c = call("off", Hearing::Recording);
    let words = "cancel my contract";
    c.handle(heard_topic(
        2_000,
        words,
        "cancellation",
        TopicKind::Escalation,
    ))
    .unwrap();
    let actions = drain(&mut c);
    assert!(effects(&actions).is_empty());
    let events = log(&actions);
    assert!(events
        .iter()
        .any(|e| matches!(e, CallEvent::Topic { topic, .. } if topic == "cancellation")));
    assert!(events.iter().any(|e| matches!(
        e,
        CallEvent::Decision {
            decision: Decision::Continue,
            ..
        }
    )));
    assert_eq!(c.setup().support, SupportMode::Off);
}

fn partial(start_ms: u64, t_ms: u64, text: &str, hits: Vec<TopicHit>) -> Event {
    Event::Heard {
        t_ms,
        transcript: Transcript {
            text: text.into(),
            start_ms,
            end_ms: t_ms,
            is_final: false,
        },
        hits,
    }
}

/// The caller talks over the greeting: the agent stops once, and the log says what was cut.
#[test]
fn barge_in_stops_the_agent_once_and_logs_what_was_cut() {
    let mut c = call("decide", Hearing::Live);
    c.handle(Event::Answered { t_ms: 0 }).unwrap();
    let greeting = drain(&mut c);
    assert!(matches!(effects(&greeting)[..], [Action::Say { .. }]));
    assert!(c.is_speaking());
    c.handle(Event::VoiceOnset { t_ms: 900 }).unwrap();
    assert_eq!(effects(&drain(&mut c)), vec![&Action::StopSpeaking]);
    // The confirmed start of the same speech does not stop the agent a second time.
    c.handle(Event::SpeechStarted { t_ms: 850 }).unwrap();
    assert!(effects(&drain(&mut c)).is_empty());
    c.handle(Event::PromptsCut {
        t_ms: 960,
        heard_ms: Some(900),
        dropped: 0,
    })
    .unwrap();
    let cut = log(&drain(&mut c));
    assert!(
        matches!(&cut[..], [CallEvent::BargeIn { text: Some(t), heard_ms: Some(900), dropped }]
        if t.starts_with("Hello") && dropped.is_empty())
    );
    assert!(!c.is_speaking());
    // Nothing playing: speech is just speech.
    c.handle(Event::VoiceOnset { t_ms: 5_000 }).unwrap();
    assert!(effects(&drain(&mut c)).is_empty());
}

/// A prompt heard in full is logged as played; a recording never barges in.
#[test]
fn played_prompts_are_logged_and_recordings_never_barge_in() {
    let mut c = call("decide", Hearing::Live);
    c.handle(Event::Answered { t_ms: 0 }).unwrap();
    drain(&mut c);
    c.handle(Event::PromptPlayed { t_ms: 3_600 }).unwrap();
    assert!(matches!(
        &log(&drain(&mut c))[..],
        [CallEvent::Played { .. }]
    ));
    assert!(!c.is_speaking());

    let mut r = call("decide", Hearing::Recording);
    r.handle(Event::Answered { t_ms: 0 }).unwrap();
    assert!(drain(&mut r).is_empty(), "a recording is not greeted");
    r.handle(Event::VoiceOnset { t_ms: 100 }).unwrap();
    assert!(drain(&mut r).is_empty());
}

/// A partial transcript that already carries an escalation topic decides before the caller finishes; its
/// final only completes the transcript.
#[test]
fn a_clear_partial_decides_and_its_final_does_not_decide_again() {
    let mut c = call("decide", Hearing::Live);
    let words = "I want to cancel my contract";
    c.handle(partial(1_000, 2_500, "I want", vec![])).unwrap();
    assert!(
        !log(&drain(&mut c))
            .iter()
            .any(|e| matches!(e, CallEvent::Decision { .. })),
        "a partial without a topic decides nothing"
    );
    c.handle(partial(
        1_000,
        3_000,
        words,
        vec![hit("cancellation", TopicKind::Escalation, words)],
    ))
    .unwrap();
    let actions = drain(&mut c);
    assert!(log(&actions).iter().any(|e| matches!(
        e,
        CallEvent::Decision {
            decision: Decision::Escalate,
            ..
        }
    )));
    let Some(Action::FileTicket(draft)) = effects(&actions).first().cloned().cloned() else {
        panic!("the escalation ticket is filed first: {actions:?}");
    };
    assert_eq!(draft.kind, TicketKind::Escalation);
    c.handle(Event::TicketFiled { t_ms: 3_010, id: 7 }).unwrap();
    drain(&mut c);
    // The final of the same utterance arrives after the decision: logged, not decided on again.
    c.handle(Event::Heard {
        t_ms: 3_600,
        transcript: Transcript {
            text: format!("{words}, please."),
            start_ms: 1_000,
            end_ms: 3_400,
            is_final: true,
        },
        hits: vec![hit("cancellation", TopicKind::Escalation, words)],
    })
    .unwrap();
    assert!(!log(&drain(&mut c))
        .iter()
        .any(|e| matches!(e, CallEvent::Decision { .. })));
}

/// The words that flagged the call are not the answer to the first question: an answer starts after the
/// question was asked.
#[test]
fn the_utterance_that_flagged_is_not_taken_as_the_first_answer() {
    let mut c = call("decide", Hearing::Live);
    let words = "I want to make a formal complaint";
    c.handle(partial(
        1_000,
        2_800,
        words,
        vec![hit("complaint", TopicKind::Callback, words)],
    ))
    .unwrap();
    drain(&mut c);
    // Its final, which began before the question, is not an answer.
    c.handle(heard_topic(3_500, words, "complaint", TopicKind::Callback))
        .unwrap();
    assert!(effects(&drain(&mut c)).is_empty());
    // The real answer is.
    c.handle(Event::Heard {
        t_ms: 8_000,
        transcript: Transcript {
            text: "The engineer never came".into(),
            start_ms: 6_000,
            end_ms: 7_500,
            is_final: true,
        },
        hits: vec![],
    })
    .unwrap();
    let next = effects(&drain(&mut c))
        .into_iter()
        .cloned()
        .collect::<Vec<_>>();
    assert!(
        matches!(&next[..], [Action::Say { .. }, Action::Say { text }] if text.contains("call you back")),
        "thanks, then the next question: {next:?}"
    );
}

/// A prompt the speech engine could not render is logged as such, never as heard, and the agent is not
/// left waiting for it to play.
#[test]
fn a_prompt_that_could_not_be_spoken_is_not_logged_as_heard() {
    let mut c = call("decide", Hearing::Live);
    c.handle(Event::Answered { t_ms: 0 }).unwrap();
    drain(&mut c);
    c.handle(Event::PromptFailed {
        t_ms: 10,
        reason: "espeak-ng is missing".into(),
    })
    .unwrap();
    let logged = log(&drain(&mut c));
    assert!(
        matches!(&logged[..], [CallEvent::SayFailed { text, reason }]
            if text.starts_with("Hello") && reason.contains("espeak")),
        "{logged:?}"
    );
    assert!(!c.is_speaking());
}
