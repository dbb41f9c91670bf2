//! Labelled evaluation data: JSON lines `{"id", "text" | "audio", "expect": [topic ids]}`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error("cannot read dataset {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {reason}")]
    Line {
        path: String,
        line: usize,
        reason: String,
    },
    #[error("dataset {0} has no lines")]
    Empty(String),
}

/// What a line gives the matcher.
#[derive(Debug, Clone, PartialEq)]
pub enum SampleInput {
    /// A transcript: scored as one utterance.
    Text(String),
    /// A recording: run through the whole listening pipeline (resolved against the dataset's folder).
    Audio(PathBuf),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// 1-based line number in the dataset file.
    pub line: usize,
    pub id: String,
    pub input: SampleInput,
    /// Topics that must fire; empty means none may.
    pub expect: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLine {
    id: Option<String>,
    text: Option<String>,
    audio: Option<String>,
    expect: Vec<String>,
}

/// Reads and checks a dataset: every line valid JSON of the right shape, `expect` naming only `topics`,
/// audio files present, ids unique. The first bad line is the error.
pub fn load(path: &Path, topics: &[String]) -> Result<Vec<Sample>, DatasetError> {
    let shown = path.display().to_string();
    let content = std::fs::read_to_string(path).map_err(|source| DatasetError::Read {
        path: shown.clone(),
        source,
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    let mut ids = HashSet::new();
    let mut samples = Vec::new();
    for (i, raw) in content.lines().enumerate() {
        let line = i + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let bad = |reason: String| DatasetError::Line {
            path: shown.clone(),
            line,
            reason,
        };
        let parsed: RawLine =
            serde_json::from_str(raw).map_err(|e| bad(format!("invalid line: {e}")))?;
        let input = match (parsed.text, parsed.audio) {
            (Some(text), None) => SampleInput::Text(text),
            (None, Some(audio)) => {
                let file = base.join(&audio);
                if !file.is_file() {
                    return Err(bad(format!("audio file {} not found", file.display())));
                }
                SampleInput::Audio(file)
            }
            (Some(_), Some(_)) => return Err(bad("a line has `text` or `audio`, not both".into())),
            (None, None) => return Err(bad("a line needs `text` or `audio`".into())),
        };
        if let Some(unknown) = parsed.expect.iter().find(|t| !topics.contains(t)) {
            return Err(bad(format!(
                "unknown topic {unknown:?} in expect (the config has: {})",
                topics.join(", ")
            )));
        }
        let id = parsed.id.unwrap_or_else(|| format!("line-{line}"));
        if !ids.insert(id.clone()) {
            return Err(bad(format!("duplicate id {id:?}")));
        }
        samples.push(Sample {
            line,
            id,
            input,
            expect: parsed.expect,
        });
    }
    if samples.is_empty() {
        return Err(DatasetError::Empty(shown));
    }
    Ok(samples)
}
