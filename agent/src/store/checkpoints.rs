//! The agent as a witness of the control plane's hash chains: it keeps the signed checkpoints it
//! is sent (`DownMessage::Checkpoints`) and hands them all back on request, so a database cut
//! short or restored from an older backup is caught by `mtm-server audit verify` even when the
//! database owner controls everything on the server's side.
//!
//! Bounded: per chain, the newest [`KEEP_RECENT`] plus the newest of each UTC day for
//! [`KEEP_DAYS`] days, a few hundred records of ~250 bytes.

use mtm_common::envelope::{from_cbor, to_cbor};
use mtm_common::Checkpoint;
use redb::{ReadableTable, ReadableTableMetadata, TableDefinition};

use super::{Store, StoreError};

/// Checkpoints by (chain, signing time).
pub(crate) const CHECKPOINTS: TableDefinition<(&str, i64), &[u8]> =
    TableDefinition::new("checkpoints");

/// Newest checkpoints kept per chain whatever their day (six hours at one per 10 minutes).
pub const KEEP_RECENT: usize = 36;

/// Days for which the newest checkpoint of the day is kept.
pub const KEEP_DAYS: i64 = 400;

const DAY_MS: i64 = 86_400_000;

impl Store {
    /// Keep `checkpoints` (already verified against the control-plane key) and drop what the
    /// bounds no longer allow. Returns how many are kept in all.
    pub fn keep_checkpoints(&self, checkpoints: &[Checkpoint]) -> Result<u64, StoreError> {
        self.write(|t| {
            let mut tbl = t.tx.open_table(CHECKPOINTS)?;
            for c in checkpoints {
                tbl.insert((c.chain.as_str(), c.at), to_cbor(c)?.as_slice())?;
            }
            let mut chains: Vec<&str> = checkpoints.iter().map(|c| c.chain.as_str()).collect();
            chains.sort_unstable();
            chains.dedup();
            for chain in chains {
                let mut kept = Vec::new();
                for r in tbl.range((chain, i64::MIN)..=(chain, i64::MAX))? {
                    let (k, v) = r?;
                    let c: Checkpoint = from_cbor(v.value())?;
                    kept.push((k.value().1, c.rows));
                }
                for at in expired(&kept) {
                    tbl.remove((chain, at))?;
                }
            }
            Ok(tbl.len()?)
        })
    }

    /// Keep those of `checkpoints` that hold under the pinned control-plane key; the rest are
    /// logged and dropped (the envelope was the control plane's, so a bad one is a bug, not an
    /// attack). Returns how many are kept in all.
    pub fn keep_verified(
        &self,
        checkpoints: &[Checkpoint],
        cp_key: &ed25519_dalek::VerifyingKey,
    ) -> Result<u64, StoreError> {
        let good: Vec<Checkpoint> = checkpoints
            .iter()
            .take(mtm_common::checkpoint::MAX_CHECKPOINTS_PER_MESSAGE)
            .filter(|c| match c.verify(cp_key) {
                Ok(()) => true,
                Err(e) => {
                    tracing::warn!(error = %e, chain = %c.chain, "checkpoint refused");
                    false
                }
            })
            .cloned()
            .collect();
        self.keep_checkpoints(&good)
    }

    /// Signing time of the newest checkpoint kept, of any chain.
    pub fn newest_checkpoint_at(&self) -> Result<Option<i64>, StoreError> {
        self.read(|tx| {
            let tbl = match tx.open_table(CHECKPOINTS) {
                Ok(t) => t,
                Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
                Err(e) => return Err(e.into()),
            };
            let mut newest = None;
            for chain in mtm_common::checkpoint::CHAINS {
                if let Some(r) = tbl
                    .range((chain, i64::MIN)..=(chain, i64::MAX))?
                    .next_back()
                {
                    let at = r?.0.value().1;
                    newest = Some(newest.map_or(at, |n: i64| n.max(at)));
                }
            }
            Ok(newest)
        })
    }

    /// Every checkpoint kept, by chain, oldest first.
    pub fn checkpoints(&self) -> Result<Vec<Checkpoint>, StoreError> {
        self.read(|tx| {
            let tbl = match tx.open_table(CHECKPOINTS) {
                Ok(t) => t,
                // Never written yet: nothing witnessed.
                Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
                Err(e) => return Err(e.into()),
            };
            let mut out = Vec::new();
            for r in tbl.iter()? {
                let (_, v) = r?;
                out.push(from_cbor(v.value())?);
            }
            Ok(out)
        })
    }
}

/// Which of one chain's checkpoints, given as (signing time, rows) in ascending time, the
/// bounds drop. The one counting the most rows is never dropped: a control plane restored from
/// an older backup keeps signing shorter checkpoints, and those must not push the evidence of
/// the lost rows out.
fn expired(kept: &[(i64, u64)]) -> Vec<i64> {
    let Some(&(newest, _)) = kept.last() else {
        return Vec::new();
    };
    let longest = kept
        .iter()
        .max_by_key(|(at, rows)| (*rows, *at))
        .map(|k| k.0);
    let recent_from = kept.len().saturating_sub(KEEP_RECENT);
    let oldest_day = newest.div_euclid(DAY_MS).saturating_sub(KEEP_DAYS - 1);
    let mut out = Vec::new();
    for (i, &(at, _)) in kept[..recent_from].iter().enumerate() {
        let day = at.div_euclid(DAY_MS);
        let newest_of_its_day = kept
            .get(i + 1)
            .is_none_or(|next| next.0.div_euclid(DAY_MS) != day);
        if (!newest_of_its_day || day < oldest_day) && Some(at) != longest {
            out.push(at);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use mtm_common::checkpoint::{AUDIT_CHAIN, LEDGER_CHAIN};
    use mtm_common::keys::generate_signing_key;

    const HEAD: &str = "00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff";

    #[test]
    fn keeps_the_newest_and_one_a_day_and_survives_a_reopen() {
        let cp = generate_signing_key();
        let (dir, store) = crate::store::tests::temp_store();
        // Three days of checkpoints every 10 minutes, both chains.
        let start = 1_800_000_000_000 / DAY_MS * DAY_MS;
        let every = 600_000;
        let n = 3 * 144;
        for i in 0..n {
            let at = start + i * every;
            let batch = [
                Checkpoint::sign(&cp, LEDGER_CHAIN, i as u64, HEAD, at),
                Checkpoint::sign(&cp, AUDIT_CHAIN, i as u64, HEAD, at),
            ];
            store.keep_checkpoints(&batch).unwrap();
        }
        let kept = store.checkpoints().unwrap();
        let ledger: Vec<_> = kept.iter().filter(|c| c.chain == LEDGER_CHAIN).collect();
        // The newest 36 (all on the last day) plus the last of each of the two days before.
        assert_eq!(ledger.len(), KEEP_RECENT + 2);
        assert_eq!(ledger.last().unwrap().rows, n as u64 - 1);
        assert_eq!(ledger[0].at, start + 143 * every);
        assert_eq!(ledger[1].at, start + 287 * every);
        assert_eq!(kept.len(), 2 * (KEEP_RECENT + 2));
        assert!(kept.iter().all(|c| c.verify(&cp.verifying_key()).is_ok()));

        let key = store.signing_key().clone();
        drop(store);
        let again = Store::open(dir.path(), key, "agent-t").unwrap();
        assert_eq!(again.checkpoints().unwrap(), kept);
    }

    #[test]
    fn days_older_than_the_bound_go() {
        let kept: Vec<(i64, u64)> = (0..(KEEP_DAYS + 5))
            .map(|d| (d * DAY_MS + 5, d as u64))
            .collect();
        let days = |n: &[i64]| n.iter().map(|d| d * DAY_MS + 5).collect::<Vec<_>>();
        assert_eq!(expired(&kept), days(&[0, 1, 2, 3, 4]));
        assert!(expired(&[]).is_empty());
    }

    #[test]
    fn the_longest_chain_seen_is_kept_whatever_comes_after() {
        // 100 rows witnessed, then a control plane restored to 60 rows signs for days on end.
        let mut kept = vec![(5, 100)];
        kept.extend(
            (1..(KEEP_DAYS + 5))
                .flat_map(|d| (0..4).map(move |i| (d * DAY_MS + i * 600_000, 60 + i as u64))),
        );
        let dropped = expired(&kept);
        assert!(!dropped.contains(&5));
        // Everything else follows the usual bounds: the newest of a recent day stays, the
        // others of that day and every one of a day past `KEEP_DAYS` go.
        let day = |d: i64, i: i64| d * DAY_MS + i * 600_000;
        assert!(!dropped.contains(&day(10, 3)));
        assert!(dropped.contains(&day(10, 0)));
        assert!(dropped.contains(&day(1, 3)));
        assert_eq!(
            kept.len() - dropped.len(),
            1 + KEEP_RECENT + usize::try_from(KEEP_DAYS - 9).unwrap()
        );
    }
}
