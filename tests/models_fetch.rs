//! `switchboard models fetch` is idempotent and refuses files whose hash differs from the manifest.

mod common;

use std::path::Path;

#[test]
fn fetching_again_verifies_and_downloads_nothing() {
    let models = common::models();
    let out = common::bin().args(["models", "fetch"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        text.lines().filter(|l| l.starts_with("ok ")).count(),
        7,
        "{text}"
    );
    assert!(!text.contains("downloading"), "{text}");
    let list = common::bin()
        .args(["models", "list", "--json"])
        .output()
        .unwrap();
    assert!(list.status.success());
    let rows: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert!(
        rows.as_array()
            .unwrap()
            .iter()
            .all(|r| r["size_ok"] == true),
        "{rows}"
    );
    drop(models);
}

#[test]
fn a_source_with_the_wrong_hash_is_refused_with_an_explanation() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    common::models();
    let dir = tempfile::tempdir().unwrap();
    let manifest = std::fs::read_to_string(root.join("models/manifest.toml")).unwrap();
    let real = "1a153a22f4509e292a94e67d6f9b85e8deb25b4988682b7e174c65279d8788e3";
    let tampered = manifest.replacen(real, &"0".repeat(64), 1);
    assert_ne!(manifest, tampered);
    let path = dir.path().join("manifest.toml");
    std::fs::write(&path, tampered).unwrap();
    let out = std::process::Command::new(root.join("models/.venv/bin/python"))
        .arg(root.join("models/fetch.py"))
        .arg("--manifest")
        .arg(&path)
        .arg("--dest")
        .arg(dir.path().join("out"))
        .arg("--cache")
        .arg(root.join("models/.cache"))
        .args(["--only", "silero-vad"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("refusing to use it") && err.contains(real),
        "{err}"
    );
    assert!(!dir.path().join("out/silero_vad.onnx").exists());
}
