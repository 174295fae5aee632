//! Lock-to-first-device vouchers the agent watches: which still wait for their first login,
//! and which it has bound (a bound voucher is never bound again, so a MAC cleared on the router
//! stays cleared for the server's inventory check to see).

use std::collections::HashMap;

use mtm_common::envelope::{from_cbor, to_cbor};
use redb::ReadableTable;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Store, StoreError, Txn, MAC_LOCK};

/// A voucher sold with "lock to first device".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MacLock {
    /// The hotspot user name (voucher code).
    pub username: String,
    /// The MAC the agent bound it to; `None` until its first login.
    pub bound_mac: Option<String>,
}

impl Store {
    /// Every lock-to-MAC voucher, by token id.
    pub fn mac_locks(&self) -> Result<HashMap<Uuid, MacLock>, StoreError> {
        self.read(|tx| {
            let t = tx.open_table(MAC_LOCK)?;
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
    /// Store a lock (a new voucher, or one just bound).
    pub fn set_mac_lock(&mut self, token: Uuid, lock: &MacLock) -> Result<(), StoreError> {
        self.tx
            .open_table(MAC_LOCK)?
            .insert(token.as_u128(), to_cbor(lock)?.as_slice())?;
        Ok(())
    }

    /// Store a lock unless one is already kept (a repeated create must not unbind a voucher).
    pub fn set_mac_lock_if_absent(
        &mut self,
        token: Uuid,
        lock: &MacLock,
    ) -> Result<(), StoreError> {
        let mut t = self.tx.open_table(MAC_LOCK)?;
        if t.get(token.as_u128())?.is_none() {
            t.insert(token.as_u128(), to_cbor(lock)?.as_slice())?;
        }
        Ok(())
    }

    /// Forget a lock (token removed).
    pub fn remove_mac_lock(&mut self, token: Uuid) -> Result<(), StoreError> {
        self.tx.open_table(MAC_LOCK)?.remove(token.as_u128())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::temp_store;

    #[test]
    fn a_lock_is_kept_bound_and_forgotten() {
        let (_d, s) = temp_store();
        let id = Uuid::new_v4();
        let fresh = MacLock {
            username: "ABC".into(),
            bound_mac: None,
        };
        let bound = MacLock {
            bound_mac: Some("34:12:F9:8A:21:4C".into()),
            ..fresh.clone()
        };
        s.write(|t| t.set_mac_lock_if_absent(id, &fresh)).unwrap();
        s.write(|t| t.set_mac_lock(id, &bound)).unwrap();
        // A repeated create leaves the binding alone.
        s.write(|t| t.set_mac_lock_if_absent(id, &fresh)).unwrap();
        assert_eq!(s.mac_locks().unwrap()[&id], bound);
        s.write(|t| t.remove_mac_lock(id)).unwrap();
        assert!(s.mac_locks().unwrap().is_empty());
    }
}
