//! G.711 mu-law and A-law, bit-exact with the ITU-T G.191 reference (STL `g711.c`).
//!
//! Phone lines carry 8 kHz G.711; every provider stream and many recordings arrive in it. Pure functions and
//! 256-entry expansion tables, checked in `tests/g711.rs` against the ITU vectors (all 65,536 encodes,
//! all 256 decodes of each law). Owns no I/O.

/// Compresses one 16-bit linear sample to a mu-law code (G.191 `ulaw_compress`).
pub fn mulaw_encode(sample: i16) -> u8 {
    // One's complement for negatives, as the reference does: -1..-4 map to 0x7F, not 0x7E.
    let magnitude = if sample < 0 {
        !sample >> 2
    } else {
        sample >> 2
    } as i32;
    // Bias by 33 (the offset between the A-law and mu-law thresholds), then limit below 8192.
    let biased = (magnitude + 33).min(0x1FFF);
    let mut segment = 1;
    let mut rest = biased >> 6;
    while rest != 0 {
        segment += 1;
        rest >>= 1;
    }
    let high = 0x08 - segment;
    let low = 0x0F - ((biased >> segment) & 0x0F);
    let code = ((high << 4) | low) as u8;
    if sample >= 0 {
        code | 0x80
    } else {
        code
    }
}

/// Expands one mu-law code to 16-bit linear (G.191 `ulaw_expand`).
pub fn mulaw_decode(code: u8) -> i16 {
    MULAW_TABLE[code as usize]
}

/// Compresses one 16-bit linear sample to an A-law code (G.191 `alaw_compress`).
pub fn alaw_encode(sample: i16) -> u8 {
    let mut ix = if sample < 0 {
        !sample >> 4
    } else {
        sample >> 4
    } as i32;
    if ix > 15 {
        let mut exponent = 1;
        while ix > 16 + 15 {
            ix >>= 1;
            exponent += 1;
        }
        ix -= 16;
        ix += exponent << 4;
    }
    if sample >= 0 {
        ix |= 0x80;
    }
    (ix ^ 0x55) as u8
}

/// Expands one A-law code to 16-bit linear (G.191 `alaw_expand`).
pub fn alaw_decode(code: u8) -> i16 {
    ALAW_TABLE[code as usize]
}

const fn mulaw_expand(code: u8) -> i16 {
    let sign: i32 = if code < 0x80 { -1 } else { 1 };
    let inverted = !code as i32;
    let exponent = (inverted >> 4) & 0x07;
    let mantissa = inverted & 0x0F;
    let step = 4 << (exponent + 1);
    (sign * ((0x80 << exponent) + step * mantissa + step / 2 - 4 * 33)) as i16
}

const fn alaw_expand(code: u8) -> i16 {
    let ix = ((code ^ 0x55) & 0x7F) as i32;
    let exponent = ix >> 4;
    let mut mantissa = ix & 0x0F;
    if exponent > 0 {
        mantissa += 16;
    }
    mantissa = (mantissa << 4) + 0x08;
    if exponent > 1 {
        mantissa <<= exponent - 1;
    }
    (if code > 127 { mantissa } else { -mantissa }) as i16
}

static MULAW_TABLE: [i16; 256] = table_mulaw();
static ALAW_TABLE: [i16; 256] = table_alaw();

const fn table_mulaw() -> [i16; 256] {
    let mut out = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        out[i] = mulaw_expand(i as u8);
        i += 1;
    }
    out
}

const fn table_alaw() -> [i16; 256] {
    let mut out = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        out[i] = alaw_expand(i as u8);
        i += 1;
    }
    out
}

/// Which G.711 law a byte stream is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Law {
    MuLaw,
    ALaw,
}

impl Law {
    /// Decodes a run of codes into `f32` samples in [-1, 1), appending to `out`.
    pub fn decode_into(self, codes: &[u8], out: &mut Vec<f32>) {
        let table = match self {
            Law::MuLaw => &MULAW_TABLE,
            Law::ALaw => &ALAW_TABLE,
        };
        out.extend(
            codes
                .iter()
                .map(|&c| f32::from(table[c as usize]) / 32768.0),
        );
    }

    /// Encodes `f32` samples (clamped to [-1, 1]) into codes, appending to `out`.
    pub fn encode_into(self, samples: &[f32], out: &mut Vec<u8>) {
        let encode = match self {
            Law::MuLaw => mulaw_encode,
            Law::ALaw => alaw_encode,
        };
        out.extend(samples.iter().map(|&s| encode(to_i16(s))));
    }
}

/// Converts a float sample to 16-bit linear with saturation.
pub fn to_i16(sample: f32) -> i16 {
    (sample * 32768.0).round().clamp(-32768.0, 32767.0) as i16
}
