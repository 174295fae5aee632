//! What the ledger says was issued: the input every router-side check compares against.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use uuid::Uuid;

pub use mtm_common::TokenState;

/// One token as the ledger issued it. Times are unix milliseconds, money minor units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedToken {
    /// Token id (the router comment is `mtm:{token_id}`).
    pub token_id: Uuid,
    /// Voucher code: the hotspot user name.
    pub code: String,
    /// Package slug: the router profile must be `mtm-{slug}`.
    pub package_slug: String,
    /// `limit-uptime` the token was issued with, seconds.
    pub limit_uptime_s: Option<u64>,
    /// `limit-bytes-total` the token was issued with.
    pub limit_bytes_total: Option<u64>,
    /// Valid this long after first login (the agent enforces it), seconds.
    pub validity_s: Option<u64>,
    /// SHA-256 hex of the password it was issued with ([`password_sha256`]); `None` when the
    /// package uses no password.
    pub password_sha256: Option<String>,
    /// State in the ledger.
    pub state: TokenState,
    /// Issued at.
    pub issued_at: i64,
    /// Staff member who issued it.
    pub staff_id: Option<Uuid>,
    /// Shift it was sold in.
    pub shift_id: Option<Uuid>,
    /// Location it was sold at.
    pub location_id: Option<Uuid>,
    /// Agent of the router that must carry it.
    pub agent_id: String,
    /// Router `.id` from `TokenApplied`, once confirmed.
    pub router_user_id: Option<String>,
    /// Price at issue.
    pub price_minor: i64,
    /// Currency of the price.
    pub currency: String,
    /// Confirmed on the router at.
    pub applied_at: Option<i64>,
    /// First customer login.
    pub first_login_at: Option<i64>,
    /// Limit reached at (`None` when unknown; the state still says `used_up`).
    pub used_up_at: Option<i64>,
    /// Validity window ran out at (`TokenExpired::expired_at`).
    pub expired_at: Option<i64>,
    /// When it became `disabled` or `removed` (the agent's confirmation, or the queuing of the
    /// removal). Without it (and `expired_at`) a check cannot tell an ended token's last
    /// legitimate use from a later one, so it raises nothing.
    pub ended_at: Option<i64>,
    /// The `limit-uptime` the router last confirmed after an extension (`None`: never
    /// extended): until the newest extension is confirmed, the router may still show it.
    pub confirmed_limit_uptime_s: Option<u64>,
    /// The same for `limit-bytes-total`.
    pub confirmed_limit_bytes_total: Option<u64>,
    /// Uptime used so far: the sum of every usage delta ingested before the report being checked.
    pub used_uptime_s: u64,
    /// Bytes (in + out) used so far, the same way.
    pub used_bytes: u64,
    /// Sold bound to the first device that logs in with it.
    pub lock_to_mac: bool,
    /// The MAC its agent bound it to (`MacBound`), once reported.
    pub bound_mac: Option<String>,
    /// When the agent reported the binding (the `MacBound` envelope's `at`, agent clock): only
    /// an inventory taken later must show the MAC.
    pub mac_bound_at: Option<i64>,
}

impl IssuedToken {
    /// A token with the given identity and package, everything else empty; for building inputs.
    pub fn new(token_id: Uuid, code: &str, package_slug: &str, agent_id: &str) -> IssuedToken {
        IssuedToken {
            token_id,
            code: code.to_string(),
            package_slug: package_slug.to_string(),
            limit_uptime_s: None,
            limit_bytes_total: None,
            validity_s: None,
            password_sha256: None,
            state: TokenState::Issued,
            issued_at: 0,
            staff_id: None,
            shift_id: None,
            location_id: None,
            agent_id: agent_id.to_string(),
            router_user_id: None,
            price_minor: 0,
            currency: String::new(),
            applied_at: None,
            first_login_at: None,
            used_up_at: None,
            expired_at: None,
            ended_at: None,
            confirmed_limit_uptime_s: None,
            confirmed_limit_bytes_total: None,
            used_uptime_s: 0,
            used_bytes: 0,
            lock_to_mac: false,
            bound_mac: None,
            mac_bound_at: None,
        }
    }
}

impl IssuedToken {
    /// Whether the token's life on the router had ended more than `grace_ms` before `at`, so
    /// a router observation taken at `at` must show it ended.
    pub(crate) fn ended_before(&self, at: i64, grace_ms: i64) -> bool {
        self.state.is_ended()
            && self
                .ended_at
                .or(self.expired_at)
                .is_some_and(|end| end.saturating_add(grace_ms) < at)
    }
}

/// SHA-256 hex of a token password, the way agents report it in `RouterUser::password_sha256`.
/// `None` and the empty password both mean "no password".
pub fn password_sha256(password: Option<&str>) -> Option<String> {
    password
        .filter(|p| !p.is_empty())
        .map(|p| hex::encode(Sha256::digest(p.as_bytes())))
}

/// The hash of the empty password: an agent may report it for a user without one.
pub(crate) fn is_empty_password_hash(hash: &str) -> bool {
    const EMPTY: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    hash.eq_ignore_ascii_case(EMPTY) || hash.is_empty()
}

/// How the checks find issued tokens. Implement it over a store query, or use [`IssuedIndex`].
pub trait TokenLookup {
    /// The token with this id, on any router.
    fn by_id(&self, token_id: Uuid) -> Option<&IssuedToken>;
    /// The token with this code (hotspot user name) issued for this agent's router.
    fn by_code(&self, agent_id: &str, code: &str) -> Option<&IssuedToken>;
}

/// An in-memory [`TokenLookup`] over a set of tokens, e.g. the ones an [`super::InventoryKeys`]
/// named.
#[derive(Debug, Clone, Default)]
pub struct IssuedIndex {
    by_id: HashMap<Uuid, IssuedToken>,
    by_code: HashMap<(String, String), Uuid>,
}

impl IssuedIndex {
    /// An index of these tokens.
    pub fn new(tokens: impl IntoIterator<Item = IssuedToken>) -> IssuedIndex {
        let mut index = IssuedIndex::default();
        for t in tokens {
            index.insert(t);
        }
        index
    }

    /// Add or replace a token.
    pub fn insert(&mut self, token: IssuedToken) {
        self.by_code
            .insert((token.agent_id.clone(), token.code.clone()), token.token_id);
        self.by_id.insert(token.token_id, token);
    }

    /// Every token, in no particular order.
    pub fn tokens(&self) -> impl Iterator<Item = &IssuedToken> {
        self.by_id.values()
    }
}

impl TokenLookup for IssuedIndex {
    fn by_id(&self, token_id: Uuid) -> Option<&IssuedToken> {
        self.by_id.get(&token_id)
    }

    fn by_code(&self, agent_id: &str, code: &str) -> Option<&IssuedToken> {
        self.by_code
            .get(&(agent_id.to_string(), code.to_string()))
            .and_then(|id| self.by_id.get(id))
    }
}
