//! Escalations that land, as whole live calls over loopback: `switchboard serve`, a Twilio Media Streams
//! peer playing the caller in real time, and a fake Twilio REST API (and a fake LLM) on loopback. The test
//! plays Twilio's call engine: it reads the `<Dial>` TwiML our server sent through `UpdateCall`, fetches the
//! whisper like the answering leg would, and reports each `DialCallStatus` to our action URL, signed.
//!
//! Bridged with the summary whispered; no answer then busy on the fallback, back to the agent and a
//! callback ticket; the API down, a callback on the same stream; outside business hours, a callback and no
//! dial at all; and `kill -9` between the ticket and the dial, with the ticket marked after the restart.

// The engine lock serialises whole calls (each owns its server): held across awaits on purpose.
#![allow(clippy::await_holding_lock)]

mod common;

use std::time::{Duration, Instant};

use common::fakes::{self, Answer, FakeApi};
use common::live::{cancel_after_greeting, mulaw_call, Part, Server};
use serde_json::Value;
use switchboard::loadtest::peer::{play_twilio, Peer};
use switchboard::telephony::signing::twilio_signature;
use switchboard::tickets::store::TicketStore;
use switchboard::tickets::{Ticket, TicketKind};

const TOKEN: &str = "12345678901234567890123456789012";
const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
const BASE: &str = "https://agent.example.com";
const CALL: &str = "CA00000000000000000000000000000042";

/// The agent with Twilio call control pointed at `twilio`, plus `extra` TOML.
fn config(twilio: &FakeApi, escalation_extra: &str, extra: &str) -> String {
    let mut c = common::agent_toml("decide").replace(
        "transfer_number = \"+15550100001\"\n",
        &format!("transfer_number = \"+15550100001\"\n{escalation_extra}"),
    );
    c.push_str(&format!(
        "\n[server]\npublic_url = \"{BASE}\"\n\n[providers.twilio]\nauth_token = \"{TOKEN}\"\n\
         account_sid = \"{ACCOUNT}\"\napi_base = \"{}\"\n{extra}",
        twilio.url
    ));
    c
}

fn of_type<'a>(lines: &'a [Value], kind: &str) -> Vec<&'a Value> {
    lines.iter().filter(|l| l["type"] == kind).collect()
}

fn said(lines: &[Value]) -> Vec<String> {
    of_type(lines, "say")
        .iter()
        .filter_map(|l| l["text"].as_str().map(str::to_string))
        .collect()
}

async fn tickets(server: &Server) -> Vec<Ticket> {
    let store = TicketStore::open(&server.database()).await.unwrap();
    let mut out = Vec::new();
    for t in store.list().await.unwrap() {
        out.push(store.get(t.id).await.unwrap());
    }
    store.close().await;
    out.reverse();
    out
}

/// What Twilio's call engine does with a URL from our TwiML: request it, signed, with `params`.
async fn twilio_requests(server: &Server, url: &str, params: &[(&str, &str)]) -> String {
    let path = url.strip_prefix(BASE).expect("our public URL");
    let owned: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let response = reqwest::Client::new()
        .post(server.url(path))
        .header("X-Twilio-Signature", twilio_signature(TOKEN, url, &owned))
        .form(&owned)
        .send()
        .await
        .expect("POST to our server");
    assert!(response.status().is_success(), "{url}: {response:?}");
    response.text().await.unwrap()
}

/// The value of `attr="..."` in TwiML, unescaped.
fn attribute(twiml: &str, attr: &str) -> String {
    let start = twiml
        .find(&format!("{attr}=\""))
        .unwrap_or_else(|| panic!("{attr} in {twiml}"))
        + attr.len()
        + 2;
    twiml[start..][..twiml[start..].find('"').unwrap()].replace("&amp;", "&")
}

fn dial_status<'a>(status: &'a str, duration: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("AccountSid", ACCOUNT),
        ("CallSid", CALL),
        ("CallStatus", "in-progress"),
        ("DialCallStatus", status),
        ("DialCallDuration", duration),
        ("From", "+15550142000"),
    ]
}

/// The caller asks to cancel and listens; returns once the server closed the stream.
async fn escalating_call(server: &Server, linger_s: u64) -> switchboard::loadtest::peer::Report {
    let mut peer = Peer::new(CALL, cancel_after_greeting());
    peer.linger = Duration::from_secs(linger_s);
    play_twilio(&server.ws("/twilio/stream"), peer).await
}

/// An escalating call handed to Twilio: the `<Dial>` TwiML our `UpdateCall` carried, and its action URL.
async fn transferred_call(server: &Server, twilio: &FakeApi) -> (String, String) {
    let report = escalating_call(server, 12).await;
    assert_eq!(
        report.close,
        Some((1000, "transferred".into())),
        "{report:?}"
    );
    let twiml = twilio.received()[0]
        .param("Twiml")
        .expect("an UpdateCall with Twiml")
        .to_string();
    let action = attribute(&twiml, "action");
    (twiml, action)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_escalation_is_dialed_with_its_summary_whispered_and_bridged() {
    let _engines = common::engine_lock();
    let twilio = fakes::twilio(Answer::Ok).await;
    let llm_words = "Caller ending 00 wants to cancel the contract and sounds calm.";
    let llm = fakes::llm(Answer::Ok, llm_words).await;
    let server = Server::start(&config(
        &twilio,
        "",
        &format!(
            "\n[summary]\nengine = \"llm\"\nurl = \"{}\"\nmodel = \"fake\"\ntimeout_ms = 1500\n",
            llm.url
        ),
    ));
    let (twiml, action) = transferred_call(&server, &twilio).await;

    // One UpdateCall, authenticated, with the Dial that reports to our action URL.
    let sent = twilio.received();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(
        sent[0].path,
        format!("/2010-04-01/Accounts/{ACCOUNT}/Calls/{CALL}.json")
    );
    assert!(sent[0]
        .authorization
        .as_deref()
        .unwrap()
        .starts_with("Basic "));
    assert!(
        twiml.contains(">+15550100001</Number>") && twiml.contains("callerId=\"+15550100000\""),
        "{twiml}"
    );
    assert_eq!(
        action,
        format!("{BASE}/twilio/dial-result/{CALL}?attempt=1")
    );

    // The person who answers hears the summary the LLM wrote.
    let whisper = twilio_requests(&server, &attribute(&twiml, "url"), &[("CallSid", "CA9")]).await;
    assert!(
        whisper.contains(&format!("<Say>{llm_words}</Say>")),
        "{whisper}"
    );
    assert_eq!(llm.received().len(), 1);

    // The bridged call ends after 42 s of conversation.
    let after = twilio_requests(&server, &action, &dial_status("completed", "42")).await;
    assert!(after.contains("<Hangup/>"), "{after}");

    let lines = server.events(CALL).await;
    let dial = of_type(&lines, "dial");
    assert_eq!(dial.len(), 1, "{lines:#?}");
    assert_eq!(dial[0]["to"], "+15550100001");
    let waited = dial[0]["wall_ms"].as_u64().expect("decision -> dial time");
    assert!(
        waited > 1_000,
        "the announcement plays before the dial: {waited} ms"
    );
    assert!(of_type(&lines, "transfer_outcome")
        .iter()
        .any(|l| l["outcome"] == "bridged"));

    let t = tickets(&server).await;
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].draft.kind, TicketKind::Escalation);
    assert_eq!(
        t[0].draft.summary, llm_words,
        "the ticket keeps the summary spoken"
    );
    assert_eq!(t[0].transfer_status.as_deref(), Some("bridged"));
    assert_eq!(t[0].attempts.len(), 1);
    assert_eq!(t[0].attempts[0].outcome.as_deref(), Some("bridged"));
    assert_eq!(t[0].attempts[0].talk_seconds, Some(42));
    let store = TicketStore::open(&server.database()).await.unwrap();
    let usage = store.usage(CALL).await.unwrap().expect("metered");
    assert_eq!(usage.transfer_ms, 42_000);
    assert!(usage.agent_ms > 5_000, "{usage:?}");
    assert_eq!(usage.outcome.as_deref(), Some("bridged"));
    assert_eq!(
        server
            .metric("switchboard_transfers_total{outcome=\"bridged\"}")
            .await,
        1.0
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn nobody_answers_so_the_fallback_rings_then_the_caller_is_back_for_a_callback() {
    let _engines = common::engine_lock();
    let twilio = fakes::twilio(Answer::Ok).await;
    let server = Server::start(&config(
        &twilio,
        "targets = [{ number = \"+15550100003\", name = \"Overflow desk\" }]\n",
        "",
    ));
    let (_, action) = transferred_call(&server, &twilio).await;

    // No answer at the first target: the fallback rings, straight from the action's TwiML.
    let next = twilio_requests(&server, &action, &dial_status("no-answer", "0")).await;
    assert!(next.contains(">+15550100003</Number>"), "{next}");
    let second = attribute(&next, "action");
    assert_eq!(
        second,
        format!("{BASE}/twilio/dial-result/{CALL}?attempt=2")
    );
    // Twilio asking again about the first attempt (our answer was lost) gets the same answer, and
    // nothing is rung or recorded twice.
    let again = twilio_requests(&server, &action, &dial_status("no-answer", "0")).await;
    assert_eq!(again, next);
    // Busy there too: the caller's call is connected back to our stream.
    let back = twilio_requests(&server, &second, &dial_status("busy", "0")).await;
    assert!(
        back.contains("<Connect action=\"https://agent.example.com/twilio/after-stream\">")
            && back.contains("<Stream url=\"wss://agent.example.com/twilio/stream\">"),
        "{back}"
    );
    assert!(back.contains(&format!("value=\"{CALL}\"")), "{back}");

    // The same call, on a new stream: the agent says so and asks the callback questions; the caller
    // answers the first and hangs up.
    let (audio, _) = mulaw_call(&[
        Part::Silence(12_500),
        Part::Say("My bill was wrong twice this month."),
        Part::Silence(2_500),
    ]);
    let mut peer = Peer::new(CALL, audio);
    peer.linger = Duration::from_secs(1);
    let report = play_twilio(&server.ws("/twilio/stream"), peer).await;
    assert!(
        report.media_bytes > 8_000,
        "the agent spoke again: {report:?}"
    );

    let lines = server.events_of_streams(CALL, 2).await;
    let says = said(&lines);
    let sorry = says
        .iter()
        .position(|s| s == "I'm sorry, nobody could take your call right now.")
        .unwrap_or_else(|| panic!("{says:#?}"));
    assert_eq!(says[sorry + 2], "What is the reason for your call?");
    let dials: Vec<_> = of_type(&lines, "dial")
        .iter()
        .map(|l| l["to"].clone())
        .collect();
    assert_eq!(dials, ["+15550100001", "+15550100003"]);
    // Call time goes on across the two streams.
    let times: Vec<u64> = lines.iter().filter_map(|l| l["t_ms"].as_u64()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");

    let t = tickets(&server).await;
    assert_eq!(t.len(), 2, "{t:#?}");
    let (escalation, callback) = (&t[0], &t[1]);
    assert_eq!(escalation.transfer_status.as_deref(), Some("failed"));
    let outcomes: Vec<_> = escalation
        .attempts
        .iter()
        .map(|a| (a.target.as_str(), a.outcome.as_deref()))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("+15550100001", Some("no-answer")),
            ("+15550100003", Some("busy"))
        ]
    );
    assert_eq!(callback.draft.kind, TicketKind::Callback);
    let note = callback.draft.note.as_deref().unwrap();
    assert!(
        note.contains("(busy)") && note.contains(&format!("ticket #{}", escalation.id)),
        "{note}"
    );
    let reason = callback.draft.fields[0]
        .value
        .as_deref()
        .unwrap_or_default();
    assert!(
        reason.to_lowercase().contains("bill"),
        "{:#?}",
        callback.draft.fields
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn with_the_provider_down_the_caller_stays_with_the_agent_and_gets_a_callback() {
    let _engines = common::engine_lock();
    let twilio = fakes::twilio(Answer::Down).await;
    let server = Server::start(&config(&twilio, "", ""));
    let report = escalating_call(&server, 22).await;
    assert_ne!(
        report.close,
        Some((1000, "transferred".into())),
        "{report:?}"
    );
    // Asked three times (the patience), then given up.
    assert_eq!(twilio.received().len(), 3);

    let lines = server.events(CALL).await;
    let says = said(&lines);
    assert!(
        says.iter()
            .any(|s| s == "I'm sorry, nobody could take your call right now."),
        "{says:#?}"
    );
    let outcome = of_type(&lines, "transfer_outcome");
    assert!(
        outcome[0]["outcome"]
            .as_str()
            .unwrap()
            .starts_with("unavailable: twilio is unavailable after 3 attempt(s): 503"),
        "{outcome:?}"
    );
    let t = tickets(&server).await;
    assert_eq!(t.len(), 2, "{t:#?}");
    assert_eq!(t[0].attempts[0].outcome.as_deref(), Some("unavailable"));
    assert_eq!(t[0].transfer_status.as_deref(), Some("failed"));
    assert_eq!(t[1].draft.kind, TicketKind::Callback);
    assert!(t[1].draft.note.as_deref().unwrap().contains("unavailable"));
}

#[tokio::test(flavor = "multi_thread")]
async fn outside_business_hours_nothing_is_dialed_and_a_callback_is_promised() {
    let _engines = common::engine_lock();
    let twilio = fakes::twilio(Answer::Ok).await;
    // Closed today and tomorrow in the agent's zone; open every other day from 8 am.
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::America::New_York)
        .date_naive();
    let hours = format!(
        "[escalation.hours]\nmon = \"08:00-20:00\"\ntue = \"08:00-20:00\"\nwed = \"08:00-20:00\"\n\
         thu = \"08:00-20:00\"\nfri = \"08:00-20:00\"\nsat = \"08:00-20:00\"\nsun = \"08:00-20:00\"\n\
         closed = [\"{today}\", \"{}\"]\n\n[callback]",
        today.succ_opt().unwrap()
    );
    let server = Server::start(&config(&twilio, "", "").replacen("[callback]", &hours, 1));
    let report = escalating_call(&server, 14).await;
    assert!(
        report.error.is_none() || report.media_bytes > 0,
        "{report:?}"
    );
    assert!(twilio.received().is_empty(), "nobody is there to dial");

    let lines = server.events(CALL).await;
    let says = said(&lines);
    assert!(
        says.iter().any(|s| s
            .starts_with("Our team is not available right now. They are back on ")
            && s.ends_with(" at 8 am, and they will call you back.")),
        "{says:#?}"
    );
    let t = tickets(&server).await;
    assert_eq!(t.len(), 1, "{t:#?}");
    assert_eq!(t[0].draft.kind, TicketKind::Callback);
    assert!(t[0]
        .draft
        .note
        .as_deref()
        .unwrap()
        .starts_with("Escalation outside business hours"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_killed_between_the_ticket_and_the_dial_leaves_a_marked_ticket() {
    let _engines = common::engine_lock();
    let twilio = fakes::twilio(Answer::Ok).await;
    let server = Server::start(&config(&twilio, "", ""));
    let ws = server.ws("/twilio/stream");
    let caller = tokio::spawn(async move {
        let mut peer = Peer::new(CALL, cancel_after_greeting());
        peer.linger = Duration::from_secs(8);
        play_twilio(&ws, peer).await
    });
    // The ticket is written, then the announcement plays: kill -9 in between.
    let deadline = Instant::now() + Duration::from_secs(40);
    let written = loop {
        let lines = server.events_now(CALL);
        if let Some(t) = lines.iter().find(|l| l["type"] == "ticket") {
            break t["id"].as_i64().unwrap();
        }
        assert!(Instant::now() < deadline, "no ticket: {lines:#?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let killed_at = Instant::now();
    let dir = server.kill();
    let _ = caller.await;
    assert!(
        twilio.received().is_empty(),
        "killed {:?} after the ticket, before any dial",
        killed_at.elapsed()
    );

    let server = Server::start_in(dir);
    let t = tickets(&server).await;
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].id, written);
    assert_eq!(t[0].draft.kind, TicketKind::Escalation);
    assert_eq!(t[0].transfer_status.as_deref(), Some("interrupted"));
    assert!(
        t[0].draft
            .note
            .as_deref()
            .unwrap()
            .contains("server stopped"),
        "{:?}",
        t[0].draft.note
    );
    assert!(server.log().contains("interrupted by the last shutdown"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_caller_who_hangs_up_while_it_rings_gets_a_callback_and_unknown_calls_are_not_dropped() {
    let _engines = common::engine_lock();
    let twilio = fakes::twilio(Answer::Ok).await;
    let server = Server::start(&config(
        &twilio,
        "targets = [{ number = \"+15550100003\" }]\nring = \"all_at_once\"\n",
        "",
    ));
    let (twiml, action) = transferred_call(&server, &twilio).await;
    // Both targets ring at once, each hearing the whisper if it answers first.
    assert!(
        twiml.contains(&format!(
            ">+15550100001</Number><Number url=\"{BASE}/twilio/whisper/{CALL}\">+15550100003</Number></Dial>"
        )),
        "{twiml}"
    );
    // The caller gave up while it rang: Twilio reports `canceled` on a completed parent call.
    let mut gone = dial_status("canceled", "0");
    gone[2] = ("CallStatus", "completed");
    let answer = twilio_requests(&server, &action, &gone).await;
    assert!(answer.contains("<Hangup/>"), "{answer}");
    let t = tickets(&server).await;
    assert_eq!(t.len(), 2, "{t:#?}");
    assert_eq!(t[0].attempts.len(), 1, "one attempt rang both");
    assert_eq!(t[0].attempts[0].target, "+15550100001, +15550100003");
    assert_eq!(t[0].attempts[0].outcome.as_deref(), Some("canceled"));
    assert_eq!(t[1].draft.kind, TicketKind::Callback);
    assert!(t[1]
        .draft
        .note
        .as_deref()
        .unwrap()
        .contains("caller hung up"));

    // An outcome for a call this server does not know (it restarted while it rang): a caller still on
    // the line is connected back to a fresh agent, never hung up on.
    let unknown = format!("{BASE}/twilio/dial-result/CA99999999999999999999999999999999");
    let mut params = dial_status("no-answer", "0");
    params[1] = ("CallSid", "CA99999999999999999999999999999999");
    let answer = twilio_requests(&server, &unknown, &params).await;
    assert!(answer.contains("<Connect"), "{answer}");
    let answer = twilio_requests(&server, &unknown, &dial_status("completed", "10")).await;
    assert!(answer.contains("<Hangup/>"), "{answer}");
}
