//! Speech out: every sentence the agent says, rendered by the Piper voice, is read back by tiny.en (a prompt
//! the recogniser cannot read back is a bad prompt); espeak-ng, the fallback, renders too; an
//! OpenAI-compatible voice is reached over real HTTP on loopback.

mod common;

use switchboard::asr::whisper::WhisperModel;
use switchboard::asr::AsrSettings;
use switchboard::language::Language;
use switchboard::speech::check::{agent_sentences, check_sentence};
use switchboard::speech::espeak::Espeak;
use switchboard::speech::piper::Piper;
use switchboard::speech::SpeechSynth;

#[test]
fn piper_prompts_read_back_through_the_recogniser() {
    let _engines = common::engine_lock();
    let models = common::models();
    let piper = Piper::load(&models, 2).expect("the Piper voice loads");
    let whisper = WhisperModel::load(&models, AsrSettings::default()).unwrap();
    let mut asr = whisper.transcriber().unwrap();
    let cfg = switchboard::config::parse(&common::agent_toml("flag"), "agent.toml")
        .unwrap()
        .config;
    let en = Language::load("en").unwrap();
    // Every sentence this agent can say, read-backs and wrappers included.
    let sentences =
        agent_sentences(&en.prompts, &en.fields, &cfg.callback.extra_fields, "1").unwrap();
    assert!(sentences.len() > 20, "{sentences:#?}");
    let mut total = 0.0;
    for text in &sentences {
        let c = check_sentence(&piper, &mut asr, text).expect("rendered and read back");
        assert!(
            c.audio_s > 0.5 && c.audio_s < 15.0,
            "{text}: {} s",
            c.audio_s
        );
        eprintln!("{:.2}  {text:?} -> {:?}", c.accuracy, c.heard);
        assert!(c.accuracy >= 0.8, "{text:?} was read back as {:?}", c.heard);
        total += c.accuracy;
    }
    assert!(total / sentences.len() as f64 >= 0.95);
    // Unknown symbols are skipped, not fatal; the ids start and end as Piper expects.
    let ids = piper.ids("hə'loʊ ☃");
    assert_eq!(ids.first(), Some(&1));
    assert_eq!(ids.last(), Some(&2));
}

/// The contextual summary is heard before the bridge: the longest one the template makes (a long, upset
/// quote, two long answers, an unknown caller) takes under 10 s in the agent's voice.
#[test]
fn the_longest_summary_is_heard_in_under_ten_seconds() {
    use switchboard::call::summary::{contextual_summary, Brief};
    use switchboard::tickets::{FieldStatus, FieldValue};
    let _engines = common::engine_lock();
    let piper = Piper::load(&common::models(), 2).expect("the Piper voice loads");
    let en = Language::load("en").unwrap();
    let answered = |name: &str, value: &str| {
        let mut f = FieldValue::missing(name, "?", "text");
        f.value = Some(value.into());
        f.status = FieldStatus::Answered;
        f
    };
    let fields = [
        answered(
            "reason_for_the_call",
            "the internet connection drops every evening around seven o'clock",
        ),
        answered(
            "preferred_callback_time",
            "tomorrow between two and four in the afternoon please",
        ),
    ];
    let long = "this is absolutely ridiculous I have called you five times this week about the same                 problem and nobody has ever called me back so I want to cancel everything today";
    for caller in [None, Some("+15550123442")] {
        let summary = contextual_summary(
            &en.prompts,
            &Brief {
                caller,
                topic_text: "Contract cancellation request from an unhappy long-time customer",
                evidence: long,
                earlier: Some(long),
                fields: &fields,
                transcript: long,
            },
        )
        .unwrap();
        let speech = piper.synthesize(&summary).unwrap();
        let seconds = speech.samples.len() as f64 / f64::from(speech.rate);
        eprintln!("{seconds:.1} s: {summary}");
        assert!(seconds < 10.0, "{seconds:.1} s: {summary}");
    }
}

#[test]
fn espeak_renders_a_prompt() {
    let speech = Espeak::new("en-us")
        .synthesize("-Hello, thank you for calling.")
        .expect("espeak-ng renders");
    assert!(speech.samples.len() as f64 / speech.rate as f64 > 1.0);
    assert!(speech.samples.iter().any(|s| s.abs() > 0.05));
}

/// A small OpenAI-compatible speech server on loopback: checks the request like the real API would and
/// answers with a WAV (espeak-ng's rendering of the input), or with the error it was told to give.
async fn speech_server(fail: Option<u16>) -> (String, tokio::task::JoinHandle<()>) {
    use axum::http::{HeaderMap, StatusCode};
    use axum::routing::post;
    use axum::Json;
    let app = axum::Router::new().route(
        "/v1/audio/speech",
        post(
            move |headers: HeaderMap, Json(body): Json<serde_json::Value>| async move {
                if let Some(code) = fail {
                    let status = StatusCode::from_u16(code).unwrap();
                    return (
                        status,
                        br#"{"error":{"message":"quota exceeded"}}"#.to_vec(),
                    );
                }
                let authorised = headers.get("authorization").and_then(|v| v.to_str().ok())
                    == Some("Bearer sk-test");
                if !authorised {
                    return (StatusCode::UNAUTHORIZED, b"no key".to_vec());
                }
                assert_eq!(body["model"], "tts-1");
                assert_eq!(body["voice"], "alloy");
                assert_eq!(body["response_format"], "wav");
                let text = body["input"].as_str().unwrap_or_default().to_string();
                if text == "not audio" {
                    return (StatusCode::OK, b"<html>hello</html>".to_vec());
                }
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().join("s.wav");
                let ok = std::process::Command::new("espeak-ng")
                    .args(["-v", "en-us", "-w"])
                    .arg(&path)
                    .arg(&text)
                    .status()
                    .unwrap()
                    .success();
                assert!(ok);
                (StatusCode::OK, std::fs::read(&path).unwrap())
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (url, task)
}

fn http_voice(url: &str, key: Option<&str>) -> switchboard::speech::http::HttpSpeech {
    switchboard::speech::http::HttpSpeech::new(switchboard::config::HttpVoice {
        url: url.to_string(),
        model: "tts-1".into(),
        voice: "alloy".into(),
        api_key: key.map(String::from),
        timeout_ms: 5_000,
    })
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_openai_compatible_voice_speaks_over_http() {
    let (url, _server) = speech_server(None).await;
    let voice = http_voice(&url, Some("sk-test"));
    let speech = tokio::task::spawn_blocking(move || voice.synthesize("Thank you for calling."))
        .await
        .unwrap()
        .expect("the server's WAV is decoded");
    assert_eq!(speech.rate, 22_050);
    assert!(speech.samples.len() as f64 / 22_050.0 > 0.8);
    assert!(speech.samples.iter().any(|s| s.abs() > 0.05));

    // What goes wrong is said plainly.
    let voice = http_voice(&url, None);
    let err = tokio::task::spawn_blocking(move || voice.synthesize("hi"))
        .await
        .unwrap()
        .unwrap_err()
        .to_string();
    assert!(err.contains("401"), "{err}");
    let voice = http_voice(&url, Some("sk-test"));
    let err = tokio::task::spawn_blocking(move || voice.synthesize("not audio"))
        .await
        .unwrap()
        .unwrap_err()
        .to_string();
    assert!(err.contains("did not send a WAV"), "{err}");
    let (failing, _s) = speech_server(Some(429)).await;
    let voice = http_voice(&failing, Some("sk-test"));
    let err = tokio::task::spawn_blocking(move || voice.synthesize("hi"))
        .await
        .unwrap()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("429") && err.contains("quota exceeded"),
        "{err}"
    );
    // Nobody listening.
    let voice = http_voice("http://127.0.0.1:9", Some("sk-test"));
    let err = tokio::task::spawn_blocking(move || voice.synthesize("hi"))
        .await
        .unwrap()
        .unwrap_err()
        .to_string();
    assert!(err.contains("cannot run http"), "{err}");
}
