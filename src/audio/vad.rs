//! Silero VAD v6 through ONNX Runtime: one speech probability per 32 ms frame of 16 kHz audio.
//!
//! The model is recurrent: it carries a `[2, 1, 128]` state and wants the last 64 samples of the previous
//! frame as context, so one [`SileroVad`] belongs to one call and sees its frames in order.

use ort::session::Session;
use ort::value::TensorRef;

use crate::models::{ModelDir, SILERO_VAD};
use crate::onnx::{self, OnnxError};

/// Samples per VAD frame at 16 kHz (32 ms).
pub const FRAME: usize = 512;
const CONTEXT: usize = 64;
const STATE: usize = 2 * 128;
const SAMPLE_RATE: [i64; 1] = [16_000];

/// A per-call Silero VAD.
pub struct SileroVad {
    session: Session,
    state: Vec<f32>,
    context: [f32; CONTEXT],
    input: Vec<f32>,
}

impl SileroVad {
    pub fn load(models: &ModelDir) -> Result<Self, OnnxError> {
        let path = models.file(SILERO_VAD)?;
        Ok(Self {
            session: onnx::session(models, &path, 1)?,
            state: vec![0.0; STATE],
            context: [0.0; CONTEXT],
            input: Vec::with_capacity(CONTEXT + FRAME),
        })
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
        let outputs = self
            .session
            .run(ort::inputs!["input" => input, "state" => state, "sr" => sr])
            .map_err(run)?;
        let (_, prob) = outputs["output"].try_extract_tensor::<f32>().map_err(run)?;
        let p = prob.first().copied().unwrap_or(0.0);
        let (_, next) = outputs["stateN"].try_extract_tensor::<f32>().map_err(run)?;
        self.state.copy_from_slice(&next[..STATE]);
        self.context.copy_from_slice(&frame[FRAME - CONTEXT..]);
        Ok(p)
    }
}
