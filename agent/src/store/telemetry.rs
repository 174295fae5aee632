//! Telemetry state that must survive a restart: the last reported counters per hotspot user
//! (so no delta is lost or repeated) and the validity windows the agent enforces.

use std::collections::HashMap;

use mtm_common::envelope::{from_cbor, to_cbor};
use redb::ReadableTable;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Store, StoreError, Txn, BASELINE, VALIDITY};

/// The counters last reported for one hotspot user.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Baseline {
    /// Cumulative uptime reported.
    pub uptime_s: u64,
    /// Cumulative upload reported.
    pub bytes_in: u64,
    /// Cumulative download reported.
    pub bytes_out: u64,
    /// Was active at the last report.
    pub active: bool,
    /// When the agent first saw the user logged in.
    pub first_login_at: Option<i64>,
}

/// A token whose validity window the agent enforces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validity {
    /// The hotspot user name (voucher code).
    pub username: String,
    /// Valid this long after first login.
    pub validity_s: u64,
    /// When the agent first saw it logged in.
    pub first_login_at: Option<i64>,
    /// When the agent expired it.
    pub expired_at: Option<i64>,
}

impl Validity {
    /// When the window ends, once the token has been used.
    pub fn deadline_ms(&self) -> Option<i64> {
        self.first_login_at
            .map(|t| t.saturating_add((self.validity_s as i64).saturating_mul(1000)))
    }
}

impl Store {
    /// Every stored baseline, by user name.
    pub fn baselines(&self) -> Result<HashMap<String, Baseline>, StoreError> {
        self.read(|tx| {
            let t = tx.open_table(BASELINE)?;
            let mut out = HashMap::new();
            for row in t.iter()? {
                let (k, v) = row?;
                out.insert(k.value().to_owned(), from_cbor(v.value())?);
            }
            Ok(out)
        })
    }

    /// Every validity window, by token id.
    pub fn validities(&self) -> Result<HashMap<Uuid, Validity>, StoreError> {
        self.read(|tx| {
            let t = tx.open_table(VALIDITY)?;
            let mut out = HashMap::new();
            for row in t.iter()? {
                let (k, v) = row?;
                out.insert(Uuid::from_u128(k.value()), from_cbor(v.value())?);
            }
            Ok(out)
        })
    }
}

impl Txn<'_> {
    /// Store the counters just reported for `user`.
    pub fn set_baseline(&mut self, user: &str, b: &Baseline) -> Result<(), StoreError> {
        self.tx
            .open_table(BASELINE)?
            .insert(user, to_cbor(b)?.as_slice())?;
        Ok(())
    }

    /// The counters last reported for `user`, if any.
    pub fn baseline(&self, user: &str) -> Result<Option<Baseline>, StoreError> {
        let t = self.tx.open_table(BASELINE)?;
        let v = t.get(user)?;
        match v {
            Some(v) => Ok(Some(from_cbor(v.value())?)),
            None => Ok(None),
        }
    }

    /// Forget a user that is gone from the router.
    pub fn remove_baseline(&mut self, user: &str) -> Result<(), StoreError> {
        self.tx.open_table(BASELINE)?.remove(user)?;
        Ok(())
    }

    /// Store a validity window.
    pub fn set_validity(&mut self, token: Uuid, v: &Validity) -> Result<(), StoreError> {
        self.tx
            .open_table(VALIDITY)?
            .insert(token.as_u128(), to_cbor(v)?.as_slice())?;
        Ok(())
    }

    /// Store a validity window unless one is already tracked (a repeated create must not
    /// restart the clock).
    pub fn set_validity_if_absent(&mut self, token: Uuid, v: &Validity) -> Result<(), StoreError> {
        let mut t = self.tx.open_table(VALIDITY)?;
        if t.get(token.as_u128())?.is_none() {
            t.insert(token.as_u128(), to_cbor(v)?.as_slice())?;
        }
        Ok(())
    }

    /// Forget a validity window (token removed).
    pub fn remove_validity(&mut self, token: Uuid) -> Result<(), StoreError> {
        self.tx.open_table(VALIDITY)?.remove(token.as_u128())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::temp_store;

    #[test]
    fn baselines_and_validities_round_trip() {
        let (_d, s) = temp_store();
        let b = Baseline {
            uptime_s: 5,
            bytes_in: 6,
            bytes_out: 7,
            active: true,
            first_login_at: Some(9),
        };
        let id = Uuid::new_v4();
        let v = Validity {
            username: "ABC".into(),
            validity_s: 10,
            first_login_at: Some(1000),
            expired_at: None,
        };
        s.write(|t| {
            t.set_baseline("ABC", &b)?;
            t.set_validity(id, &v)
        })
        .unwrap();
        assert_eq!(s.baselines().unwrap()["ABC"], b);
        assert_eq!(s.validities().unwrap()[&id].deadline_ms(), Some(11_000));
        s.write(|t| {
            t.remove_baseline("ABC")?;
            t.remove_validity(id)
        })
        .unwrap();
        assert!(s.baselines().unwrap().is_empty());
        assert!(s.validities().unwrap().is_empty());
    }
}
