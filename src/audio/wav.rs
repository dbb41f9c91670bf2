//! Recorded calls in WAV: PCM (8/16/24/32-bit integer, 32-bit float) through hound, and G.711 mu-law/A-law WAV
//! (format tags 7 and 6, which hound does not read) through our own codec.
//!
//! The RIFF chunk walk here validates every file before any decoder sees it, so a truncated, empty or
//! foreign file becomes a [`WavError`] that names the problem instead of a panic or a silent half-call.

use std::borrow::Cow;
use std::io::Cursor;
use std::path::Path;

use super::g711::Law;

/// Why a recording could not be read.
#[derive(Debug, thiserror::Error)]
pub enum WavError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("the file is empty (0 bytes): nothing to replay")]
    Empty,
    #[error("not a WAV file: it does not start with a RIFF/WAVE header")]
    NotWav,
    #[error("truncated WAV: {0}")]
    Truncated(String),
    #[error("the WAV has no `{0}` chunk")]
    MissingChunk(&'static str),
    #[error("the WAV's data chunk is empty: the recording holds no audio")]
    NoAudio,
    #[error("unsupported WAV encoding: {0}")]
    Unsupported(String),
    #[error("invalid WAV header: {0}")]
    BadHeader(String),
    #[error(
        "channel {requested} was asked for but the recording has {available} channel(s) (0-based)"
    )]
    NoSuchChannel { requested: usize, available: usize },
}

/// How the samples of a recording are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Pcm { bits: u16 },
    Float { bits: u16 },
    G711(Law),
}

/// A decoded recording: one `Vec<f32>` per channel, samples in [-1, 1].
#[derive(Debug, Clone)]
pub struct Recording {
    pub sample_rate: u32,
    pub encoding: Encoding,
    pub channels: Vec<Vec<f32>>,
}

/// Which side of the recording is the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChannelChoice {
    /// Average all channels (the default for mono and for mixed-down recordings).
    #[default]
    Mix,
    /// Take one channel, 0-based (two-channel call recordings usually put the caller on one side).
    Only(usize),
}

impl Recording {
    /// Duration in milliseconds.
    pub fn duration_ms(&self) -> u64 {
        let n = self.channels.first().map_or(0, Vec::len) as u64;
        n * 1000 / u64::from(self.sample_rate.max(1))
    }

    /// The caller's audio as one mono signal (borrowed unless channels have to be mixed).
    pub fn caller_audio(&self, choice: ChannelChoice) -> Result<Cow<'_, [f32]>, WavError> {
        match choice {
            ChannelChoice::Only(i) => {
                self.channels
                    .get(i)
                    .map(|c| Cow::Borrowed(&c[..]))
                    .ok_or(WavError::NoSuchChannel {
                        requested: i,
                        available: self.channels.len(),
                    })
            }
            ChannelChoice::Mix if self.channels.len() == 1 => Ok(Cow::Borrowed(&self.channels[0])),
            ChannelChoice::Mix => {
                let n = self.channels[0].len();
                let scale = 1.0 / self.channels.len() as f32;
                Ok(Cow::Owned(
                    (0..n)
                        .map(|i| self.channels.iter().map(|c| c[i]).sum::<f32>() * scale)
                        .collect(),
                ))
            }
        }
    }
}

/// Reads and decodes a WAV file.
pub fn read_wav(path: &Path) -> Result<Recording, WavError> {
    let bytes = std::fs::read(path).map_err(|source| WavError::Io {
        path: path.display().to_string(),
        source,
    })?;
    decode_wav(&bytes)
}

struct Layout {
    format_tag: u16,
    channels: u16,
    sample_rate: u32,
    block_align: u16,
    bits: u16,
    data: std::ops::Range<usize>,
    /// The header gave no data size (0xFFFFFFFF): the data runs to the end of the file.
    streamed: bool,
}

const WAVE_FORMAT_PCM: u16 = 1;
const WAVE_FORMAT_IEEE_FLOAT: u16 = 3;
const WAVE_FORMAT_ALAW: u16 = 6;
const WAVE_FORMAT_MULAW: u16 = 7;
const WAVE_FORMAT_EXTENSIBLE: u16 = 0xFFFE;

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Walks the RIFF chunks and checks that the header is consistent with the bytes that are actually there.
fn layout(bytes: &[u8]) -> Result<Layout, WavError> {
    if bytes.is_empty() {
        return Err(WavError::Empty);
    }
    if bytes.len() < 12 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return Err(WavError::NotWav);
    }
    let mut fmt: Option<(u16, u16, u32, u16, u16)> = None;
    let mut pos = 12;
    while pos + 8 <= bytes.len() {
        let id = &bytes[pos..pos + 4];
        let size = u32_at(bytes, pos + 4) as usize;
        let body = pos + 8;
        if id == b"fmt " {
            if size < 16 || body + size > bytes.len() {
                return Err(WavError::Truncated(format!(
                    "the fmt chunk declares {size} bytes but the file ends first"
                )));
            }
            let mut tag = u16_at(bytes, body);
            if tag == WAVE_FORMAT_EXTENSIBLE {
                if size < 40 {
                    return Err(WavError::BadHeader(
                        "WAVE_FORMAT_EXTENSIBLE without its sub-format".into(),
                    ));
                }
                tag = u16_at(bytes, body + 24);
            }
            fmt = Some((
                tag,
                u16_at(bytes, body + 2),
                u32_at(bytes, body + 4),
                u16_at(bytes, body + 12),
                u16_at(bytes, body + 14),
            ));
        } else if id == b"data" {
            let (tag, channels, sample_rate, block_align, bits) =
                fmt.ok_or(WavError::MissingChunk("fmt "))?;
            if size == 0 {
                return Err(WavError::NoAudio);
            }
            let available = bytes.len() - body;
            // 0xFFFFFFFF is what streaming recorders write when they never went back to fix the size:
            // take whole frames up to the end of the file.
            let streamed = size == u32::MAX as usize;
            let size = if streamed {
                available - available % usize::from(block_align.max(1))
            } else {
                size
            };
            if size > available {
                return Err(WavError::Truncated(format!(
                    "the data chunk declares {size} bytes but only {available} follow"
                )));
            }
            return Ok(Layout {
                format_tag: tag,
                channels,
                sample_rate,
                block_align,
                bits,
                data: body..body + size,
                streamed,
            });
        }
        pos = body + size + (size & 1);
    }
    if fmt.is_none() {
        if pos < bytes.len() {
            return Err(WavError::Truncated(
                "the file ends inside a chunk header".into(),
            ));
        }
        return Err(WavError::MissingChunk("fmt "));
    }
    Err(WavError::MissingChunk("data"))
}

/// Decodes WAV bytes (see [`read_wav`]).
pub fn decode_wav(bytes: &[u8]) -> Result<Recording, WavError> {
    let l = layout(bytes)?;
    if l.channels == 0 {
        return Err(WavError::BadHeader("0 channels".into()));
    }
    if !(1000..=384_000).contains(&l.sample_rate) {
        return Err(WavError::BadHeader(format!(
            "sample rate {} Hz is outside 1 kHz..384 kHz",
            l.sample_rate
        )));
    }
    match l.format_tag {
        WAVE_FORMAT_MULAW | WAVE_FORMAT_ALAW => decode_g711(bytes, &l),
        WAVE_FORMAT_PCM | WAVE_FORMAT_IEEE_FLOAT => decode_pcm(bytes, &l),
        other => Err(WavError::Unsupported(format!(
            "format tag {other:#06x} (supported: PCM, IEEE float, mu-law, A-law)"
        ))),
    }
}

fn decode_g711(bytes: &[u8], l: &Layout) -> Result<Recording, WavError> {
    let law = if l.format_tag == WAVE_FORMAT_MULAW {
        Law::MuLaw
    } else {
        Law::ALaw
    };
    if l.bits != 8 || usize::from(l.block_align) != usize::from(l.channels) {
        return Err(WavError::BadHeader(format!(
            "G.711 needs 8 bits and one byte per channel per frame, the header says {} bits and {} bytes",
            l.bits, l.block_align
        )));
    }
    let n_channels = usize::from(l.channels);
    let data = &bytes[l.data.clone()];
    let frames = data.len() / n_channels;
    if frames == 0 {
        return Err(WavError::NoAudio);
    }
    let mut channels = vec![Vec::with_capacity(frames); n_channels];
    let mut scratch = Vec::with_capacity(n_channels);
    for frame in data.chunks_exact(n_channels) {
        scratch.clear();
        law.decode_into(frame, &mut scratch);
        for (c, s) in channels.iter_mut().zip(&scratch) {
            c.push(*s);
        }
    }
    Ok(Recording {
        sample_rate: l.sample_rate,
        encoding: Encoding::G711(law),
        channels,
    })
}

fn decode_pcm(bytes: &[u8], l: &Layout) -> Result<Recording, WavError> {
    // Give hound exactly the validated bytes: header and data chunk as found, nothing after. A streamed
    // header gets its real sizes written in (hound reads the declared size).
    let fixed;
    let header_and_data = if l.streamed {
        let mut copy = bytes[..l.data.end].to_vec();
        let riff_size = (copy.len() - 8) as u32;
        copy[4..8].copy_from_slice(&riff_size.to_le_bytes());
        let data_size = l.data.len() as u32;
        copy[l.data.start - 4..l.data.start].copy_from_slice(&data_size.to_le_bytes());
        fixed = copy;
        &fixed[..]
    } else {
        &bytes[..l.data.end]
    };
    let reader = hound::WavReader::new(Cursor::new(header_and_data))
        .map_err(|e| WavError::Unsupported(e.to_string()))?;
    let spec = reader.spec();
    let n_channels = usize::from(spec.channels);
    let decode_err = |e: hound::Error| WavError::Truncated(format!("while decoding samples: {e}"));
    let (encoding, interleaved): (Encoding, Vec<f32>) = match spec.sample_format {
        hound::SampleFormat::Float => (
            Encoding::Float {
                bits: spec.bits_per_sample,
            },
            reader
                .into_samples::<f32>()
                .collect::<Result<_, _>>()
                .map_err(decode_err)?,
        ),
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1u64 << (spec.bits_per_sample - 1)) as f32;
            (
                Encoding::Pcm {
                    bits: spec.bits_per_sample,
                },
                reader
                    .into_samples::<i32>()
                    .map(|s| s.map(|v| v as f32 * scale))
                    .collect::<Result<_, _>>()
                    .map_err(decode_err)?,
            )
        }
    };
    let frames = interleaved.len() / n_channels;
    if frames == 0 {
        return Err(WavError::NoAudio);
    }
    let mut channels = vec![Vec::with_capacity(frames); n_channels];
    for frame in interleaved.chunks_exact(n_channels) {
        for (c, s) in channels.iter_mut().zip(frame) {
            c.push(*s);
        }
    }
    Ok(Recording {
        sample_rate: spec.sample_rate,
        encoding,
        channels,
    })
}

/// Encodes mono samples as a G.711 WAV (what a phone line records), e.g. for fixtures and exports.
pub fn encode_g711_wav(law: Law, sample_rate: u32, samples: &[f32]) -> Vec<u8> {
    let mut codes = Vec::with_capacity(samples.len());
    law.encode_into(samples, &mut codes);
    let tag = match law {
        Law::MuLaw => WAVE_FORMAT_MULAW,
        Law::ALaw => WAVE_FORMAT_ALAW,
    };
    // fmt chunk of 18 bytes (cbSize = 0) plus a fact chunk, as non-PCM WAV requires.
    let mut out = Vec::with_capacity(58 + codes.len());
    let riff_size = 4 + (8 + 18) + (8 + 4) + (8 + codes.len()) + (codes.len() & 1);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(riff_size as u32).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&18u32.to_le_bytes());
    out.extend_from_slice(&tag.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&sample_rate.to_le_bytes());
    out.extend_from_slice(&sample_rate.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&8u16.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(b"fact");
    out.extend_from_slice(&4u32.to_le_bytes());
    out.extend_from_slice(&(codes.len() as u32).to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&(codes.len() as u32).to_le_bytes());
    out.extend_from_slice(&codes);
    if codes.len() & 1 == 1 {
        out.push(0);
    }
    out
}
