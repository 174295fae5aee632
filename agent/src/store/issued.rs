//! The vouchers this agent made under commands the control plane signed, kept so its usage
//! reports and inventories can vouch for them. A control plane restored from an older backup
//! (or whose database was cut short) no longer knows them, and without this word it would call
//! them rogue and blame the staff on duty for what were honest sales.

use mtm_common::envelope::{from_cbor, to_cbor};
use mtm_common::{token_id_from_comment, Inventory, IssuedHere, Usage, UsageReport};
use redb::ReadableTable;
use uuid::Uuid;

use super::{Store, StoreError, Txn, ISSUED};

/// How long a voucher is vouched for after it was issued even once its user is gone from the
/// router: the router's log can still show its logins, and nightly backups are far younger.
pub const KEEP_MS: i64 = 30 * 86_400_000;

impl Txn<'_> {
    /// Remember that `issued` was made on the router under a signed command.
    pub fn record_issued(&mut self, issued: &IssuedHere) -> Result<(), StoreError> {
        self.tx
            .open_table(ISSUED)?
            .insert(issued.token_id.as_u128(), to_cbor(issued)?.as_slice())?;
        Ok(())
    }

    /// Forget the vouchers issued more than [`KEEP_MS`] ago whose users are not among
    /// `present` (token ids on the router now), so the table stays as small as the router.
    pub fn prune_issued(&mut self, present: &[Uuid]) -> Result<u64, StoreError> {
        let now = self.now_ms;
        let mut n = 0;
        self.tx.open_table(ISSUED)?.retain(|k, v| {
            let old = from_cbor::<IssuedHere>(v)
                .map(|i| now.saturating_sub(i.issued_at) > KEEP_MS)
                .unwrap_or(true);
            let keep = !old || present.iter().any(|p| p.as_u128() == k);
            if !keep {
                n += 1;
            }
            keep
        })?;
        Ok(n)
    }
}

impl Txn<'_> {
    /// The vouchers among `token_ids` and `codes` that this agent made under signed commands.
    pub fn issued_here(
        &self,
        token_ids: &[Uuid],
        codes: &[&str],
    ) -> Result<Vec<IssuedHere>, StoreError> {
        lookup(&self.tx.open_table(ISSUED)?, token_ids, codes)
    }

    /// A usage report of `entries`, vouching for those this agent made.
    pub fn usage_report(&self, entries: Vec<Usage>) -> Result<UsageReport, StoreError> {
        let ids: Vec<Uuid> = entries.iter().filter_map(|u| u.token_id).collect();
        // An entry without a comment may still be a voucher this agent made (comment edited).
        let bare: Vec<&str> = entries
            .iter()
            .filter(|u| u.token_id.is_none())
            .map(|u| u.username.as_str())
            .collect();
        let issued_here = self.issued_here(&ids, &bare)?;
        Ok(UsageReport {
            entries,
            issued_here,
        })
    }

    /// Vouch for the vouchers `inventory` shows (users and logged logins) that this agent
    /// made, and forget old ones no longer on the router.
    pub fn vouch_inventory(&mut self, inventory: &mut Inventory) -> Result<(), StoreError> {
        let ids: Vec<Uuid> = inventory
            .users
            .iter()
            .filter_map(|u| u.comment.as_deref().and_then(token_id_from_comment))
            .collect();
        let names: Vec<&str> = inventory
            .users
            .iter()
            .filter(|u| {
                u.comment
                    .as_deref()
                    .and_then(token_id_from_comment)
                    .is_none()
            })
            .map(|u| u.name.as_str())
            .chain(inventory.logins.iter().map(|l| l.user.as_str()))
            .chain(inventory.sessions.iter().map(|s| s.user.as_str()))
            .collect();
        inventory.issued_here = self.issued_here(&ids, &names)?;
        self.prune_issued(&ids)?;
        Ok(())
    }
}

impl Store {
    /// [`Txn::issued_here`] in a read transaction.
    pub fn issued_here(
        &self,
        token_ids: &[Uuid],
        codes: &[&str],
    ) -> Result<Vec<IssuedHere>, StoreError> {
        self.read(|tx| lookup(&tx.open_table(ISSUED)?, token_ids, codes))
    }
}

fn lookup(
    t: &impl ReadableTable<u128, &'static [u8]>,
    token_ids: &[Uuid],
    codes: &[&str],
) -> Result<Vec<IssuedHere>, StoreError> {
    let mut out = Vec::new();
    for id in token_ids {
        if let Some(v) = t.get(id.as_u128())? {
            out.push(from_cbor::<IssuedHere>(v.value())?);
        }
    }
    if !codes.is_empty() {
        // By name for users whose comment is gone and the router log's lines, whose users may
        // be gone too: a scan of a table about as small as the router's user list.
        for row in t.iter()? {
            let (_, v) = row?;
            let i: IssuedHere = from_cbor(v.value())?;
            if codes.contains(&i.code.as_str()) && !out.contains(&i) {
                out.push(i);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::store::tests::temp_store;
    use mtm_common::IssuedHere;
    use uuid::Uuid;

    #[test]
    fn vouched_for_by_id_or_code_and_forgotten_once_old_and_gone() {
        let (_d, s) = temp_store();
        let now = crate::store::now_ms();
        let fresh = IssuedHere {
            token_id: Uuid::new_v4(),
            code: "FRESH123".into(),
            issued_at: now,
        };
        let old_gone = IssuedHere {
            token_id: Uuid::new_v4(),
            code: "OLDGONE1".into(),
            issued_at: now - super::KEEP_MS - 1,
        };
        let old_present = IssuedHere {
            token_id: Uuid::new_v4(),
            code: "OLDHERE1".into(),
            issued_at: now - super::KEEP_MS - 1,
        };
        s.write(|t| {
            for i in [&fresh, &old_gone, &old_present] {
                t.record_issued(i)?;
            }
            Ok(())
        })
        .unwrap();
        let found = s
            .issued_here(&[fresh.token_id, Uuid::new_v4()], &["OLDGONE1"])
            .unwrap();
        assert_eq!(found, vec![fresh.clone(), old_gone.clone()]);
        let pruned = s
            .write(|t| t.prune_issued(&[old_present.token_id]))
            .unwrap();
        assert_eq!(pruned, 1);
        let left = s
            .issued_here(
                &[fresh.token_id, old_gone.token_id, old_present.token_id],
                &[],
            )
            .unwrap();
        assert_eq!(left, vec![fresh, old_present]);
    }
}
