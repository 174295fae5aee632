//! Voucher codes: typed by customers from paper, so drawn from an alphabet without look-alikes.

use rand::{rngs::OsRng, Rng};

/// Upper-case letters and digits without 0/O, 1/I/L and other easily confused pairs.
pub const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";

/// Shortest and longest code length the server accepts in its configuration.
pub const MIN_LEN: usize = 6;
/// See [`MIN_LEN`].
pub const MAX_LEN: usize = 16;

/// A new random code of `len` characters (clamped to [`MIN_LEN`]..=[`MAX_LEN`]), from the OS CSPRNG.
pub fn generate(len: usize) -> String {
    let len = len.clamp(MIN_LEN, MAX_LEN);
    let mut rng = OsRng;
    (0..len)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

/// A numeric password of `len` digits, for packages that use one.
pub fn generate_password(len: usize) -> String {
    let mut rng = OsRng;
    (0..len.clamp(4, 12))
        .map(|_| char::from(b'0' + rng.gen_range(0..10u8)))
        .collect()
}

/// True if `code` could have come from [`generate`].
pub fn is_valid(code: &str) -> bool {
    (MIN_LEN..=MAX_LEN).contains(&code.len()) && code.bytes().all(|b| ALPHABET.contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_use_only_the_alphabet_and_differ() {
        let codes: HashSet<String> = (0..2000).map(|_| generate(8)).collect();
        assert_eq!(codes.len(), 2000);
        assert!(codes.iter().all(|c| c.len() == 8 && is_valid(c)));
        for bad in ["O", "0", "I", "1", "L"] {
            assert!(codes.iter().all(|c| !c.contains(bad)));
        }
        assert_eq!(generate(2).len(), MIN_LEN);
        assert!(generate_password(6).bytes().all(|b| b.is_ascii_digit()));
    }
}
