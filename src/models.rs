//! Where the models live and how they get there.
//!
//! The manifest and the fetch/convert scripts are compiled into the binary, so `switchboard models fetch`
//! works from any directory on a fresh machine: it writes them next to the models and runs them. The binary
//! never downloads anything itself at run time; a missing model is an error that names the fetch command.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The files of `models/`, compiled in.
const MANIFEST: &str = include_str!("../models/manifest.toml");
const FETCH_SH: &str = include_str!("../models/fetch.sh");
const FETCH_PY: &str = include_str!("../models/fetch.py");
const CONVERT_PY: &str = include_str!("../models/convert.py");

/// File names in the models directory (must match `models/manifest.toml`).
pub const WHISPER_TINY_EN: &str = "ggml-tiny.en.bin";
pub const SILERO_VAD: &str = "silero_vad.onnx";
pub const ONNXRUNTIME: &str = "libonnxruntime.so.1.31.1";
pub const MINILM: &str = "all-MiniLM-L6-v2.onnx";
pub const MINILM_TOKENIZER: &str = "all-MiniLM-L6-v2.tokenizer.json";
pub const PIPER_VOICE: &str = "en_US-joe-medium.onnx";
pub const PIPER_VOICE_CONFIG: &str = "en_US-joe-medium.onnx.json";

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error(
        "model file {file} is missing from {dir}: run `switchboard models fetch` (or `bash models/fetch.sh`) \
         to fetch and verify it{hint}"
    )]
    Missing {
        file: String,
        dir: String,
        hint: String,
    },
    #[error("the models fetch failed (exit status {0}); its messages above say why")]
    FetchFailed(i32),
    #[error("cannot run the models fetch: {0}")]
    Spawn(std::io::Error),
    #[error("the compiled-in models/manifest.toml is invalid: {0}")]
    Manifest(String),
    #[error("cannot write the fetch tools to {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

/// The directory the binary loads models from.
#[derive(Debug, Clone)]
pub struct ModelDir(PathBuf);

impl ModelDir {
    /// An explicit directory (from `--models` or tests).
    pub fn at(path: impl Into<PathBuf>) -> Self {
        Self(path.into())
    }

    /// `$SWITCHBOARD_MODELS`, else `./models`, else the `models/` of the source tree this binary was built from.
    pub fn locate() -> Self {
        if let Some(dir) = std::env::var_os("SWITCHBOARD_MODELS") {
            return Self(PathBuf::from(dir));
        }
        let local = PathBuf::from("models");
        if local.join("manifest.toml").is_file() || local.join(WHISPER_TINY_EN).is_file() {
            return Self(local);
        }
        Self(Path::new(env!("CARGO_MANIFEST_DIR")).join("models"))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// The path of one model file, or an error that says how to fetch it.
    pub fn file(&self, name: &str) -> Result<PathBuf, ModelError> {
        let p = self.0.join(name);
        if p.is_file() {
            Ok(p)
        } else {
            let hint = if std::env::var_os("SWITCHBOARD_MODELS").is_some() {
                String::new()
            } else {
                " into this directory (or set SWITCHBOARD_MODELS)".to_string()
            };
            Err(ModelError::Missing {
                file: name.to_string(),
                dir: self.0.display().to_string(),
                hint,
            })
        }
    }

    /// Fetches, converts and verifies every model into this directory (idempotent).
    pub fn fetch(&self) -> Result<(), ModelError> {
        let tools = self.0.join(".tools");
        std::fs::create_dir_all(&tools).map_err(|source| ModelError::Write {
            path: tools.display().to_string(),
            source,
        })?;
        for (name, text) in [
            ("manifest.toml", MANIFEST),
            ("fetch.sh", FETCH_SH),
            ("fetch.py", FETCH_PY),
            ("convert.py", CONVERT_PY),
        ] {
            let p = tools.join(name);
            std::fs::write(&p, text).map_err(|source| ModelError::Write {
                path: p.display().to_string(),
                source,
            })?;
        }
        let status = Command::new("bash")
            .arg(tools.join("fetch.sh"))
            .arg(&self.0)
            .status()
            .map_err(ModelError::Spawn)?;
        if status.success() {
            Ok(())
        } else {
            Err(ModelError::FetchFailed(status.code().unwrap_or(-1)))
        }
    }
}

/// One row of `switchboard models list`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ModelStatus {
    pub name: String,
    pub file: String,
    pub present: bool,
    pub size_ok: bool,
}

#[derive(serde::Deserialize)]
struct Manifest {
    model: Vec<ManifestModel>,
}

#[derive(serde::Deserialize)]
struct ManifestModel {
    name: String,
    file: String,
    size: u64,
}

fn manifest() -> Result<Manifest, ModelError> {
    toml::from_str(MANIFEST).map_err(|e| ModelError::Manifest(e.to_string()))
}

/// What the manifest lists and whether each file is in place (size check; `models fetch` checks sha256).
pub fn status(dir: &ModelDir) -> Result<Vec<ModelStatus>, ModelError> {
    Ok(manifest()?
        .model
        .into_iter()
        .map(|m| {
            let meta = std::fs::metadata(dir.path().join(&m.file)).ok();
            ModelStatus {
                present: meta.is_some(),
                size_ok: meta.is_some_and(|md| md.len() == m.size),
                name: m.name,
                file: m.file,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_manifest_lists_exactly_the_files_the_binary_loads() {
        let mut files: Vec<String> = super::manifest()
            .expect("manifest parses")
            .model
            .into_iter()
            .map(|m| m.file)
            .collect();
        files.sort();
        let mut loaded = [
            super::WHISPER_TINY_EN,
            super::SILERO_VAD,
            super::ONNXRUNTIME,
            super::MINILM,
            super::MINILM_TOKENIZER,
            super::PIPER_VOICE,
            super::PIPER_VOICE_CONFIG,
        ];
        loaded.sort();
        assert_eq!(files, loaded);
    }
}
