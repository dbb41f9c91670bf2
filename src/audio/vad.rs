//! Silero VAD v6 through ONNX Runtime: one speech probability per 32 ms frame of 16 kHz audio.
//!
//! The model is recurrent: it carries a `[2, 1, 128]` state and wants the last 64 samples of the previous
//! frame as context, so one [`SileroVad`] belongs to one call and sees its frames in order. The state is the
//! call's; the ONNX session is not: a live server shares a few sessions ([`VadSessions`]) among all its calls,
//! because a session per call costs megabytes and a frame takes a fraction of a millisecond.

use std::sync::{Arc, Mutex};

use ort::session::Session;
use ort::value::TensorRef;

use crate::models::{ModelDir, SILERO_VAD};
use crate::onnx::{self, OnnxError};

/// Samples per VAD frame at 16 kHz (32 ms).
pub const FRAME: usize = 512;
const CONTEXT: usize = 64;
const STATE: usize = 2 * 128;
const SAMPLE_RATE: [i64; 1] = [16_000];

/// Silero sessions shared by calls; a frame runs on whichever is free.
pub struct VadSessions {
    sessions: Vec<Mutex<Session>>,
}

impl VadSessions {
    /// `count` sessions of one thread each.
    pub fn load(models: &ModelDir, count: usize) -> Result<Arc<Self>, OnnxError> {
        let path = models.file(SILERO_VAD)?;
        let sessions = (0..count.max(1))
            .map(|_| onnx::session(models, &path, 1).map(Mutex::new))
            .collect::<Result<_, _>>()?;
        Ok(Arc::new(Self { sessions }))
    }

    /// Runs `f` on a free session (or waits for the first one).
    fn with<T>(&self, f: impl FnOnce(&mut Session) -> T) -> T {
        for s in &self.sessions {
            if let Ok(mut session) = s.try_lock() {
                return f(&mut session);
            }
        }
        let mut session = self.sessions[0].lock().unwrap_or_else(|p| p.into_inner());
        f(&mut session)
    }
}

/// A per-call Silero VAD.
pub struct SileroVad {
    sessions: Arc<VadSessions>,
    state: Vec<f32>,
    context: [f32; CONTEXT],
    input: Vec<f32>,
}

impl SileroVad {
    /// A VAD with a session of its own (replay, eval).
    pub fn load(models: &ModelDir) -> Result<Self, OnnxError> {
        Ok(Self::shared(VadSessions::load(models, 1)?))
    }

    /// A VAD for one call that runs on shared sessions.
    pub fn shared(sessions: Arc<VadSessions>) -> Self {
        Self {
            sessions,
            state: vec![0.0; STATE],
            context: [0.0; CONTEXT],
            input: Vec::with_capacity(CONTEXT + FRAME),
        }
    }

    /// Forgets everything heard so far (a new call).
    pub fn reset(&mut self) {
        self.state.iter_mut().for_each(|s| *s = 0.0);
        self.context = [0.0; CONTEXT];
    }

    /// The probability that `frame` (exactly [`FRAME`] samples at 16 kHz) is speech.
    pub fn speech_probability(&mut self, frame: &[f32]) -> Result<f32, OnnxError> {
        debug_assert_eq!(frame.len(), FRAME);
        self.input.clear();
        self.input.extend_from_slice(&self.context);
        self.input.extend_from_slice(frame);
        let run = |e: ort::Error| OnnxError::Run(e.to_string());
        // Views, not copies: this runs every 32 ms of every call.
        let input = TensorRef::from_array_view(([1usize, CONTEXT + FRAME], &self.input[..]))
            .map_err(run)?;
        let state = TensorRef::from_array_view(([2usize, 1, 128], &self.state[..])).map_err(run)?;
        let sr = TensorRef::from_array_view(((), &SAMPLE_RATE[..])).map_err(run)?;
        let mut next = [0.0f32; STATE];
        let p = self.sessions.with(|session| -> Result<f32, OnnxError> {
            let outputs = session
                .run(ort::inputs!["input" => input, "state" => state, "sr" => sr])
                .map_err(run)?;
            let (_, prob) = outputs["output"].try_extract_tensor::<f32>().map_err(run)?;
            let (_, state) = outputs["stateN"].try_extract_tensor::<f32>().map_err(run)?;
            next.copy_from_slice(&state[..STATE]);
            Ok(prob.first().copied().unwrap_or(0.0))
        })?;
        self.state.copy_from_slice(&next);
        self.context.copy_from_slice(&frame[FRAME - CONTEXT..]);
        Ok(p)
    }
}
