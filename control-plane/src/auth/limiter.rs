//! Login (and enrollment) attempt limits per account and per client address.
//!
//! The failures live in the store, not in this process: replicas behind a load balancer share
//! one count, so N replicas do not give a guesser N times the attempts, and a restart forgets
//! nothing. The limiter itself holds only the limits.

use crate::store::{now_ms, Store, StoreResult};
use std::time::Duration;

/// Counts failed logins in a sliding window, in the store.
pub struct RateLimiter {
    per_account: u64,
    per_address: u64,
    window_ms: i64,
}

impl Default for RateLimiter {
    fn default() -> Self {
        RateLimiter::new(5, 20, Duration::from_secs(15 * 60))
    }
}

fn account_key(account: &str) -> String {
    format!("account:{account}")
}

fn address_key(address: &str) -> String {
    format!("address:{address}")
}

impl RateLimiter {
    /// At most `per_account` failures per account and `per_address` per address in `window`.
    pub fn new(per_account: u32, per_address: u32, window: Duration) -> Self {
        RateLimiter {
            per_account: u64::from(per_account),
            per_address: u64::from(per_address),
            window_ms: i64::try_from(window.as_millis()).unwrap_or(i64::MAX),
        }
    }

    fn window_start(&self) -> i64 {
        now_ms().saturating_sub(self.window_ms)
    }

    /// May this account try from this address now? Callers must refuse on an error too: without
    /// the counts a guesser cannot be told from a user.
    pub async fn allowed(
        &self,
        store: &dyn Store,
        account: &str,
        address: &str,
    ) -> StoreResult<bool> {
        let since = self.window_start();
        Ok(
            store.login_failures(&account_key(account), since).await? < self.per_account
                && store.login_failures(&address_key(address), since).await? < self.per_address,
        )
    }

    /// Record a failed attempt, and drop failures no window counts any more (here rather than
    /// in a timer, so the table stays small with no extra task per replica).
    pub async fn failed(&self, store: &dyn Store, account: &str, address: &str) -> StoreResult<()> {
        let (a, b) = (account_key(account), address_key(address));
        store.record_login_failure(&[&a, &b], now_ms()).await?;
        store.prune_login_failures(self.window_start()).await?;
        Ok(())
    }

    /// A successful login clears the account's count (not the address's).
    pub async fn succeeded(&self, store: &dyn Store, account: &str) -> StoreResult<()> {
        store.clear_login_failures(&account_key(account)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::sqlite_store;

    #[tokio::test]
    async fn limits_per_account_and_per_address() {
        let (store, _dir) = sqlite_store().await;
        let s = store.as_ref();
        let l = RateLimiter::new(2, 3, Duration::from_secs(60));
        l.failed(s, "a", "ip1").await.unwrap();
        l.failed(s, "a", "ip1").await.unwrap();
        assert!(
            !l.allowed(s, "a", "ip2").await.unwrap(),
            "account limit holds from any address"
        );
        assert!(l.allowed(s, "b", "ip1").await.unwrap());
        l.failed(s, "b", "ip1").await.unwrap();
        assert!(
            !l.allowed(s, "c", "ip1").await.unwrap(),
            "address limit holds for any account"
        );
        l.succeeded(s, "a").await.unwrap();
        assert!(l.allowed(s, "a", "ip2").await.unwrap());
    }

    #[tokio::test]
    async fn a_second_limiter_on_the_same_store_sees_the_failures() {
        let (store, _dir) = sqlite_store().await;
        let s = store.as_ref();
        let (one, two) = (RateLimiter::default(), RateLimiter::default());
        for _ in 0..5 {
            one.failed(s, "staff", "ip1").await.unwrap();
        }
        assert!(!two.allowed(s, "staff", "ip2").await.unwrap());
        two.succeeded(s, "staff").await.unwrap();
        assert!(one.allowed(s, "staff", "ip1").await.unwrap());
    }

    #[tokio::test]
    async fn failures_outside_the_window_do_not_count() {
        let (store, _dir) = sqlite_store().await;
        let s = store.as_ref();
        let l = RateLimiter::new(1, 10, Duration::from_secs(60));
        // An old failure, as if recorded before the window began.
        s.record_login_failure(&["account:a", "address:ip1"], now_ms() - 61_000)
            .await
            .unwrap();
        assert!(l.allowed(s, "a", "ip1").await.unwrap());
        l.failed(s, "b", "ip1").await.unwrap();
        assert_eq!(
            s.login_failures("account:a", 0).await.unwrap(),
            0,
            "recording a failure prunes rows the window no longer counts"
        );
    }
}
