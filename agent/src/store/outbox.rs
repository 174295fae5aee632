//! The outbox: sealed up-messages by `seq`, kept until the control plane acknowledges them.

use std::sync::atomic::{AtomicI64, Ordering};

use mtm_common::{Envelope, LoggedLogin, UpMessage, Usage, UsageReport, CONTROL_PLANE_ID};
use redb::{ReadableTable, ReadableTableMetadata};

use super::{Store, StoreError, Txn, LAST_ACKED, NEXT_SEQ, OUTBOX};

/// Most messages the outbox holds. Telemetry never grows it past a handful of rows (see
/// [`Txn::enqueue`]); what remains is command results, so at this size the agent stops carrying
/// out new commands until the control plane acknowledges (they wait, recorded, in the inbox).
pub const OUTBOX_CAP: u64 = 100_000;

const KIND_OTHER: u8 = 0;
const KIND_USAGE: u8 = 1;
const KIND_INVENTORY: u8 = 2;
const KIND_HEALTH: u8 = 3;
const KIND_HELLO: u8 = 4;

/// Meta key: `seq` of the newest inventory in the outbox.
const LAST_INVENTORY_SEQ: &str = "last_inventory_seq";
/// Meta key: `seq` of the newest health report.
const LAST_HEALTH_SEQ: &str = "last_health_seq";
/// Meta key: `seq` of the newest hello.
const LAST_HELLO_SEQ: &str = "last_hello_seq";
/// Meta key: `seq` of the newest usage report.
const LAST_USAGE_SEQ: &str = "last_usage_seq";

// One alarm a minute is loud enough without drowning the log.
static LAST_ALARM_MS: AtomicI64 = AtomicI64::new(0);

fn kind_of(msg: &UpMessage) -> u8 {
    match msg {
        UpMessage::Usage(_) => KIND_USAGE,
        UpMessage::Inventory(_) => KIND_INVENTORY,
        UpMessage::Health(_) => KIND_HEALTH,
        UpMessage::Hello(_) => KIND_HELLO,
        _ => KIND_OTHER,
    }
}

/// The meta key naming the newest row of a kind that a newer one supersedes whole.
fn snapshot_key(kind: u8) -> Option<&'static str> {
    match kind {
        KIND_INVENTORY => Some(LAST_INVENTORY_SEQ),
        KIND_HEALTH => Some(LAST_HEALTH_SEQ),
        KIND_HELLO => Some(LAST_HELLO_SEQ),
        _ => None,
    }
}

impl Txn<'_> {
    /// Seal `msg` with the next `seq` and add it to the outbox; returns the `seq`.
    ///
    /// The outbox stays bounded through any outage: a snapshot (inventory, health, hello)
    /// replaces an older one of its kind that was never published, and a usage report absorbs
    /// an unpublished older one. A published row is never rewritten or dropped before it is
    /// acknowledged, since the control plane may hold it; at most `max_in_flight` are
    /// published unacknowledged at a time, so everything else stays coalescible.
    pub fn enqueue(&mut self, msg: &UpMessage) -> Result<u64, StoreError> {
        let seq = self.get_meta(NEXT_SEQ)?.max(1);
        let kind = kind_of(msg);
        // Router log lines of a replaced inventory, read since: the new one carries them on.
        let mut carried: Vec<LoggedLogin> = Vec::new();
        if let Some(key) = snapshot_key(kind) {
            let prev = self.get_meta(key)?;
            if prev > self.store.published_high() {
                let removed = self
                    .tx
                    .open_table(OUTBOX)?
                    .remove(prev)?
                    .map(|v| v.value().to_vec());
                if let Some(row) = removed {
                    self.store.note_deleted(1);
                    if kind == KIND_INVENTORY {
                        carried = self.logins_of(&row)?;
                    }
                }
            }
            self.set_meta(key, seq)?;
        }
        let coalesced;
        let msg = match msg {
            UpMessage::Usage(new) => match self.take_unsent_usage()? {
                Some(mut prev) => {
                    for e in &new.entries {
                        merge_usage(&mut prev.entries, e.clone());
                    }
                    coalesced = UpMessage::Usage(prev);
                    &coalesced
                }
                None => msg,
            },
            UpMessage::Health(h) => {
                // Everything below the oldest row still held is acknowledged or superseded.
                let low = self
                    .tx
                    .open_table(OUTBOX)?
                    .first()?
                    .map(|(k, _)| k.value())
                    .unwrap_or(seq);
                let mut h = h.clone();
                h.outbox_low_seq = low.min(seq);
                coalesced = UpMessage::Health(h);
                &coalesced
            }
            UpMessage::Inventory(new) if !carried.is_empty() => {
                carried.extend(new.logins.iter().cloned());
                let mut inv = new.clone();
                inv.logins = std::mem::take(&mut carried);
                coalesced = UpMessage::Inventory(inv);
                &coalesced
            }
            _ => msg,
        };
        if kind == KIND_USAGE {
            self.set_meta(LAST_USAGE_SEQ, seq)?;
        }
        let env = Envelope::seal(
            self.store.signing_key(),
            self.store.agent_id(),
            CONTROL_PLANE_ID,
            seq,
            self.now_ms,
            msg,
        )?;
        let mut row = Vec::with_capacity(1 + env.body.len() + 128);
        row.push(kind);
        row.extend_from_slice(&env.to_bytes()?);
        let len = {
            let mut t = self.tx.open_table(OUTBOX)?;
            t.insert(seq, row.as_slice())?;
            t.len()?
        };
        self.set_meta(NEXT_SEQ, seq + 1)?;
        self.enqueued += 1;
        if len >= OUTBOX_CAP * 9 / 10 {
            let last = LAST_ALARM_MS.load(Ordering::Relaxed);
            if self.now_ms - last > 60_000 {
                LAST_ALARM_MS.store(self.now_ms, Ordering::Relaxed);
                tracing::error!(
                    outbox_len = len,
                    cap = OUTBOX_CAP,
                    "outbox is nearly full: the control plane has not acknowledged for a long \
                     time; new commands wait at the cap"
                );
            }
        }
        Ok(seq)
    }

    /// The router log lines of an inventory row being replaced.
    fn logins_of(&self, row: &[u8]) -> Result<Vec<LoggedLogin>, StoreError> {
        let env = Envelope::from_bytes(row.get(1..).unwrap_or_default())?;
        match env.open::<UpMessage>(&self.store.signing_key().verifying_key(), CONTROL_PLANE_ID)? {
            UpMessage::Inventory(inv) => Ok(inv.logins),
            _ => Ok(Vec::new()),
        }
    }

    /// Remove and return the newest usage report if it was never published, so a new report
    /// can absorb it (one row per outage instead of one per poll). Its deltas move to the new,
    /// later `seq`.
    fn take_unsent_usage(&mut self) -> Result<Option<UsageReport>, StoreError> {
        let prev = self.get_meta(LAST_USAGE_SEQ)?;
        if prev == 0 || prev <= self.store.published_high() {
            return Ok(None);
        }
        let row = self
            .tx
            .open_table(OUTBOX)?
            .remove(prev)?
            .map(|v| v.value().to_vec());
        let Some(row) = row else {
            return Ok(None);
        };
        self.store.note_deleted(1);
        let env = Envelope::from_bytes(row.get(1..).unwrap_or_default())?;
        match env.open::<UpMessage>(&self.store.signing_key().verifying_key(), CONTROL_PLANE_ID)? {
            UpMessage::Usage(r) => Ok(Some(r)),
            _ => Ok(None),
        }
    }
}

/// Add a later usage entry to an earlier list: cumulative values from the later one, deltas
/// summed.
fn merge_usage(entries: &mut Vec<Usage>, later: Usage) {
    match entries.iter_mut().find(|e| e.username == later.username) {
        Some(e) => {
            e.delta_uptime_s += later.delta_uptime_s;
            e.delta_bytes_in += later.delta_bytes_in;
            e.delta_bytes_out += later.delta_bytes_out;
            e.uptime_s = later.uptime_s;
            e.bytes_in = later.bytes_in;
            e.bytes_out = later.bytes_out;
            e.active = later.active;
            e.first_login_at = e.first_login_at.or(later.first_login_at);
            e.counters_reset |= later.counters_reset;
            e.token_id = e.token_id.or(later.token_id);
        }
        None => entries.push(later),
    }
}

impl Store {
    /// Re-seal outbox rows written by an agent of an older envelope version (kept across an
    /// update) with the current one: same `seq`, `at` and body, so nothing queued is lost and
    /// the control plane, which refuses old versions, accepts them. Returns how many changed.
    pub fn reseal_old_outbox(&self) -> Result<u64, StoreError> {
        self.write(|t| {
            let mut table = t.tx.open_table(OUTBOX)?;
            let mut old = Vec::new();
            for row in table.iter()? {
                let (seq, v) = row?;
                let bytes = v.value();
                // Decoded directly, not via `Envelope::from_bytes`, which refuses old versions.
                let Ok(env) =
                    mtm_common::envelope::from_cbor::<Envelope>(bytes.get(1..).unwrap_or_default())
                else {
                    continue;
                };
                if env.v != mtm_common::PROTOCOL_VERSION {
                    old.push((
                        seq.value(),
                        bytes.first().copied().unwrap_or(KIND_OTHER),
                        env,
                    ));
                }
            }
            let n = old.len() as u64;
            for (seq, kind, env) in old {
                // Our own row: the body is what this agent sealed; a row that does not decode
                // as an up-message is dropped rather than left to be refused forever.
                let Ok(msg) = mtm_common::envelope::from_cbor::<UpMessage>(&env.body) else {
                    table.remove(seq)?;
                    continue;
                };
                let new = Envelope::seal(
                    self.signing_key(),
                    self.agent_id(),
                    CONTROL_PLANE_ID,
                    seq,
                    env.at,
                    &msg,
                )?;
                let mut row = vec![kind];
                row.extend_from_slice(&new.to_bytes()?);
                table.insert(seq, row.as_slice())?;
            }
            Ok(n)
        })
    }

    /// Drop every message with `seq <= up_to_seq`; returns how many were removed.
    pub fn ack(&self, up_to_seq: u64) -> Result<u64, StoreError> {
        let removed = self.write_lazy(|t| {
            let next = t.get_meta(NEXT_SEQ)?.max(1);
            if up_to_seq >= next {
                // The control plane has seen higher seqs than we hold (a wiped store): jump
                // past them, or every new message would look like a duplicate to it.
                tracing::warn!(
                    up_to_seq,
                    next,
                    "ack beyond our counter; moving seq forward"
                );
                t.set_meta(NEXT_SEQ, up_to_seq + 1)?;
            }
            let mut n = 0u64;
            {
                let mut tbl = t.tx.open_table(OUTBOX)?;
                tbl.retain_in(..=up_to_seq, |_, _| {
                    n += 1;
                    false
                })?;
            }
            if up_to_seq > t.get_meta(LAST_ACKED)? {
                t.set_meta(LAST_ACKED, up_to_seq)?;
            }
            Ok(n)
        })?;
        self.note_deleted(removed);
        Ok(removed)
    }

    /// Drop exactly the acknowledged `seqs`; move the counter past `highest_seen` if the
    /// control plane holds more than we ever sent (a wiped store). Returns how many were removed.
    pub fn ack_seqs(&self, seqs: &[u64], highest_seen: u64) -> Result<u64, StoreError> {
        let removed = self.write_lazy(|t| {
            let next = t.get_meta(NEXT_SEQ)?.max(1);
            if highest_seen >= next {
                tracing::warn!(
                    highest_seen,
                    next,
                    "control plane holds seqs beyond our counter; moving seq forward"
                );
                t.set_meta(NEXT_SEQ, highest_seen + 1)?;
            }
            let mut n = 0u64;
            {
                let mut tbl = t.tx.open_table(OUTBOX)?;
                for seq in seqs {
                    if tbl.remove(*seq)?.is_some() {
                        n += 1;
                    }
                }
            }
            if let Some(max) = seqs.iter().max() {
                if *max > t.get_meta(LAST_ACKED)? {
                    t.set_meta(LAST_ACKED, *max)?;
                }
            }
            Ok(n)
        })?;
        self.note_deleted(removed);
        Ok(removed)
    }

    /// Up to `limit` sealed messages with `seq >= from`, in order.
    pub fn outbox_from(&self, from: u64, limit: usize) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        self.read(|tx| {
            let t = tx.open_table(OUTBOX)?;
            let mut out = Vec::new();
            for row in t.range(from..)?.take(limit) {
                let (k, v) = row?;
                out.push((k.value(), v.value().get(1..).unwrap_or_default().to_vec()));
            }
            Ok(out)
        })
    }

    /// Which of the `seqs` (ascending) are still in the outbox, with their sealed bytes.
    pub fn outbox_rows(&self, seqs: &[u64]) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        self.read(|tx| {
            let t = tx.open_table(OUTBOX)?;
            let mut out = Vec::with_capacity(seqs.len());
            for seq in seqs {
                if let Some(v) = t.get(*seq)? {
                    out.push((*seq, v.value().get(1..).unwrap_or_default().to_vec()));
                }
            }
            Ok(out)
        })
    }

    /// The `seq`s still in the outbox within `range` (acknowledged and superseded ones are
    /// gone).
    pub fn outbox_seqs(
        &self,
        range: std::ops::RangeInclusive<u64>,
    ) -> Result<std::collections::BTreeSet<u64>, StoreError> {
        self.read(|tx| {
            let t = tx.open_table(OUTBOX)?;
            let mut out = std::collections::BTreeSet::new();
            for row in t.range(range)? {
                out.insert(row?.0.value());
            }
            Ok(out)
        })
    }

    /// Enqueue one message in its own transaction.
    pub fn enqueue(&self, msg: &UpMessage) -> Result<u64, StoreError> {
        self.write(|t| t.enqueue(msg))
    }

    /// The highest `seq` the control plane acknowledged.
    pub fn last_acked(&self) -> Result<u64, StoreError> {
        self.meta(LAST_ACKED)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::temp_store;
    use mtm_common::{Health, UpMessage};

    fn usage(user: &str, d: u64) -> UpMessage {
        UpMessage::Usage(UsageReport {
            entries: vec![Usage {
                username: user.into(),
                bytes_in: d * 10,
                delta_bytes_in: d,
                ..Default::default()
            }],
            issued_here: Vec::new(),
        })
    }

    #[test]
    fn rows_of_an_older_envelope_version_are_resealed() {
        #[derive(serde::Serialize)]
        struct V1 {
            v: u8,
            from: String,
            seq: u64,
            at: i64,
            #[serde(with = "serde_bytes")]
            body: Vec<u8>,
            #[serde(with = "serde_bytes")]
            sig: Vec<u8>,
        }
        let (_d, s) = temp_store();
        let msg = UpMessage::Health(Health::default());
        let mut row = vec![KIND_OTHER];
        row.extend_from_slice(
            &mtm_common::envelope::to_cbor(&V1 {
                v: 1,
                from: "agent-t".into(),
                seq: 1,
                at: 1_700_000_000_000,
                body: mtm_common::envelope::to_cbor(&msg).unwrap(),
                sig: vec![0; 64],
            })
            .unwrap(),
        );
        s.write(|t| {
            t.tx.open_table(OUTBOX)?.insert(1, row.as_slice())?;
            t.set_meta(NEXT_SEQ, 2)
        })
        .unwrap();
        assert_eq!(s.reseal_old_outbox().unwrap(), 1);
        assert_eq!(s.reseal_old_outbox().unwrap(), 0);
        let rows = s.outbox_from(1, 10).unwrap();
        assert_eq!(rows.len(), 1);
        let env = Envelope::from_bytes(&rows[0].1).unwrap();
        assert_eq!((env.seq, env.at), (1, 1_700_000_000_000));
        let vk = s.signing_key().verifying_key();
        assert_eq!(env.open::<UpMessage>(&vk, CONTROL_PLANE_ID).unwrap(), msg);
    }

    #[test]
    fn seqs_are_consecutive_and_ack_deletes_up_to() {
        let (_d, s) = temp_store();
        let seqs: Vec<u64> = (0..5).map(|i| s.enqueue(&expired(i)).unwrap()).collect();
        assert_eq!(seqs, vec![1, 2, 3, 4, 5]);
        let rows = s.outbox_from(1, 100).unwrap();
        let vk = s.signing_key().verifying_key();
        for (seq, bytes) in &rows {
            let env = Envelope::from_bytes(bytes).unwrap();
            assert_eq!(env.seq, *seq);
            assert_eq!(env.from, "agent-t");
            env.open::<UpMessage>(&vk, CONTROL_PLANE_ID).unwrap();
        }
        assert_eq!(s.ack(3).unwrap(), 3);
        assert_eq!(s.outbox_len().unwrap(), 2);
        assert_eq!(s.last_acked().unwrap(), 3);
        assert_eq!(s.outbox_from(0, 10).unwrap()[0].0, 4);
        // An old ack changes nothing.
        assert_eq!(s.ack(2).unwrap(), 0);
        assert_eq!(s.last_acked().unwrap(), 3);
    }

    fn expired(i: i64) -> UpMessage {
        UpMessage::TokenExpired(mtm_common::TokenExpired {
            token_id: uuid::Uuid::nil(),
            expired_at: i,
        })
    }

    fn seqs(s: &Store) -> Vec<u64> {
        s.outbox_from(0, 100).unwrap().iter().map(|r| r.0).collect()
    }

    #[test]
    fn a_new_inventory_replaces_an_unsent_one() {
        let (_d, s) = temp_store();
        let inv = UpMessage::Inventory(Default::default());
        s.enqueue(&inv).unwrap();
        s.enqueue(&usage("A", 1)).unwrap();
        s.enqueue(&inv).unwrap();
        assert_eq!(seqs(&s), vec![2, 3]);
        s.ack(3).unwrap();
        s.enqueue(&inv).unwrap();
        assert_eq!(s.outbox_len().unwrap(), 1);
    }

    #[test]
    fn snapshots_replace_only_unsent_rows_so_an_outage_costs_one_of_each() {
        let (_d, s) = temp_store();
        let hello = || {
            UpMessage::Hello(mtm_common::Hello {
                agent_version: "0.1.0".into(),
                last_cp_seq: 0,
                catalog_version: None,
            })
        };
        let health = || UpMessage::Health(Health::default());
        let inv = || UpMessage::Inventory(Default::default());
        for i in 0..50 {
            s.enqueue(&hello()).unwrap();
            s.enqueue(&health()).unwrap();
            s.enqueue(&inv()).unwrap();
            s.enqueue(&usage("A", i)).unwrap();
        }
        s.enqueue(&expired(1)).unwrap();
        assert_eq!(seqs(&s), vec![197, 198, 199, 200, 201]);
        // Published rows stay until acknowledged; only newer unsent ones are replaced.
        assert_eq!(s.take_for_publish(0, 100).unwrap().len(), 5);
        for _ in 0..3 {
            s.enqueue(&hello()).unwrap();
            s.enqueue(&health()).unwrap();
            s.enqueue(&inv()).unwrap();
        }
        assert_eq!(seqs(&s), vec![197, 198, 199, 200, 201, 208, 209, 210]);
    }

    #[test]
    fn health_names_the_lowest_seq_still_held() {
        let (_d, s) = temp_store();
        let vk = s.signing_key().verifying_key();
        let low = |s: &Store| {
            let rows = s.outbox_from(0, 100).unwrap();
            let (_, bytes) = rows.last().unwrap();
            match Envelope::from_bytes(bytes)
                .unwrap()
                .open::<UpMessage>(&vk, CONTROL_PLANE_ID)
                .unwrap()
            {
                UpMessage::Health(h) => h.outbox_low_seq,
                other => panic!("not health: {other:?}"),
            }
        };
        s.enqueue(&UpMessage::Health(Health::default())).unwrap();
        assert_eq!(low(&s), 1, "an empty outbox names the report itself");
        s.enqueue(&expired(1)).unwrap();
        s.enqueue(&expired(2)).unwrap();
        s.ack_seqs(&[2], 2).unwrap();
        // The unsent health 1 was superseded, 2 acknowledged: 3 is the oldest held.
        s.enqueue(&UpMessage::Health(Health::default())).unwrap();
        assert_eq!(low(&s), 3);
    }

    #[test]
    fn a_replaced_inventory_hands_its_log_lines_on() {
        let (_d, s) = temp_store();
        let with = |user: &str| {
            UpMessage::Inventory(mtm_common::Inventory {
                logins: vec![LoggedLogin {
                    user: user.into(),
                    event: "logged in".into(),
                    ..Default::default()
                }],
                ..Default::default()
            })
        };
        s.enqueue(&with("ROGUE1")).unwrap();
        s.enqueue(&with("ROGUE2")).unwrap();
        let rows = s.outbox_from(0, 10).unwrap();
        assert_eq!(rows.len(), 1);
        let vk = s.signing_key().verifying_key();
        let msg = Envelope::from_bytes(&rows[0].1)
            .unwrap()
            .open::<UpMessage>(&vk, CONTROL_PLANE_ID)
            .unwrap();
        let UpMessage::Inventory(inv) = msg else {
            panic!("{msg:?}")
        };
        let users: Vec<&str> = inv.logins.iter().map(|l| l.user.as_str()).collect();
        assert_eq!(users, vec!["ROGUE1", "ROGUE2"]);
    }

    #[test]
    fn ack_beyond_counter_moves_seq_forward() {
        let (_d, s) = temp_store();
        s.ack(41).unwrap();
        assert_eq!(s.enqueue(&usage("A", 1)).unwrap(), 42);
    }

    fn open_usage(s: &Store, bytes: &[u8]) -> UsageReport {
        let vk = s.signing_key().verifying_key();
        match Envelope::from_bytes(bytes)
            .unwrap()
            .open::<UpMessage>(&vk, CONTROL_PLANE_ID)
            .unwrap()
        {
            UpMessage::Usage(r) => r,
            other => panic!("not usage: {other:?}"),
        }
    }

    #[test]
    fn unsent_usage_coalesces_into_the_latest_seq() {
        let (_d, s) = temp_store();
        s.enqueue(&usage("A", 100)).unwrap();
        s.mark_published(1);
        s.enqueue(&usage("A", 1)).unwrap();
        s.enqueue(&UpMessage::Health(Health::default())).unwrap();
        s.enqueue(&usage("A", 2)).unwrap();
        s.enqueue(&usage("B", 4)).unwrap();
        let rows = s.outbox_from(0, 10).unwrap();
        assert_eq!(rows.iter().map(|r| r.0).collect::<Vec<_>>(), vec![1, 3, 5]);
        assert_eq!(open_usage(&s, &rows[0].1).entries[0].delta_bytes_in, 100);
        let r = open_usage(&s, &rows[2].1);
        assert_eq!(r.entries.len(), 2);
        assert_eq!(r.entries[0].delta_bytes_in, 3);
        assert_eq!(r.entries[0].bytes_in, 20);
        assert_eq!(r.entries[1].delta_bytes_in, 4);
        // Once taken by the publisher, a row is never rewritten.
        assert_eq!(s.take_for_publish(0, 10).unwrap().len(), 3);
        s.enqueue(&usage("A", 7)).unwrap();
        assert_eq!(s.outbox_len().unwrap(), 4);
    }

    #[test]
    fn rows_from_before_a_restart_count_as_published() {
        let dir = tempfile::tempdir().unwrap();
        let key = mtm_common::keys::generate_signing_key();
        {
            let s = Store::open(dir.path(), key.clone(), "a").unwrap();
            s.enqueue(&usage("A", 1)).unwrap();
        }
        let s = Store::open(dir.path(), key, "a").unwrap();
        s.enqueue(&usage("A", 2)).unwrap();
        assert_eq!(s.outbox_len().unwrap(), 2);
    }
}
