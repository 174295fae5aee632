//! Feeds arbitrary bytes to the sentence decoder, whole and split at a fuzzer-chosen point:
//! it must never panic, and both feeding patterns must agree.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mtm_routeros::proto::{Decoder, Sentence};

fn drain(d: &mut Decoder, out: &mut Vec<Result<Sentence, ()>>) {
    loop {
        match d.next_sentence() {
            Ok(Some(s)) => {
                let _ = s.row();
                out.push(Ok(s));
            }
            Ok(None) => return,
            Err(_) => {
                out.push(Err(()));
                return;
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let split = data.first().map_or(0, |&b| b as usize % (data.len() + 1));
    let mut whole = Vec::new();
    let mut d = Decoder::with_max_word_len(1 << 20);
    d.extend(data);
    drain(&mut d, &mut whole);

    let mut parts = Vec::new();
    let mut d = Decoder::with_max_word_len(1 << 20);
    d.extend(&data[..split]);
    drain(&mut d, &mut parts);
    if !matches!(parts.last(), Some(Err(()))) {
        d.extend(&data[split..]);
        drain(&mut d, &mut parts);
    }
    assert_eq!(whole, parts);
});
