//! Streaming conversion of any input rate to the 16 kHz that the VAD and whisper expect (rubato, FFT
//! resampler). Fed in whatever pieces the source delivers (20 ms phone frames, whole files); output is
//! aligned to input time: the resampler's own delay is trimmed so sample `n` of the output is time `n / 16000`.

use rubato::{FftFixedIn, Resampler as _};

/// The rate the speech engines run at.
pub const TARGET_RATE: u32 = 16_000;

#[derive(Debug, thiserror::Error)]
pub enum ResampleError {
    #[error("cannot resample from {rate} Hz: {reason}")]
    Construction { rate: u32, reason: String },
    #[error("resampling failed: {0}")]
    Process(String),
}

/// A stateful mono resampler: to [`TARGET_RATE`] for the speech engines, or between any two rates (e.g. down
/// to 8 kHz to simulate a phone line).
pub struct StreamResampler {
    engine: Option<FftFixedIn<f32>>,
    input_rate: u32,
    output_rate: u32,
    chunk: usize,
    pending: Vec<f32>,
    out_buf: Vec<Vec<f32>>,
    delay_left: usize,
    consumed: u64,
    produced: u64,
}

impl StreamResampler {
    /// A resampler from `input_rate` to the speech engines' 16 kHz.
    pub fn to_speech_rate(input_rate: u32) -> Result<Self, ResampleError> {
        Self::new(input_rate, TARGET_RATE)
    }

    /// A resampler from `input_rate` to `output_rate`.
    pub fn new(input_rate: u32, output_rate: u32) -> Result<Self, ResampleError> {
        if input_rate == 0 || output_rate == 0 {
            return Err(ResampleError::Construction {
                rate: input_rate,
                reason: "sample rates must be positive".into(),
            });
        }
        let chunk = (input_rate as usize / 50).max(1);
        let engine = if input_rate == output_rate {
            None
        } else {
            Some(
                FftFixedIn::<f32>::new(input_rate as usize, output_rate as usize, chunk, 1, 1)
                    .map_err(|e| ResampleError::Construction {
                        rate: input_rate,
                        reason: e.to_string(),
                    })?,
            )
        };
        let (out_buf, delay_left) = match &engine {
            Some(e) => (vec![vec![0.0; e.output_frames_max()]], e.output_delay()),
            None => (Vec::new(), 0),
        };
        Ok(Self {
            engine,
            input_rate,
            output_rate,
            chunk,
            pending: Vec::with_capacity(chunk * 2),
            out_buf,
            delay_left,
            consumed: 0,
            produced: 0,
        })
    }

    /// Feeds samples; appends whatever output is ready to `out`.
    pub fn push(&mut self, input: &[f32], out: &mut Vec<f32>) -> Result<(), ResampleError> {
        self.consumed += input.len() as u64;
        let Some(engine) = self.engine.as_mut() else {
            out.extend_from_slice(input);
            self.produced += input.len() as u64;
            return Ok(());
        };
        self.pending.extend_from_slice(input);
        let mut start = 0;
        while self.pending.len() - start >= self.chunk {
            let frame = [&self.pending[start..start + self.chunk]];
            let (_, written) = engine
                .process_into_buffer(&frame, &mut self.out_buf, None)
                .map_err(|e| ResampleError::Process(e.to_string()))?;
            start += self.chunk;
            Self::emit(
                &self.out_buf[0][..written],
                &mut self.delay_left,
                &mut self.produced,
                out,
            );
        }
        self.pending.drain(..start);
        Ok(())
    }

    /// Flushes the tail at the end of the stream so the output covers exactly the input's duration.
    pub fn finish(&mut self, out: &mut Vec<f32>) -> Result<(), ResampleError> {
        if self.engine.is_none() {
            return Ok(());
        }
        let consumed = self.consumed;
        let expected = consumed * u64::from(self.output_rate) / u64::from(self.input_rate);
        let zeros = vec![0.0; self.chunk];
        // Zero chunks push the last real samples out through the filter delay: a few suffice, so bound it.
        for _ in 0..64 {
            if self.produced >= expected {
                break;
            }
            let mut tail = Vec::new();
            self.push(&zeros, &mut tail)?;
            let before = self.produced - tail.len() as u64;
            let room = expected.saturating_sub(before) as usize;
            out.extend_from_slice(&tail[..room.min(tail.len())]);
        }
        self.consumed = consumed;
        self.produced = self.produced.min(expected);
        Ok(())
    }

    fn emit(chunk: &[f32], delay_left: &mut usize, produced: &mut u64, out: &mut Vec<f32>) {
        let skip = (*delay_left).min(chunk.len());
        *delay_left -= skip;
        out.extend_from_slice(&chunk[skip..]);
        *produced += (chunk.len() - skip) as u64;
    }
}

/// Resamples a whole signal to 16 kHz (convenience over [`StreamResampler`]).
pub fn to_speech_rate(input_rate: u32, samples: &[f32]) -> Result<Vec<f32>, ResampleError> {
    resample(input_rate, TARGET_RATE, samples)
}

/// Resamples a whole signal between any two rates.
pub fn resample(
    input_rate: u32,
    output_rate: u32,
    samples: &[f32],
) -> Result<Vec<f32>, ResampleError> {
    let mut r = StreamResampler::new(input_rate, output_rate)?;
    let mut out = Vec::with_capacity(
        samples.len() * output_rate as usize / input_rate.max(1) as usize + 1024,
    );
    r.push(samples, &mut out)?;
    r.finish(&mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(rate: u32, hz: f32, secs: f32) -> Vec<f32> {
        (0..(rate as f32 * secs) as usize)
            .map(|i| (i as f32 / rate as f32 * hz * std::f32::consts::TAU).sin() * 0.5)
            .collect()
    }

    #[test]
    fn output_length_matches_duration_and_tone_survives() {
        for rate in [8_000, 22_050, 44_100, 48_000, 16_000] {
            let input = tone(rate, 440.0, 1.0);
            let out = to_speech_rate(rate, &input).unwrap();
            assert_eq!(out.len(), 16_000, "from {rate} Hz");
            // Aligned in time: compare with the ideal 16 kHz tone away from the edges.
            let ideal = tone(16_000, 440.0, 1.0);
            let err: f32 = out[2000..14000]
                .iter()
                .zip(&ideal[2000..14000])
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            assert!(err < 0.05, "from {rate} Hz: max error {err}");
        }
    }

    #[test]
    fn streaming_in_small_pieces_equals_one_shot() {
        let input = tone(8_000, 300.0, 0.7);
        let whole = to_speech_rate(8_000, &input).unwrap();
        let mut r = StreamResampler::to_speech_rate(8_000).unwrap();
        let mut pieces = Vec::new();
        for chunk in input.chunks(77) {
            r.push(chunk, &mut pieces).unwrap();
        }
        r.finish(&mut pieces).unwrap();
        assert_eq!(whole.len(), pieces.len());
        assert!(whole.iter().zip(&pieces).all(|(a, b)| (a - b).abs() < 1e-6));
    }
}
