//! Our G.711 against the ITU-T G.191 reference vectors in ../shared/data/g711.

mod common;

use switchboard::audio::g711::{alaw_decode, alaw_encode, mulaw_decode, mulaw_encode};

fn read(name: &str) -> Vec<u8> {
    std::fs::read(common::shared().join("data/g711").join(name)).expect(name)
}

fn words(bytes: &[u8]) -> Vec<i16> {
    bytes
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect()
}

#[test]
fn every_16_bit_input_encodes_like_the_reference() {
    let (mu, a) = (read("stl_all.u"), read("stl_all.a"));
    assert_eq!(mu.len(), 65_536);
    let mut wrong = Vec::new();
    for (i, x) in (i16::MIN..=i16::MAX).enumerate() {
        if mulaw_encode(x) != mu[i] || alaw_encode(x) != a[i] {
            wrong.push(x);
        }
    }
    assert!(
        wrong.is_empty(),
        "{} inputs differ, first {:?}",
        wrong.len(),
        &wrong[..wrong.len().min(5)]
    );
}

#[test]
fn every_code_decodes_like_the_reference() {
    let dec = words(&read("stl_dec.raw"));
    assert_eq!(dec.len(), 512);
    for code in 0..=255u8 {
        assert_eq!(mulaw_decode(code), dec[code as usize], "mu-law {code:#04x}");
        assert_eq!(
            alaw_decode(code),
            dec[256 + code as usize],
            "A-law {code:#04x}"
        );
    }
}

#[test]
fn the_reference_sweep_round_trips() {
    let src = words(&read("sweep.src"));
    let (ru, ra) = (words(&read("sweep-r.u")), words(&read("sweep-r.a")));
    let (reu, rea) = (words(&read("sweep-r.reu")), words(&read("sweep-r.rea")));
    for i in 0..src.len() {
        let (u, a) = (mulaw_encode(src[i]), alaw_encode(src[i]));
        assert_eq!(i16::from(u), ru[i], "mu-law code at {i}");
        assert_eq!(i16::from(a), ra[i], "A-law code at {i}");
        assert_eq!(mulaw_decode(u), reu[i], "mu-law expansion at {i}");
        assert_eq!(alaw_decode(a), rea[i], "A-law expansion at {i}");
    }
}
