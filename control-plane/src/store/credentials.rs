//! What a username and a password must be, checked by the store for every way in (console,
//! API, `create-admin`), so no path skips it.
//!
//! Usernames: NFKC-normalised (a full-width `ａｄｍｉｎ` is `admin`), then printable ASCII only
//! (letters, digits, punctuation; no spaces or control characters), so no look-alike from
//! another script (a Cyrillic `а`) can sit beside a real name; unique regardless of case. Passwords: 10 to 256 characters, not blank, not
//! one repeated character or a keyboard run, not the username, not one of the commonest
//! passwords.

use crate::refusal::Refusal;
use unicode_normalization::UnicodeNormalization;

/// Shortest password accepted, in characters.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Longest password accepted, in characters (hashing cost grows with it).
pub const MAX_PASSWORD_CHARS: usize = 256;
/// Longest username, in characters.
pub const MAX_USERNAME_CHARS: usize = 64;

/// The commonest passwords of at least the minimum length, lower-cased (from the public
/// breach-frequency lists); compared case-insensitively, also with trailing digits and `!`
/// stripped.
const COMMON: &[&str] = &[
    "1234567890",
    "0123456789",
    "12345678910",
    "123456789a",
    "1q2w3e4r5t",
    "1qaz2wsx3edc",
    "qwertyuiop",
    "asdfghjkl",
    "zxcvbnm",
    "password",
    "passw0rd",
    "p@ssw0rd",
    "p@ssword",
    "iloveyou",
    "princess",
    "sunshine",
    "football",
    "baseball",
    "welcome",
    "superman",
    "starwars",
    "whatever",
    "trustno",
    "dragon",
    "monkey",
    "letmein",
    "master",
    "shadow",
    "michael",
    "jennifer",
    "computer",
    "internet",
    "mustang",
    "charlie",
    "jordan",
    "liverpool",
    "chelsea",
    "arsenal",
    "manchester",
    "qwerty",
    "abc123",
    "admin",
    "administrator",
    "changeme",
    "default",
    "secret",
    "letmein",
    "login",
    "mikrotik",
    "hotspot",
    "voucher",
    "cafe",
    "internetcafe",
    "wifi",
    "freewifi",
    "nigeria",
    "lagos",
    "ghana",
    "kenya",
    "africa",
    "jesus",
    "blessed",
    "godisgood",
    "loveyou",
    "mypassword",
    "yourpassword",
    "newpassword",
    "password1",
    "passwordpassword",
    "qwerty123",
    "qwertyqwerty",
    "aaaaaaaaaa",
    "abcdefghij",
    "abcd1234",
    "abc12345",
    "zaq12wsx",
    "q1w2e3r4t5",
    "1q2w3e4r",
    "147258369",
    "987654321",
    "123123123",
    "111222333",
    "123321123",
    "666666666",
    "777777777",
    "999999999",
    "000000000",
    "football1",
    "baseball1",
    "iloveyou1",
    "princess1",
    "welcome1",
    "monkey1",
    "dragon1",
];

/// Why a username or password is refused: a message the admin reads in their language.
pub type PolicyError = crate::refusal::Refusal;

/// The stored form of a username: trimmed, NFKC-normalised, checked against the allowed
/// characters. Case is kept for display; uniqueness and login ignore it ([`username_key`]).
pub fn normalize_username(raw: &str) -> Result<String, PolicyError> {
    let name: String = raw.trim().nfkc().collect();
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_USERNAME_CHARS {
        return Err(Refusal::new("err-username-length").arg("max", MAX_USERNAME_CHARS));
    }
    if !name.chars().all(|c| c.is_ascii_graphic()) {
        return Err(Refusal::new("err-username-characters"));
    }
    Ok(name)
}

/// What usernames are compared by: the normalised name, lower-cased.
pub fn username_key(raw: &str) -> String {
    let name: String = raw.trim().nfkc().collect();
    name.to_lowercase()
}

fn is_run(s: &str) -> bool {
    const RUNS: [&str; 4] = [
        "01234567890123456789",
        "abcdefghijklmnopqrstuvwxyz",
        "qwertyuiopasdfghjklzxcvbnm",
        "1qaz2wsx3edc4rfv5tgb",
    ];
    let b = s.as_bytes();
    let forward = RUNS.iter().any(|r| r.contains(s));
    let backward = {
        let rev: String = s.chars().rev().collect();
        RUNS.iter().any(|r| r.contains(rev.as_str()))
    };
    let repeated = b.windows(2).all(|w| w[0] == w[1]);
    forward || backward || repeated
}

/// Refuse a password that is short, blank, trivially guessable or the username.
pub fn check_password(password: &str, username: &str) -> Result<(), PolicyError> {
    let chars = password.chars().count();
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&chars) {
        return Err(Refusal::new("err-password-length")
            .arg("min", MIN_PASSWORD_CHARS)
            .arg("max", MAX_PASSWORD_CHARS));
    }
    if password.trim().is_empty() {
        return Err(Refusal::new("err-password-spaces"));
    }
    let lower = password.to_lowercase();
    let compact: String = lower.chars().filter(|c| !c.is_whitespace()).collect();
    let stem = compact.trim_end_matches(|c: char| c.is_ascii_digit() || c == '!');
    if is_run(&compact) {
        return Err(Refusal::new("err-password-run"));
    }
    if COMMON.contains(&compact.as_str()) || (stem.len() < compact.len() && COMMON.contains(&stem))
    {
        return Err(Refusal::new("err-password-common"));
    }
    if compact == username_key(username) {
        return Err(Refusal::new("err-password-username"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_passwords_are_refused() {
        for weak in [
            "12345678",
            "        ",
            "          ",
            "1234567890",
            "aaaaaaaaaaaa",
            "Password123",
            "qwertyuiop",
            "0987654321",
            "administrator",
            "Welcome1!",
        ] {
            assert!(check_password(weak, "admin").is_err(), "{weak:?}");
        }
        assert!(check_password(&"x".repeat(300), "a").is_err());
        for good in ["correct horse battery", "admin-pass-123x", "a long secret"] {
            assert!(check_password(good, "root").is_ok(), "{good:?}");
        }
    }

    #[test]
    fn usernames_are_normalised_and_look_alikes_refused() {
        assert_eq!(normalize_username(" ａｄｍｉｎ ").unwrap(), "admin");
        assert_eq!(username_key("Admin"), "admin");
        assert!(normalize_username("\u{430}dmin").is_err(), "Cyrillic a");
        assert!(normalize_username("ad\nmin").is_err());
        assert!(normalize_username("a b").is_err());
        assert!(normalize_username("").is_err());
        assert_eq!(normalize_username("j.doe@cafe-1").unwrap(), "j.doe@cafe-1");
    }
}
