//! Login attempt limits per account and per client address.
//!
//! Kept in memory: a restart or another replica starts counting afresh, which is acceptable for
//! slowing guessing (argon2id already makes each guess costly); a shared limit belongs in the
//! store when several replicas serve logins.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Counts failed logins in a fixed window.
pub struct RateLimiter {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
    per_account: u32,
    per_address: u32,
    window: Duration,
}

impl Default for RateLimiter {
    fn default() -> Self {
        RateLimiter::new(5, 20, Duration::from_secs(15 * 60))
    }
}

impl RateLimiter {
    /// At most `per_account` failures per account and `per_address` per address in `window`.
    pub fn new(per_account: u32, per_address: u32, window: Duration) -> Self {
        RateLimiter {
            failures: Mutex::new(HashMap::new()),
            per_account,
            per_address,
            window,
        }
    }

    fn count(&self, key: &str) -> u32 {
        let Ok(mut m) = self.failures.lock() else {
            return 0;
        };
        match m.get(key) {
            Some((_, since)) if since.elapsed() > self.window => {
                m.remove(key);
                0
            }
            Some((n, _)) => *n,
            None => 0,
        }
    }

    /// May this account try from this address now?
    pub fn allowed(&self, account: &str, address: &str) -> bool {
        self.count(&format!("u:{account}")) < self.per_account
            && self.count(&format!("a:{address}")) < self.per_address
    }

    /// Record a failed attempt.
    pub fn failed(&self, account: &str, address: &str) {
        if let Ok(mut m) = self.failures.lock() {
            if m.len() > 100_000 {
                // Bound memory under a flood of made-up names.
                let window = self.window;
                m.retain(|_, (_, since)| since.elapsed() <= window);
            }
            for key in [format!("u:{account}"), format!("a:{address}")] {
                let e = m.entry(key).or_insert((0, Instant::now()));
                e.0 += 1;
            }
        }
    }

    /// A successful login clears the account's count.
    pub fn succeeded(&self, account: &str) {
        if let Ok(mut m) = self.failures.lock() {
            m.remove(&format!("u:{account}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_account_and_per_address() {
        let l = RateLimiter::new(2, 3, Duration::from_secs(60));
        l.failed("a", "ip1");
        l.failed("a", "ip1");
        assert!(
            !l.allowed("a", "ip2"),
            "account limit holds from any address"
        );
        assert!(l.allowed("b", "ip1"));
        l.failed("b", "ip1");
        assert!(
            !l.allowed("c", "ip1"),
            "address limit holds for any account"
        );
        l.succeeded("a");
        assert!(l.allowed("a", "ip2"));
    }
}
