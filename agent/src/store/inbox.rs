//! The inbox: every command recorded on arrival, keyed by its id, with its result once done.

use mtm_common::envelope::{from_cbor, to_cbor};
use mtm_common::{Command, CommandKind, IssuedHere, UpMessage};
use redb::{ReadableTable, ReadableTableMetadata};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Store, StoreError, Txn, COMMANDS_APPLIED, INBOX, LAST_CP_SEQ, NEXT_ARRIVAL, PENDING};

/// One command as the agent keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxRecord {
    /// The command as received (already verified).
    pub command: Command,
    /// Arrival order; commands run in this order.
    pub arrival: u64,
    /// When it arrived (agent clock, unix ms).
    pub received_at: i64,
    /// The message that answered it, once finished.
    pub result: Option<UpMessage>,
    /// When it finished.
    pub finished_at: Option<i64>,
}

/// What happened to a command handed to [`Store::receive_command`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboxOutcome {
    /// New: recorded and queued.
    Queued,
    /// Seen before and still waiting its turn: nothing to do.
    AlreadyPending,
    /// Seen before and finished: its recorded result was enqueued again.
    Answered,
}

impl Store {
    /// Record a verified command on arrival, or answer it again if it was already done.
    pub fn receive_command(&self, cmd: &Command, cp_seq: u64) -> Result<InboxOutcome, StoreError> {
        self.write(|t| {
            if cp_seq > t.get_meta(LAST_CP_SEQ)? {
                t.set_meta(LAST_CP_SEQ, cp_seq)?;
            }
            let key = cmd.id.as_u128();
            let existing = {
                let tbl = t.tx.open_table(INBOX)?;
                let v = tbl.get(key)?;
                match v {
                    Some(v) => Some(from_cbor::<InboxRecord>(v.value())?),
                    None => None,
                }
            };
            match existing {
                Some(InboxRecord {
                    result: Some(result),
                    ..
                }) => {
                    t.enqueue(&result)?;
                    Ok(InboxOutcome::Answered)
                }
                Some(_) => Ok(InboxOutcome::AlreadyPending),
                None => {
                    let arrival = t.get_meta(NEXT_ARRIVAL)?;
                    t.set_meta(NEXT_ARRIVAL, arrival + 1)?;
                    let rec = InboxRecord {
                        command: cmd.clone(),
                        arrival,
                        received_at: t.now_ms,
                        result: None,
                        finished_at: None,
                    };
                    t.tx.open_table(INBOX)?
                        .insert(key, to_cbor(&rec)?.as_slice())?;
                    t.tx.open_table(PENDING)?.insert(arrival, key)?;
                    Ok(InboxOutcome::Queued)
                }
            }
        })
    }

    /// Remember the highest control-plane `seq` seen (for `Hello`).
    pub fn note_cp_seq(&self, cp_seq: u64) -> Result<(), StoreError> {
        if cp_seq <= self.meta(LAST_CP_SEQ)? {
            return Ok(());
        }
        self.write(|t| t.set_meta(LAST_CP_SEQ, cp_seq))
    }

    /// The oldest command not yet finished.
    pub fn next_pending(&self) -> Result<Option<Command>, StoreError> {
        self.read(|tx| {
            let pending = tx.open_table(PENDING)?;
            let Some(first) = pending.first()? else {
                return Ok(None);
            };
            let id = first.1.value();
            let inbox = tx.open_table(INBOX)?;
            let rec = match inbox.get(id)? {
                Some(v) => from_cbor::<InboxRecord>(v.value())?,
                None => return Ok(None),
            };
            Ok(Some(rec.command))
        })
    }

    /// Move a waiting command behind every command queued now, so those run first (a voucher
    /// waiting for its profile must not hold up the catalog that brings it).
    pub fn defer_command(&self, id: Uuid) -> Result<(), StoreError> {
        self.write(|t| {
            let key = id.as_u128();
            let rec = {
                let tbl = t.tx.open_table(INBOX)?;
                let v = tbl.get(key)?;
                match v {
                    Some(v) => from_cbor::<InboxRecord>(v.value())?,
                    None => return Ok(()),
                }
            };
            if rec.result.is_some() {
                return Ok(());
            }
            let arrival = t.get_meta(NEXT_ARRIVAL)?;
            t.set_meta(NEXT_ARRIVAL, arrival + 1)?;
            let mut pending = t.tx.open_table(PENDING)?;
            pending.remove(rec.arrival)?;
            pending.insert(arrival, key)?;
            drop(pending);
            let moved = InboxRecord { arrival, ..rec };
            t.tx.open_table(INBOX)?
                .insert(key, to_cbor(&moved)?.as_slice())?;
            Ok(())
        })
    }

    /// Commands waiting to run.
    pub fn pending_len(&self) -> Result<u64, StoreError> {
        self.read(|tx| Ok(tx.open_table(PENDING)?.len()?))
    }

    /// The inbox record of one command.
    pub fn inbox_record(&self, id: Uuid) -> Result<Option<InboxRecord>, StoreError> {
        self.read(|tx| {
            let t = tx.open_table(INBOX)?;
            let v = t.get(id.as_u128())?;
            match v {
                Some(v) => Ok(Some(from_cbor(v.value())?)),
                None => Ok(None),
            }
        })
    }

    /// Inbox entries (finished or not).
    pub fn inbox_len(&self) -> Result<u64, StoreError> {
        self.read(|tx| Ok(tx.open_table(INBOX)?.len()?))
    }

    /// Forget commands finished (and received) more than `window_ms` ago. A replay of their
    /// envelopes is refused by time by then, and the control plane stopped resending them
    /// once their result (kept in the outbox until acknowledged) reached it.
    pub fn compact_inbox(&self, now_ms: i64, window_ms: i64) -> Result<u64, StoreError> {
        let n = self.write(|t| {
            let mut n = 0;
            let mut tbl = t.tx.open_table(INBOX)?;
            tbl.retain(|_, v| {
                let Ok(rec) = from_cbor::<InboxRecord>(v) else {
                    return true;
                };
                let Some(done) = rec.finished_at else {
                    return true;
                };
                let newest = done.max(rec.command.issued_at).max(rec.received_at);
                let keep = now_ms.saturating_sub(newest) <= window_ms;
                if !keep {
                    n += 1;
                }
                keep
            })?;
            Ok(n)
        })?;
        self.note_deleted(n);
        Ok(n)
    }

    /// Commands carried out (not failed) since the store was made.
    pub fn commands_applied(&self) -> Result<u64, StoreError> {
        self.meta(COMMANDS_APPLIED)
    }

    /// The highest control-plane `seq` seen.
    pub fn last_cp_seq(&self) -> Result<u64, StoreError> {
        self.meta(LAST_CP_SEQ)
    }
}

impl Txn<'_> {
    /// Mark a command finished with `result` and enqueue that result, in this transaction.
    pub fn finish_command(&mut self, id: Uuid, result: &UpMessage) -> Result<(), StoreError> {
        let key = id.as_u128();
        let rec = {
            let tbl = self.tx.open_table(INBOX)?;
            let v = tbl.get(key)?;
            match v {
                Some(v) => Some(from_cbor::<InboxRecord>(v.value())?),
                None => None,
            }
        };
        if let Some(mut rec) = rec {
            if let (CommandKind::CreateToken(ct), UpMessage::TokenApplied(_)) =
                (&rec.command.kind, result)
            {
                self.record_issued(&IssuedHere {
                    token_id: ct.token_id,
                    code: ct.code.clone(),
                    issued_at: rec.command.issued_at,
                })?;
            }
            // Every voucher of a batch that is on the router is vouched for like a single one.
            if let (CommandKind::CreateTokens(batch), UpMessage::TokensApplied(done)) =
                (&rec.command.kind, result)
            {
                let made: std::collections::HashSet<Uuid> =
                    done.applied.iter().map(|a| a.token_id).collect();
                for ct in batch.tokens.iter().filter(|ct| made.contains(&ct.token_id)) {
                    self.record_issued(&IssuedHere {
                        token_id: ct.token_id,
                        code: ct.code.clone(),
                        issued_at: rec.command.issued_at,
                    })?;
                }
            }
            self.tx.open_table(PENDING)?.remove(rec.arrival)?;
            rec.result = Some(result.clone());
            rec.finished_at = Some(self.now_ms);
            self.tx
                .open_table(INBOX)?
                .insert(key, to_cbor(&rec)?.as_slice())?;
        }
        if !matches!(result, UpMessage::CommandFailed(_)) {
            let applied = self.get_meta(COMMANDS_APPLIED)?;
            self.set_meta(COMMANDS_APPLIED, applied + 1)?;
        }
        self.enqueue(result)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::temp_store;
    use mtm_common::{CommandDone, CommandKind};

    fn cmd(issued_at: i64) -> Command {
        Command {
            id: Uuid::new_v4(),
            issued_at,
            kind: CommandKind::Resync,
        }
    }

    #[test]
    fn command_runs_once_then_is_answered_from_the_record() {
        let (_d, s) = temp_store();
        let c = cmd(1);
        let c2 = cmd(1);
        assert_eq!(s.receive_command(&c, 5).unwrap(), InboxOutcome::Queued);
        assert_eq!(s.receive_command(&c2, 6).unwrap(), InboxOutcome::Queued);
        assert_eq!(
            s.receive_command(&c, 7).unwrap(),
            InboxOutcome::AlreadyPending
        );
        assert_eq!(s.last_cp_seq().unwrap(), 7);
        assert_eq!(s.next_pending().unwrap().unwrap().id, c.id);
        let done = UpMessage::CommandDone(CommandDone {
            command_id: c.id,
            detail: "x".into(),
        });
        s.write(|t| t.finish_command(c.id, &done)).unwrap();
        assert_eq!(s.next_pending().unwrap().unwrap().id, c2.id);
        assert_eq!(s.outbox_len().unwrap(), 1);
        assert_eq!(s.receive_command(&c, 8).unwrap(), InboxOutcome::Answered);
        assert_eq!(s.outbox_len().unwrap(), 2);
        assert_eq!(s.commands_applied().unwrap(), 1);
        assert_eq!(s.inbox_record(c.id).unwrap().unwrap().result, Some(done));
    }

    #[test]
    fn a_deferred_command_runs_after_those_queued_behind_it() {
        let (_d, s) = temp_store();
        let (a, b) = (cmd(1), cmd(1));
        s.receive_command(&a, 1).unwrap();
        s.receive_command(&b, 2).unwrap();
        s.defer_command(a.id).unwrap();
        assert_eq!(s.next_pending().unwrap().unwrap().id, b.id);
        assert_eq!(s.pending_len().unwrap(), 2);
        let done = UpMessage::CommandDone(CommandDone {
            command_id: b.id,
            detail: String::new(),
        });
        s.write(|t| t.finish_command(b.id, &done)).unwrap();
        assert_eq!(s.next_pending().unwrap().unwrap().id, a.id);
        // Finishing it after the move clears its new place in the queue.
        let done_a = UpMessage::CommandDone(CommandDone {
            command_id: a.id,
            detail: String::new(),
        });
        s.write(|t| t.finish_command(a.id, &done_a)).unwrap();
        assert_eq!(s.pending_len().unwrap(), 0);
        // A finished command is not put back.
        s.defer_command(a.id).unwrap();
        assert_eq!(s.pending_len().unwrap(), 0);
    }

    #[test]
    fn compaction_keeps_pending_and_recent() {
        let (_d, s) = temp_store();
        let old = cmd(0);
        let pending = cmd(0);
        s.receive_command(&old, 1).unwrap();
        s.receive_command(&pending, 2).unwrap();
        let done = UpMessage::CommandDone(CommandDone {
            command_id: old.id,
            detail: String::new(),
        });
        s.write(|t| t.finish_command(old.id, &done)).unwrap();
        let now = super::super::now_ms();
        assert_eq!(s.compact_inbox(now, 60_000).unwrap(), 0);
        assert_eq!(s.compact_inbox(now + 120_000, 60_000).unwrap(), 1);
        assert!(s.inbox_record(old.id).unwrap().is_none());
        assert!(s.inbox_record(pending.id).unwrap().is_some());
    }
}
