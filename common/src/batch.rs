//! Many vouchers in one signed command, and the one answer that says what became of each.
//!
//! A batch of thousands of vouchers goes to a router as a few `CreateTokens` commands instead of
//! one `CreateToken` round trip per voucher. Every count is bounded when it is decoded, so a
//! message can never make its receiver allocate or work without limit.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{Deserializer, Error as _, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::messages::CreateToken;

/// Most vouchers one `CreateTokens` command (and so one `TokensApplied`) may carry.
pub const MAX_TOKENS_PER_COMMAND: usize = 500;

/// Make every voucher in `tokens` on the router, each exactly as a `CreateToken` command would
/// (idempotent by its `mtm:{token_id}` comment).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateTokens {
    /// The vouchers, at most [`MAX_TOKENS_PER_COMMAND`] (refused on decode beyond that).
    #[serde(deserialize_with = "bounded")]
    pub tokens: Vec<CreateToken>,
}

/// What a `CreateTokens` came to, voucher by voucher: every voucher of the command is in
/// exactly one of the two lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokensApplied {
    /// The command this answers.
    pub command_id: Uuid,
    /// Vouchers now on the router; at most [`MAX_TOKENS_PER_COMMAND`].
    #[serde(deserialize_with = "bounded")]
    pub applied: Vec<AppliedToken>,
    /// Vouchers the router refused; at most [`MAX_TOKENS_PER_COMMAND`].
    #[serde(default, deserialize_with = "bounded")]
    pub failed: Vec<FailedToken>,
}

/// One voucher of a `CreateTokens` that is on the router.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedToken {
    /// The token.
    pub token_id: Uuid,
    /// The router's `.id` for its hotspot user.
    pub router_user_id: String,
    /// The user was already there (a repeated command), so nothing was added.
    pub already_present: bool,
}

/// One voucher of a `CreateTokens` the router would not make.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedToken {
    /// The token.
    pub token_id: Uuid,
    /// Why, in words (the RouterOS trap text).
    pub reason: String,
}

/// The validity windows of vouchers already on the router, for an agent that cannot know them:
/// a replaced or reinstalled device starts with an empty store, so without this it would never
/// end the window of a voucher sold before it came.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackValidity {
    /// The windows, at most [`MAX_TOKENS_PER_COMMAND`] (refused on decode beyond that).
    #[serde(deserialize_with = "bounded")]
    pub windows: Vec<ValidityWindow>,
}

/// One voucher's validity window as the ledger knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidityWindow {
    /// The token.
    pub token_id: Uuid,
    /// Its hotspot user name (the voucher code).
    pub code: String,
    /// Valid this long after first login, seconds.
    pub validity_s: u64,
    /// First login as the ledger saw it (ms since the epoch); `None` if never used.
    pub first_login_at: Option<i64>,
}

impl CreateTokens {
    /// `Err` when the command carries more than [`MAX_TOKENS_PER_COMMAND`] vouchers or a
    /// token id twice: what a sender checks before signing (a receiver refuses the first on
    /// decode).
    pub fn check(&self) -> Result<(), String> {
        if self.tokens.len() > MAX_TOKENS_PER_COMMAND {
            return Err(format!(
                "{} vouchers in one command, at most {MAX_TOKENS_PER_COMMAND}",
                self.tokens.len()
            ));
        }
        let mut ids: Vec<Uuid> = self.tokens.iter().map(|t| t.token_id).collect();
        ids.sort_unstable();
        if ids.windows(2).any(|w| w[0] == w[1]) {
            return Err("a voucher appears twice in one command".into());
        }
        Ok(())
    }
}

/// A sequence of at most [`MAX_TOKENS_PER_COMMAND`] items, refused as soon as it says (or turns
/// out) to be longer, before anything beyond the bound is decoded.
fn bounded<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct Bounded<T>(PhantomData<T>);
    impl<'de, T: Deserialize<'de>> Visitor<'de> for Bounded<T> {
        type Value = Vec<T>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "a list of at most {MAX_TOKENS_PER_COMMAND} items")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
            if let Some(n) = seq.size_hint().filter(|n| *n > MAX_TOKENS_PER_COMMAND) {
                return Err(A::Error::invalid_length(n, &self));
            }
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
            while let Some(item) = seq.next_element()? {
                if out.len() == MAX_TOKENS_PER_COMMAND {
                    return Err(A::Error::invalid_length(out.len() + 1, &self));
                }
                out.push(item);
            }
            Ok(out)
        }
    }
    d.deserialize_seq(Bounded(PhantomData))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::{from_cbor, to_cbor};
    use crate::messages::{Command, CommandKind, DownMessage, UpMessage};

    fn token(i: usize) -> CreateToken {
        CreateToken {
            token_id: Uuid::new_v4(),
            code: format!("CODE{i:04}"),
            password: None,
            package_slug: "1h".into(),
            limit_uptime_s: Some(3600),
            limit_bytes_total: None,
            validity_s: None,
            profile: None,
            lock_to_mac: i.is_multiple_of(2),
        }
    }

    fn command(n: usize) -> DownMessage {
        DownMessage::Command(Command {
            id: Uuid::new_v4(),
            issued_at: 1,
            kind: CommandKind::CreateTokens(CreateTokens {
                tokens: (0..n).map(token).collect(),
            }),
        })
    }

    #[test]
    fn a_full_command_and_its_answer_round_trip() {
        let m = command(MAX_TOKENS_PER_COMMAND);
        let bytes = to_cbor(&m).unwrap();
        // Far below the broker's message limit (deploy/mosquitto: 256 KiB), sealed or not.
        assert!(bytes.len() < 128 * 1024, "{} bytes", bytes.len());
        assert_eq!(from_cbor::<DownMessage>(&bytes).unwrap(), m);
        let up = UpMessage::TokensApplied(TokensApplied {
            command_id: Uuid::new_v4(),
            applied: vec![AppliedToken {
                token_id: Uuid::new_v4(),
                router_user_id: "*1A".into(),
                already_present: true,
            }],
            failed: vec![FailedToken {
                token_id: Uuid::new_v4(),
                reason: "failure: already have user with this name".into(),
            }],
        });
        assert_eq!(from_cbor::<UpMessage>(&to_cbor(&up).unwrap()).unwrap(), up);
    }

    #[test]
    fn validity_windows_round_trip_and_are_bounded() {
        let windows = |n: usize| {
            DownMessage::Command(Command {
                id: Uuid::new_v4(),
                issued_at: 1,
                kind: CommandKind::TrackValidity(TrackValidity {
                    windows: (0..n)
                        .map(|i| ValidityWindow {
                            token_id: Uuid::new_v4(),
                            code: format!("CODE{i:04}"),
                            validity_s: 86_400,
                            first_login_at: i.is_multiple_of(2).then_some(1_700_000_000_000),
                        })
                        .collect(),
                }),
            })
        };
        let full = windows(MAX_TOKENS_PER_COMMAND);
        assert_eq!(
            from_cbor::<DownMessage>(&to_cbor(&full).unwrap()).unwrap(),
            full
        );
        assert!(from_cbor::<DownMessage>(&to_cbor(&windows(501)).unwrap()).is_err());
    }

    #[test]
    fn more_than_the_bound_is_refused_on_decode() {
        let err = from_cbor::<DownMessage>(&to_cbor(&command(501)).unwrap());
        assert!(err.is_err(), "501 vouchers decoded");
        let many = |n: usize| {
            UpMessage::TokensApplied(TokensApplied {
                command_id: Uuid::new_v4(),
                applied: vec![],
                failed: (0..n)
                    .map(|_| FailedToken {
                        token_id: Uuid::nil(),
                        reason: String::new(),
                    })
                    .collect(),
            })
        };
        assert!(from_cbor::<UpMessage>(&to_cbor(&many(500)).unwrap()).is_ok());
        assert!(from_cbor::<UpMessage>(&to_cbor(&many(501)).unwrap()).is_err());
    }

    #[test]
    fn an_indefinite_length_list_is_cut_at_the_bound() {
        // CBOR lets a list leave its length open (0x9f ... 0xff): no size hint to refuse early.
        let item = to_cbor(&FailedToken {
            token_id: Uuid::nil(),
            reason: String::new(),
        })
        .unwrap();
        let list = |n: usize| {
            let mut b = vec![0x9f];
            for _ in 0..n {
                b.extend_from_slice(&item);
            }
            b.push(0xff);
            b
        };
        #[derive(Debug, Deserialize)]
        struct Probe {
            #[serde(deserialize_with = "bounded")]
            #[allow(dead_code)]
            items: Vec<FailedToken>,
        }
        let probe = |n: usize| {
            // {"items": [_ ...]}
            let mut b = vec![0xa1];
            ciborium::into_writer(&"items", &mut b).unwrap();
            b.extend(list(n));
            from_cbor::<Probe>(&b)
        };
        assert!(probe(500).is_ok());
        assert!(probe(501).is_err());
    }

    #[test]
    fn a_sender_checks_the_bound_and_duplicates() {
        let mut c = CreateTokens {
            tokens: (0..3).map(token).collect(),
        };
        assert!(c.check().is_ok());
        c.tokens.push(c.tokens[0].clone());
        assert!(c.check().is_err());
        let big = CreateTokens {
            tokens: (0..501).map(token).collect(),
        };
        assert!(big.check().is_err());
    }
}
