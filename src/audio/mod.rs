//! Audio in: G.711, WAV, resampling to 16 kHz, voice activity and utterance segmentation.
//! `g711`, `resample` and `segmenter` are pure; `wav` reads files; `vad` runs a model.

pub mod g711;
pub mod resample;
pub mod segmenter;
pub mod vad;
pub mod wav;
