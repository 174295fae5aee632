//! Codec: the five length forms, incremental decoding, reserved control bytes, and a
//! few hundred thousand random and mutated inputs that must never panic.

use mtm_routeros::proto::{
    decode_len, encode_len, encode_sentence, DecodeError, Decoder, Sentence,
};
use rand::{rngs::StdRng, Rng, SeedableRng};

#[test]
fn length_prefix_boundaries_all_five_forms() {
    let cases: &[(usize, &[u8])] = &[
        (0, &[0x00]),
        (0x7F, &[0x7F]),
        (0x80, &[0x80, 0x80]),
        (0x3FFF, &[0xBF, 0xFF]),
        (0x4000, &[0xC0, 0x40, 0x00]),
        (0x1F_FFFF, &[0xDF, 0xFF, 0xFF]),
        (0x20_0000, &[0xE0, 0x20, 0x00, 0x00]),
        (0x0FFF_FFFF, &[0xEF, 0xFF, 0xFF, 0xFF]),
        (0x1000_0000, &[0xF0, 0x10, 0x00, 0x00, 0x00]),
        (0xFFFF_FFFF, &[0xF0, 0xFF, 0xFF, 0xFF, 0xFF]),
    ];
    for &(len, prefix) in cases {
        let mut out = Vec::new();
        encode_len(len, &mut out);
        assert_eq!(out, prefix, "encode {len:#x}");
        assert_eq!(
            decode_len(prefix),
            Ok(Some((len, prefix.len()))),
            "decode {len:#x}"
        );
        // every shorter slice asks for more bytes instead of failing
        for cut in 0..prefix.len() {
            assert_eq!(decode_len(&prefix[..cut]), Ok(None));
        }
    }
}

#[test]
fn sentences_round_trip_through_every_form_that_fits_in_memory() {
    let sizes = [0usize, 1, 0x7F, 0x80, 0x3FFF, 0x4000, 0x1F_FFFF, 0x20_0000];
    let words: Vec<Vec<u8>> = sizes
        .iter()
        .map(|&n| (0..n).map(|i| u8::try_from(i % 251).unwrap()).collect())
        .filter(|w: &Vec<u8>| !w.is_empty())
        .collect();
    let mut buf = Vec::new();
    encode_sentence(&words, &mut buf);
    encode_sentence(&[b"!done".as_slice(), b"=ret=*1"], &mut buf);
    let mut d = Decoder::new();
    d.extend(&buf);
    let s = d.next_sentence().unwrap().unwrap();
    assert_eq!(s.words, words);
    let s2 = d.next_sentence().unwrap().unwrap();
    assert_eq!(s2.first(), b"!done");
    assert_eq!(s2.row().get("ret").map(String::as_str), Some("*1"));
    assert_eq!(d.next_sentence().unwrap(), None);
    assert!(d.is_idle());
}

#[test]
fn five_byte_form_decodes_even_for_small_words() {
    // Non-minimal 5-byte prefix announcing 3 bytes.
    let mut d = Decoder::new();
    d.extend(&[0xF0, 0, 0, 0, 3, b'!', b'r', b'e', 0]);
    assert_eq!(
        d.next_sentence().unwrap().unwrap().words,
        vec![b"!re".to_vec()]
    );
}

#[test]
fn byte_at_a_time_and_empty_sentences() {
    let mut buf = vec![0u8, 0]; // empty sentences are ignored
    encode_sentence(
        &[
            b"/ip/hotspot/user/print".as_slice(),
            b"?name=\xE9t\xE9",
            b".tag=7",
        ],
        &mut buf,
    );
    let mut d = Decoder::new();
    let mut got = None;
    for b in &buf {
        d.extend(std::slice::from_ref(b));
        if let Some(s) = d.next_sentence().unwrap() {
            got = Some(s);
        }
    }
    let s = got.expect("sentence");
    assert_eq!(s.tag(), Some(b"7".as_slice()));
    assert_eq!(
        s.words[1], b"?name=\xE9t\xE9",
        "bytes are kept, not UTF-8 decoded"
    );
}

#[test]
fn attributes_without_second_equals_and_with_extra_equals() {
    let s = Sentence::new(&["!re", "=password", "=comment=", "=expr=a=b=c", ".tag=x"]);
    let row = s.row();
    assert_eq!(row["password"], "");
    assert_eq!(row["comment"], "");
    assert_eq!(row["expr"], "a=b=c");
    assert!(!row.contains_key(".tag"));
}

#[test]
fn reserved_control_bytes_are_rejected_and_stay_rejected() {
    for b in 0xF1..=0xFFu8 {
        let mut d = Decoder::new();
        d.extend(&[b, 1, 2, 3, 4, 5]);
        assert_eq!(d.next_sentence(), Err(DecodeError::ControlByte(b)));
        d.extend(&[0]);
        assert!(d.next_sentence().is_err(), "decoder must not resynchronise");
        assert!(DecodeError::ControlByte(b)
            .to_string()
            .contains("control byte"));
    }
}

#[test]
fn oversized_words_are_rejected_before_buffering() {
    let mut d = Decoder::with_max_word_len(1024);
    d.extend(&[0x84, 0x01]);
    assert_eq!(d.next_sentence(), Err(DecodeError::TooLong(0x401)));
    let mut d = Decoder::new();
    d.extend(&[0xF0, 0xFF, 0xFF, 0xFF, 0xFF]);
    assert!(matches!(d.next_sentence(), Err(DecodeError::TooLong(_))));
}

/// What CI runs in place of cargo-fuzz (no nightly here): random and mutated inputs, fed
/// whole and in random chunks, must never panic, and valid input must decode to what was sent.
#[test]
fn random_and_mutated_inputs_never_panic() {
    let mut rng = StdRng::seed_from_u64(0x5EED_2026);
    let mut valid = Vec::new();
    encode_sentence(
        &[b"!re".as_slice(), b".tag=3", b"=.id=*1A", b"=name=V7K2Q9"],
        &mut valid,
    );
    encode_sentence(&[b"!done".as_slice(), b"=ret=*1A"], &mut valid);
    let mut decoded = 0usize;
    for i in 0..300_000u32 {
        let input: Vec<u8> = match i % 3 {
            0 => (0..rng.gen_range(0..64)).map(|_| rng.gen()).collect(),
            1 => {
                let mut m = valid.clone();
                for _ in 0..rng.gen_range(1..4) {
                    let at = rng.gen_range(0..m.len());
                    match rng.gen_range(0..3) {
                        0 => m[at] = rng.gen(),
                        1 => {
                            m.remove(at);
                        }
                        _ => m.insert(at, rng.gen()),
                    }
                }
                m
            }
            _ => {
                let mut m: Vec<u8> = (0..rng.gen_range(0..8))
                    .map(|_| rng.gen_range(0xE0..=0xFF))
                    .collect();
                m.extend((0..rng.gen_range(0..16)).map(|_| rng.gen::<u8>()));
                m
            }
        };
        let mut d = Decoder::with_max_word_len(1 << 16);
        let mut rest = input.as_slice();
        while !rest.is_empty() {
            let n = rng.gen_range(1..=rest.len());
            d.extend(&rest[..n]);
            rest = &rest[n..];
            while let Ok(Some(s)) = d.next_sentence() {
                decoded += 1;
                let _ = s.row();
                let _ = s.tag();
            }
        }
    }
    assert!(
        decoded > 1000,
        "mutations should still decode often ({decoded})"
    );
    let mut d = Decoder::new();
    d.extend(&valid);
    assert_eq!(d.next_sentence().unwrap().unwrap().row()["name"], "V7K2Q9");
}
