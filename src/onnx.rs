//! The one ONNX Runtime of the process, loaded from `models/` (load-dynamic: nothing is downloaded).
//!
//! ort errors from session builders are not `Send`, so this module turns them into [`OnnxError`] strings at
//! the boundary; engines built on sessions (VAD, embedder) stay free to move between threads.

use std::path::Path;
use std::sync::OnceLock;

use ort::session::{builder::GraphOptimizationLevel, Session};

use crate::models::{ModelDir, ModelError, ONNXRUNTIME};

#[derive(Debug, thiserror::Error)]
pub enum OnnxError {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("cannot load ONNX Runtime from {path}: {reason}")]
    Runtime { path: String, reason: String },
    #[error("cannot load the ONNX model {path}: {reason}")]
    Session { path: String, reason: String },
    #[error("inference failed: {0}")]
    Run(String),
}

static ENVIRONMENT: OnceLock<Result<ort::environment::Environment, String>> = OnceLock::new();

/// The process-wide ONNX Runtime environment, initialised on first use from `models/`.
pub fn environment(models: &ModelDir) -> Result<ort::environment::Environment, OnnxError> {
    let lib = models.file(ONNXRUNTIME)?;
    let env = ENVIRONMENT.get_or_init(|| {
        ort::init_from(&lib)
            .map_err(|e| e.to_string())?
            .with_name("switchboard")
            .build()
            .map_err(|e| e.to_string())
    });
    env.clone().map_err(|reason| OnnxError::Runtime {
        path: lib.display().to_string(),
        reason,
    })
}

/// Opens one model as a session with a fixed thread count (the pipeline runs one session per call, so
/// intra-op parallelism beyond a couple of threads only fights the other calls).
pub fn session(models: &ModelDir, path: &Path, threads: usize) -> Result<Session, OnnxError> {
    let env = environment(models)?;
    build_session(&env, path, threads).map_err(|e| OnnxError::Session {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

fn build_session(
    env: &ort::environment::Environment,
    path: &Path,
    threads: usize,
) -> ort::Result<Session> {
    Session::builder(env)?
        .with_optimization_level(GraphOptimizationLevel::Level3)?
        .with_intra_threads(threads)?
        .with_inter_threads(1)?
        .commit_from_file(path)
}
