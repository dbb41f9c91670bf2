//! `switchboard eval` end to end: known counts on a hand-made dataset, JSON shape, sweeps and plots,
//! audio lines through the whole pipeline, bad dataset lines, and Ctrl-C.
#![allow(clippy::await_holding_lock)]

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

fn write(dir: &Path, name: &str, content: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    p
}

fn config(dir: &Path) -> PathBuf {
    write(dir, "agent.toml", &common::agent_toml("escalate"))
}

/// Lines whose outcome is not in doubt, two of them mislabelled on purpose: one miss, one false alarm.
const DATASET: &str = r#"{"id": "c1", "text": "I want to cancel my contract", "expect": ["cancellation"]}
{"id": "c2", "text": "please close my account, I am moving abroad", "expect": ["cancellation"]}
{"id": "c3", "text": "what time do you open on Saturday", "expect": ["cancellation"]}
{"id": "m1", "text": "this is the worst service I have ever had", "expect": ["complaint"]}
{"id": "n1", "text": "where is my order", "expect": []}
{"id": "n2", "text": "I'd like to terminate my subscription today", "expect": []}

{"id": "n3", "text": "I need to update my email address", "expect": []}
"#;

/// `switchboard eval --config CFG --dataset DATA`, more arguments to add.
fn eval(cfg: &Path, data: impl AsRef<std::ffi::OsStr>) -> std::process::Command {
    let mut c = common::bin();
    c.arg("eval")
        .arg("--config")
        .arg(cfg)
        .arg("--dataset")
        .arg(data);
    c
}

fn eval_json(args: &[&str]) -> (Value, std::process::Output) {
    let out = common::bin().arg("eval").args(args).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "eval did not print JSON ({e}): {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (value, out)
}

#[test]
fn counts_on_a_hand_made_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let data = write(dir.path(), "lines.jsonl", DATASET);
    let (r, out) = eval_json(&[
        "--config",
        cfg.to_str().unwrap(),
        "--dataset",
        data.to_str().unwrap(),
        "--json",
    ]);
    assert!(out.status.success(), "{out:?}");
    let c = &r["topics"]["cancellation"];
    assert_eq!(
        (c["tp"].as_u64(), c["fp"].as_u64(), c["fn"].as_u64()),
        (Some(2), Some(1), Some(1)),
        "{r}"
    );
    assert!((c["precision"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-9);
    assert!((c["recall"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-9);
    let m = &r["topics"]["complaint"];
    assert_eq!(
        (m["tp"].as_u64(), m["fp"].as_u64(), m["fn"].as_u64()),
        (Some(1), Some(0), Some(0)),
        "{r}"
    );
    assert!((r["macro_f1"].as_f64().unwrap() - (2.0 / 3.0 + 1.0) / 2.0).abs() < 1e-9);
    assert!((r["false_alarm_rate"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-9);
    assert_eq!(r["n"].as_u64(), Some(7));
    assert_eq!(r["worst_misses"][0]["id"], "c3");
    assert_eq!(r["worst_false_alarms"][0]["id"], "n2");

    // The text report says the same, and shows why with the evidence.
    let out = eval(&cfg, &data).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("macro-F1 0.833"), "{text}");
    assert!(text.contains("what time do you open on Saturday"), "{text}");
}

#[test]
fn sweep_prints_curves_and_draws_them() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let data = write(dir.path(), "lines.jsonl", DATASET);
    let svg = dir.path().join("curves.svg");
    let png = dir.path().join("curves.png");
    let (r, out) = eval_json(&[
        "--config",
        cfg.to_str().unwrap(),
        "--dataset",
        data.to_str().unwrap(),
        "--json",
        "--sweep",
        "--plot",
        svg.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{out:?}");
    let curve = r["sweep"]["cancellation"]["curve"].as_array().unwrap();
    assert_eq!(curve.len(), 99);
    assert!(r["sweep"]["cancellation"]["best_f1"]["threshold"]
        .as_f64()
        .is_some());
    let drawn = std::fs::read_to_string(&svg).unwrap();
    assert!(
        drawn.starts_with("<svg") && drawn.contains("cancellation"),
        "SVG with labels"
    );

    let out = eval(&cfg, &data).arg("--plot").arg(&png).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("best F1") && text.contains("false alarms <= 1.0%"),
        "{text}"
    );
    assert_eq!(&std::fs::read(&png).unwrap()[..8], b"\x89PNG\r\n\x1a\n");

    let out = eval(&cfg, &data)
        .args(["--plot", "x.gif"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains(".png or .svg"));
}

#[test]
fn bad_dataset_lines_are_errors_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let good = r#"{"id": "a", "text": "where is my order", "expect": []}"#;
    for (name, bad, message) in [
        ("json", "{\"id\": \"b\", \"text\": ", "invalid line"),
        (
            "topic",
            r#"{"id": "b", "text": "hi", "expect": ["refunds"]}"#,
            "unknown topic \"refunds\"",
        ),
        (
            "audio",
            r#"{"id": "b", "audio": "nowhere.wav", "expect": []}"#,
            "nowhere.wav not found",
        ),
        (
            "both",
            r#"{"id": "b", "text": "hi", "audio": "x.wav", "expect": []}"#,
            "not both",
        ),
        (
            "neither",
            r#"{"id": "b", "expect": []}"#,
            "needs `text` or `audio`",
        ),
        (
            "expect",
            r#"{"id": "b", "text": "hi"}"#,
            "missing field `expect`",
        ),
        (
            "duplicate",
            r#"{"id": "a", "text": "hi", "expect": []}"#,
            "duplicate id",
        ),
    ] {
        let data = write(
            dir.path(),
            &format!("{name}.jsonl"),
            &format!("{good}\n{bad}\n"),
        );
        let out = eval(&cfg, &data).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{name}: {err}");
        assert!(
            err.contains(&format!("{name}.jsonl:2:")),
            "{name}: names the line: {err}"
        );
        assert!(err.contains(message), "{name}: {err}");
    }
    let out = eval(&cfg, "/nonexistent/lines.jsonl").output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read dataset"));
}

#[test]
fn audio_lines_go_through_the_pipeline_and_report_when_the_topic_fired() {
    let _engines = common::engine_lock();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    common::write_call(
        dir.path(),
        "cancel",
        &["Hello.", "I want to cancel my contract."],
    );
    common::write_call(dir.path(), "order", &["Hi, where is my order?"]);
    let data = write(
        dir.path(),
        "calls.jsonl",
        "{\"id\": \"cancel\", \"audio\": \"cancel.wav\", \"expect\": [\"cancellation\"]}\n\
         {\"id\": \"order\", \"audio\": \"order.wav\", \"expect\": []}\n",
    );
    let (r, out) = eval_json(&[
        "--config",
        cfg.to_str().unwrap(),
        "--dataset",
        data.to_str().unwrap(),
        "--json",
    ]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(r["topics"]["cancellation"]["tp"].as_u64(), Some(1), "{r}");
    assert_eq!(r["false_alarm_rate"].as_f64(), Some(0.0), "{r}");
    let delay = &r["detection_delay"];
    assert_eq!(delay["count"].as_u64(), Some(1), "{r}");
    // At least the segmenter's silence wait (500 ms), and well under the length of a sentence more.
    let median = delay["median_ms"].as_u64().unwrap();
    assert!((500..5_000).contains(&median), "{r}");
    assert!(r["scoring"]["utterances"].as_u64().unwrap() >= 3, "{r}");
}

#[test]
fn ctrl_c_reports_what_was_scored_so_far() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let mut lines = String::new();
    for i in 0..30_000 {
        lines.push_str(&format!(
            "{{\"id\": \"l{i}\", \"text\": \"line {i}: I would like to know where my order number {i} is\", \"expect\": []}}\n"
        ));
    }
    let data = write(dir.path(), "long.jsonl", &lines);
    let mut child = eval(&cfg, &data)
        .arg("--json")
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Interrupt once scoring is under way (the models load first, at a speed that depends on the machine).
    let stderr = child.stderr.take().unwrap();
    let (started_tx, started) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if line.contains("scoring started") {
                let _ = started_tx.send(());
            }
        }
    });
    started
        .recv_timeout(Duration::from_secs(120))
        .expect("eval starts scoring");
    std::thread::sleep(Duration::from_secs(2));
    let kill = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    let r: Value = serde_json::from_slice(&out.stdout).expect("a report is printed");
    assert_eq!(r["interrupted"], true);
    let n = r["n"].as_u64().unwrap();
    assert!(n > 0 && n < 30_000, "{r}");
    assert_eq!(r["lines"].as_u64(), Some(30_000));
}

/// The targets of the matcher on the held-out Bitext lines (../shared), with the topic examples and with
/// topic texts alone. Accuracy, not speed: these numbers do not depend on the machine.
#[test]
fn bitext_dev_meets_the_accuracy_targets() {
    let topics = common::shared().join("data/topics");
    let dev = topics.join("bitext-dev.jsonl");
    let with_examples = topics.join("agent-eval.toml");
    let (r, out) = eval_json(&[
        "--config",
        with_examples.to_str().unwrap(),
        "--dataset",
        dev.to_str().unwrap(),
        "--json",
    ]);
    assert!(out.status.success(), "{out:?}");
    assert!(r["macro_f1"].as_f64().unwrap() >= 0.92, "{r}");
    assert!(r["false_alarm_rate"].as_f64().unwrap() <= 0.01, "{r}");

    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(&with_examples).unwrap();
    let bare: String = text
        .split(", examples = [")
        .enumerate()
        .map(|(i, part)| {
            if i == 0 {
                part
            } else {
                part.split_once(']').map_or(part, |(_, rest)| rest)
            }
        })
        .collect();
    assert!(!bare.contains("examples = ["), "{bare}");
    let text_only = write(dir.path(), "text-only.toml", &bare);
    let (r, out) = eval_json(&[
        "--config",
        text_only.to_str().unwrap(),
        "--dataset",
        dev.to_str().unwrap(),
        "--json",
    ]);
    assert!(out.status.success(), "{out:?}");
    assert!(r["macro_f1"].as_f64().unwrap() >= 0.85, "{r}");
}
