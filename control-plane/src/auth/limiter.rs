//! Login and enrollment attempt limits, and the cap on concurrent password hashes.
//!
//! The policy slows a guesser without letting anyone lock a user out:
//! - an attempt is *reserved* in the store (counted as a failure) atomically with the limit
//!   check, before the password is hashed, so a burst cannot race past the limit;
//! - per (account, client address): a few free failures, then an exponential backoff between
//!   attempts; only that pair slows down, the same account from any other address is untouched;
//! - per client address: a high ceiling of failures over all accounts (a cafe's staff share one
//!   NAT address, so it is far above what people mistype);
//! - enrollment has its own per-address bucket, so enrollment floods and login failures never
//!   spend each other's budget;
//! - at most [`LimitPolicy::hash_slots`] argon2 hashes run at once (19 MiB each); a login that
//!   cannot get a slot in [`LimitPolicy::hash_wait`] is refused with 503, not queued forever.
//!
//! The failures live in the store, not in this process: replicas behind a load balancer share
//! one count and a restart forgets nothing.

use crate::store::{now_ms, AttemptStats, Store};
use axum::http::HeaderMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use tokio::sync::{Semaphore, SemaphorePermit};

/// The figures of the limits (see the module documentation and `docs/security.md`).
#[derive(Debug, Clone)]
pub struct LimitPolicy {
    /// Failures per (account, client) in [`Self::pair_window`] before backoff starts.
    pub free_failures: u64,
    /// First backoff after the free failures; doubles with each further failure.
    pub backoff_base: Duration,
    /// Longest backoff.
    pub backoff_max: Duration,
    /// Window over which (account, client) failures count.
    pub pair_window: Duration,
    /// Failures per client address over every account in [`Self::client_window`].
    pub per_client: u64,
    /// Window of the per-client ceiling.
    pub client_window: Duration,
    /// Failed enrollments per client address in [`Self::client_window`].
    pub enroll_per_client: u64,
    /// Voucher self-checks per client address in [`Self::client_window`] (every check counts:
    /// a café's customers share its address, a guesser spends one per code).
    pub check_per_client: u64,
    /// Password hashes allowed to run at once.
    pub hash_slots: usize,
    /// How long a login waits for a hash slot before it is refused.
    pub hash_wait: Duration,
}

impl Default for LimitPolicy {
    fn default() -> Self {
        LimitPolicy {
            free_failures: 5,
            backoff_base: Duration::from_secs(30),
            backoff_max: Duration::from_secs(15 * 60),
            // A day: the backoff a guesser earned does not reset within the hour.
            pair_window: Duration::from_secs(24 * 3600),
            per_client: 300,
            client_window: Duration::from_secs(15 * 60),
            enroll_per_client: 30,
            check_per_client: 120,
            // Hashing is CPU-bound: more slots than cores only adds memory (19 MiB each).
            hash_slots: std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 4)),
            hash_wait: Duration::from_secs(2),
        }
    }
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl LimitPolicy {
    /// How long after the latest failure the next attempt of a pair with `count` failures may
    /// start: zero while under the free failures, then base, 2×base, 4×base … up to the max.
    pub fn backoff(&self, count: u64) -> Duration {
        if count < self.free_failures {
            return Duration::ZERO;
        }
        let doublings = u32::try_from(count - self.free_failures)
            .unwrap_or(u32::MAX)
            .min(20);
        self.backoff_base
            .saturating_mul(1u32 << doublings)
            .min(self.backoff_max)
    }

    fn pair_allows(&self, s: &AttemptStats, now: i64) -> bool {
        match s.last_at {
            Some(last) if s.count >= self.free_failures => {
                now >= last.saturating_add(ms(self.backoff(s.count)))
            }
            _ => true,
        }
    }
}

/// Why an attempt was not evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Over a limit: 429.
    Limited,
    /// Every hash slot is busy: 503.
    Busy,
    /// The counts could not be read or written: refuse (fail closed).
    Unavailable,
}

/// One reserved attempt: already counted as a failure until [`Attempt::succeeded`] or
/// [`Attempt::abandoned`] takes it back.
#[must_use = "an attempt must end as succeeded, failed or abandoned"]
pub struct Attempt {
    id: String,
    /// Cleared on success (the pair's failures), none for enrollment.
    pair: Option<String>,
}

impl Attempt {
    /// The credentials were right: take the attempt back and forget the pair's failures.
    pub async fn succeeded(self, store: &dyn Store) {
        let clear: Vec<&str> = self.pair.iter().map(String::as_str).collect();
        if let Err(e) = store.release_login_attempt(&self.id, &clear).await {
            // Harmless for this login: the stale failures merely age out of the window.
            tracing::warn!(error = %e, "could not clear failed attempts");
        }
    }

    /// The attempt was never evaluated (no hash slot): it does not count.
    pub async fn abandoned(self, store: &dyn Store) {
        if let Err(e) = store.release_login_attempt(&self.id, &[]).await {
            tracing::warn!(error = %e, "could not take back an unevaluated attempt");
        }
    }

    /// The credentials were wrong: the reservation stays as the failure; old rows are pruned
    /// here rather than in a timer, so the table stays small with no extra task per replica.
    pub async fn failed(self, store: &dyn Store, limiter: &RateLimiter) {
        let longest = limiter.policy.pair_window.max(limiter.policy.client_window);
        if let Err(e) = store
            .prune_login_failures(now_ms().saturating_sub(ms(longest)))
            .await
        {
            tracing::warn!(error = %e, "could not prune old failed attempts");
        }
    }
}

/// Login and enrollment limits, the hash cap, and who the client is.
pub struct RateLimiter {
    policy: LimitPolicy,
    hashes: Semaphore,
    trusted_proxy: Option<IpAddr>,
}

impl Default for RateLimiter {
    fn default() -> Self {
        RateLimiter::new(LimitPolicy::default(), None)
    }
}

/// The bucket of a client address: IPv6 clients by their /64, which one subscriber holds whole.
fn client_bucket(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

impl RateLimiter {
    /// Limits with `policy`; `trusted_proxy` is the reverse proxy whose `X-Forwarded-For` is
    /// believed (only on connections from that address).
    pub fn new(policy: LimitPolicy, trusted_proxy: Option<IpAddr>) -> Self {
        RateLimiter {
            hashes: Semaphore::new(policy.hash_slots.max(1)),
            policy,
            trusted_proxy,
        }
    }

    /// The policy in force.
    pub fn policy(&self) -> &LimitPolicy {
        &self.policy
    }

    /// The client's address bucket: the peer, or, when the peer is the trusted proxy, the
    /// address that proxy appended last to `X-Forwarded-For` (earlier entries are whatever the
    /// client sent, and a client could forge them).
    pub fn client(&self, peer: Option<SocketAddr>, headers: &HeaderMap) -> String {
        let Some(peer) = peer else {
            return "unknown".into();
        };
        let peer_ip = peer.ip().to_canonical();
        if self.trusted_proxy.map(|p| p.to_canonical()) == Some(peer_ip) {
            let forwarded = headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .last()
                .and_then(|v| v.trim().parse::<IpAddr>().ok());
            if let Some(ip) = forwarded {
                return client_bucket(ip);
            }
        }
        client_bucket(peer_ip)
    }

    /// Reserve a login attempt for `account` (already normalised) from `client`.
    pub async fn reserve_login(
        &self,
        store: &dyn Store,
        account: &str,
        client: &str,
    ) -> Result<Attempt, Refusal> {
        let now = now_ms();
        let pair = format!("login:{account}@{client}");
        let per_client = format!("login-client:{client}");
        let keys = [
            (
                pair.as_str(),
                now.saturating_sub(ms(self.policy.pair_window)),
            ),
            (
                per_client.as_str(),
                now.saturating_sub(ms(self.policy.client_window)),
            ),
        ];
        let policy = &self.policy;
        let decide = move |s: &[AttemptStats]| {
            s.len() == 2 && policy.pair_allows(&s[0], now) && s[1].count < policy.per_client
        };
        self.reserve(store, &keys, now, &decide, Some(pair.clone()))
            .await
    }

    /// Reserve an enrollment attempt from `client` (its own bucket, apart from logins).
    pub async fn reserve_enrollment(
        &self,
        store: &dyn Store,
        client: &str,
    ) -> Result<Attempt, Refusal> {
        let now = now_ms();
        let key = format!("enroll-client:{client}");
        let keys = [(
            key.as_str(),
            now.saturating_sub(ms(self.policy.client_window)),
        )];
        let max = self.policy.enroll_per_client;
        let decide = move |s: &[AttemptStats]| s.first().is_some_and(|s| s.count < max);
        self.reserve(store, &keys, now, &decide, None).await
    }

    /// Reserve a voucher self-check from `client` (its own bucket).
    pub async fn reserve_check(&self, store: &dyn Store, client: &str) -> Result<Attempt, Refusal> {
        let now = now_ms();
        let key = format!("check-client:{client}");
        let keys = [(
            key.as_str(),
            now.saturating_sub(ms(self.policy.client_window)),
        )];
        let max = self.policy.check_per_client;
        let decide = move |s: &[AttemptStats]| s.first().is_some_and(|s| s.count < max);
        self.reserve(store, &keys, now, &decide, None).await
    }

    async fn reserve(
        &self,
        store: &dyn Store,
        keys: &[(&str, i64)],
        now: i64,
        decide: &(dyn for<'s> Fn(&'s [AttemptStats]) -> bool + Send + Sync),
        pair: Option<String>,
    ) -> Result<Attempt, Refusal> {
        let id = hex::encode(rand::random::<[u8; 16]>());
        match store.reserve_login_attempt(keys, &id, now, decide).await {
            Ok(true) => Ok(Attempt { id, pair }),
            Ok(false) => Err(Refusal::Limited),
            Err(e) => {
                // Fail closed: without the shared counts a guesser cannot be told from a user.
                tracing::error!(error = %e, "attempt limits unreadable; refusing");
                Err(Refusal::Unavailable)
            }
        }
    }

    /// A slot to hash a password in, waiting at most [`LimitPolicy::hash_wait`].
    pub async fn hash_slot(&self) -> Result<SemaphorePermit<'_>, Refusal> {
        match tokio::time::timeout(self.policy.hash_wait, self.hashes.acquire()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(Refusal::Busy),
        }
    }

    /// Hash slots free now (for tests and metrics).
    pub fn free_hash_slots(&self) -> usize {
        self.hashes.available_permits()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::sqlite_store;
    use std::sync::Arc;

    #[test]
    fn backoff_doubles_after_the_free_failures_up_to_the_max() {
        let p = LimitPolicy::default();
        assert_eq!(p.backoff(4), Duration::ZERO);
        assert_eq!(p.backoff(5), Duration::from_secs(30));
        assert_eq!(p.backoff(6), Duration::from_secs(60));
        assert_eq!(p.backoff(9), Duration::from_secs(480));
        assert_eq!(p.backoff(10), Duration::from_secs(900));
        assert_eq!(p.backoff(u64::MAX), Duration::from_secs(900));
    }

    #[tokio::test]
    async fn a_pair_slows_down_but_the_account_elsewhere_and_other_accounts_do_not() {
        let (store, _dir) = sqlite_store().await;
        let s = store.as_ref();
        let l = RateLimiter::default();
        for _ in 0..5 {
            let a = l.reserve_login(s, "staff", "10.0.0.1").await.unwrap();
            a.failed(s, &l).await;
        }
        assert_eq!(
            l.reserve_login(s, "staff", "10.0.0.1").await.err(),
            Some(Refusal::Limited),
            "the sixth try from the same client waits for the backoff"
        );
        let other_client = l.reserve_login(s, "staff", "10.0.0.2").await.unwrap();
        other_client.succeeded(s).await;
        let other_account = l.reserve_login(s, "manager", "10.0.0.1").await.unwrap();
        other_account.succeeded(s).await;
    }

    #[tokio::test]
    async fn concurrent_reservations_never_pass_the_limit() {
        let (store, _dir) = sqlite_store().await;
        let l = Arc::new(RateLimiter::default());
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let (store, l) = (store.clone(), l.clone());
                tokio::spawn(async move {
                    l.reserve_login(store.as_ref(), "staff", "10.0.0.1")
                        .await
                        .is_ok()
                })
            })
            .collect();
        let mut granted = 0;
        for t in tasks {
            granted += usize::from(t.await.unwrap());
        }
        assert_eq!(granted, 5, "only the free failures are evaluated at once");
    }

    #[tokio::test]
    async fn success_takes_its_reservation_back_and_abandoned_attempts_do_not_count() {
        let (store, _dir) = sqlite_store().await;
        let s = store.as_ref();
        let l = RateLimiter::new(
            LimitPolicy {
                per_client: 2,
                ..LimitPolicy::default()
            },
            None,
        );
        for _ in 0..10 {
            l.reserve_login(s, "a", "ip")
                .await
                .unwrap()
                .succeeded(s)
                .await;
            l.reserve_login(s, "b", "ip")
                .await
                .unwrap()
                .abandoned(s)
                .await;
        }
        l.reserve_login(s, "c", "ip")
            .await
            .unwrap()
            .failed(s, &l)
            .await;
        l.reserve_login(s, "d", "ip")
            .await
            .unwrap()
            .failed(s, &l)
            .await;
        assert_eq!(
            l.reserve_login(s, "e", "ip").await.err(),
            Some(Refusal::Limited),
            "the per-client ceiling counts failures only"
        );
    }

    #[tokio::test]
    async fn enrollment_has_its_own_bucket() {
        let (store, _dir) = sqlite_store().await;
        let s = store.as_ref();
        let l = RateLimiter::default();
        for _ in 0..30 {
            l.reserve_enrollment(s, "ip")
                .await
                .unwrap()
                .failed(s, &l)
                .await;
        }
        assert_eq!(
            l.reserve_enrollment(s, "ip").await.err(),
            Some(Refusal::Limited)
        );
        l.reserve_login(s, "staff", "ip")
            .await
            .unwrap()
            .succeeded(s)
            .await;
    }

    #[tokio::test]
    async fn a_second_limiter_on_the_same_store_sees_the_reservations() {
        let (store, _dir) = sqlite_store().await;
        let s = store.as_ref();
        let (one, two) = (RateLimiter::default(), RateLimiter::default());
        for _ in 0..5 {
            one.reserve_login(s, "staff", "ip")
                .await
                .unwrap()
                .failed(s, &one)
                .await;
        }
        assert!(two.reserve_login(s, "staff", "ip").await.is_err());
    }

    #[test]
    fn the_forwarded_address_is_believed_only_from_the_trusted_proxy() {
        let proxy: IpAddr = "127.0.0.1".parse().unwrap();
        let l = RateLimiter::new(LimitPolicy::default(), Some(proxy));
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "6.6.6.6, 203.0.113.9".parse().unwrap());
        let via_proxy = l.client(Some("127.0.0.1:5000".parse().unwrap()), &h);
        assert_eq!(via_proxy, "203.0.113.9", "the entry the proxy appended");
        let direct = l.client(Some("198.51.100.7:5000".parse().unwrap()), &h);
        assert_eq!(direct, "198.51.100.7", "anyone else's header is ignored");
        let untrusting = RateLimiter::default();
        assert_eq!(
            untrusting.client(Some("127.0.0.1:5000".parse().unwrap()), &h),
            "127.0.0.1"
        );
        let v6 = l.client(Some("[2001:db8:1:2:3:4:5:6]:5000".parse().unwrap()), &h);
        assert_eq!(v6, "2001:db8:1:2::/64");
    }

    #[tokio::test]
    async fn hash_slots_are_capped() {
        let l = RateLimiter::new(
            LimitPolicy {
                hash_slots: 1,
                hash_wait: Duration::from_millis(10),
                ..LimitPolicy::default()
            },
            None,
        );
        let first = l.hash_slot().await.unwrap();
        assert_eq!(l.hash_slot().await.err(), Some(Refusal::Busy));
        drop(first);
        assert!(l.hash_slot().await.is_ok());
    }
}
