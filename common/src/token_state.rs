//! Where a token (voucher) is in its life: the one definition the store, the ledger checks and
//! every page share. Stored and shown by its snake_case name.

use serde::{Deserialize, Serialize};

/// Where a token is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TokenState {
    /// Stored; the `CreateToken` command to the router is queued or in flight.
    Issued,
    /// The agent confirmed the hotspot user exists ("active on router").
    Applied,
    /// A customer has logged in with it.
    InUse,
    /// Its uptime or data limit is reached.
    UsedUp,
    /// Its validity window ran out (the agent disabled it).
    Expired,
    /// Disabled on the router (the ledger checks take this only once the agent confirmed it).
    Disabled,
    /// Removed from the router, or its removal is queued.
    Removed,
}

impl TokenState {
    /// Every state, in life order.
    pub const ALL: [TokenState; 7] = [
        TokenState::Issued,
        TokenState::Applied,
        TokenState::InUse,
        TokenState::UsedUp,
        TokenState::Expired,
        TokenState::Disabled,
        TokenState::Removed,
    ];

    /// The stored name, e.g. `in_use`.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenState::Issued => "issued",
            TokenState::Applied => "applied",
            TokenState::InUse => "in_use",
            TokenState::UsedUp => "used_up",
            TokenState::Expired => "expired",
            TokenState::Disabled => "disabled",
            TokenState::Removed => "removed",
        }
    }

    /// Parse a stored name.
    pub fn parse(s: &str) -> Option<TokenState> {
        TokenState::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The token's life on the router is over: it must not be logged in with any more.
    pub fn is_ended(self) -> bool {
        matches!(
            self,
            TokenState::Expired | TokenState::Disabled | TokenState::Removed
        )
    }
}

impl std::fmt::Display for TokenState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_names_round_trip_and_match_serde() {
        for t in TokenState::ALL {
            assert_eq!(TokenState::parse(t.as_str()), Some(t));
            assert_eq!(
                serde_json::to_string(&t).unwrap(),
                format!("\"{}\"", t.as_str())
            );
        }
        assert_eq!(TokenState::parse("active"), None);
    }
}
