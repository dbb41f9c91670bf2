//! One JSON Lines file per live call in `[server] events_dir`: the same lines `replay --json` prints, written
//! as they happen, so a live call can be read (and diffed against its replay) while it is still going on.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::events::EventLine;

/// A call's event file.
pub struct CallLog {
    path: PathBuf,
    out: Option<BufWriter<File>>,
}

/// A file name from a provider's call id, which is network input: only `[A-Za-z0-9._-]`, no leading dot.
pub fn file_name(call_id: &str) -> String {
    let mut name: String = call_id
        .chars()
        .take(100)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.is_empty() || name.starts_with('.') {
        name.insert(0, '_');
    }
    format!("{name}.jsonl")
}

impl CallLog {
    /// Opens (appending: a provider may reconnect a call's stream) `<dir>/<call id>.jsonl`. A file that
    /// cannot be opened is reported and the call goes on without it.
    pub fn open(dir: &Path, call_id: &str) -> Self {
        let path = dir.join(file_name(call_id));
        let out = match OpenOptions::new().create(true).append(true).open(&path) {
            Ok(f) => Some(BufWriter::new(f)),
            Err(e) => {
                tracing::error!(path = %path.display(), error = %e, "cannot write the call's events");
                None
            }
        };
        Self { path, out }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one line and flushes it, so a crash loses at most the line being written.
    pub fn write(&mut self, line: &EventLine) {
        let Some(out) = self.out.as_mut() else {
            return;
        };
        let written = serde_json::to_writer(&mut *out, line)
            .map_err(std::io::Error::other)
            .and_then(|()| out.write_all(b"\n"))
            .and_then(|()| out.flush());
        if let Err(e) = written {
            tracing::error!(path = %self.path.display(), error = %e, "cannot write the call's events");
            self.out = None;
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn call_ids_cannot_escape_the_events_directory() {
        assert_eq!(super::file_name("CA123"), "CA123.jsonl");
        assert_eq!(
            super::file_name("../../etc/passwd"),
            "_.._.._etc_passwd.jsonl"
        );
        assert_eq!(super::file_name(""), "_.jsonl");
        assert_eq!(super::file_name(".hidden"), "_.hidden.jsonl");
    }
}
