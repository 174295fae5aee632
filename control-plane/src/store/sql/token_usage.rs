//! What a usage report does to the vouchers it names: their state (in use, used up), first
//! use and cumulative counters, and the ledger entries those changes owe, held with the
//! counters to the end of the ingest run.
//!
//! A report carries a router's whole hotspot, so a busy router's report names a hundred
//! vouchers or more. Their counters are held with the rest of the ingest run's
//! (`super::deferred`) and written in one `UPDATE ... FROM (VALUES ...)` per few hundred
//! vouchers rather than one statement each: on PostgreSQL every statement is a round trip the
//! writer waits for.

use super::chain::LedgerEntry;
use super::deferred::Deferred;
use super::ingest::db_int;
use super::rows::*;
use crate::store::*;
use mtm_common::Usage;
use serde_json::json;
use sqlx::Row;
use std::collections::{BTreeMap, HashMap};

/// What the ledger holds of a voucher a usage report names, as far as its usage moves it.
pub(super) struct TokenUsage {
    state: TokenState,
    first_login_at: Option<i64>,
    usage_seq: Option<i64>,
    limit_uptime_s: Option<i64>,
    limit_bytes_total: Option<i64>,
}

/// The vouchers a usage report names, read once for both of its uses.
pub(super) struct NamedTokens {
    /// The usage each has counted so far (uptime seconds, bytes), whichever router carries it.
    pub(super) totals: BTreeMap<Uuid, (u64, u64)>,
    /// Those the reporting router carries: only that router may move them on.
    pub(super) carried: HashMap<Uuid, TokenUsage>,
}

/// The vouchers `entries` name, a few hundred ids a query (a few dozen on SQLite, see
/// [`super::Dialect::usage_rows_per_insert`]).
pub(super) async fn named_tokens(
    tx: &mut sqlx::AnyConnection,
    router_id: &str,
    entries: &[Usage],
    dialect: super::Dialect,
) -> StoreResult<NamedTokens> {
    let ids: std::collections::BTreeSet<Uuid> = entries.iter().filter_map(|u| u.token_id).collect();
    let ids: Vec<Uuid> = ids.into_iter().collect();
    let mut named = NamedTokens {
        totals: BTreeMap::new(),
        carried: HashMap::with_capacity(ids.len()),
    };
    for chunk in ids.chunks(dialect.usage_rows_per_insert().max(1)) {
        let sql = format!(
            "SELECT t.id, t.router_id, t.state, t.first_login_at, t.usage_seq,
               t.total_uptime_s, t.total_bytes,
               p.limit_uptime_s + t.extra_uptime_s AS limit_uptime_s,
               p.limit_bytes_total + t.extra_bytes_total AS limit_bytes_total
             FROM tokens t JOIN packages p ON p.id = t.package_id
             WHERE t.id IN {}",
            dialect.value_rows(1, chunk.len())
        );
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(id.to_string());
        }
        for row in q.fetch_all(&mut *tx).await? {
            let id = uuid_col(&row, "id")?;
            let up: i64 = row.try_get("total_uptime_s")?;
            let bytes: i64 = row.try_get("total_bytes")?;
            named
                .totals
                .insert(id, (up.max(0) as u64, bytes.max(0) as u64));
            let carrier: String = row.try_get("router_id")?;
            if carrier != router_id {
                continue;
            }
            let state: String = row.try_get("state")?;
            let state = TokenState::parse(&state)
                .ok_or_else(|| StoreError::Corrupt(format!("token state {state}")))?;
            named.carried.insert(
                id,
                TokenUsage {
                    state,
                    first_login_at: row.try_get("first_login_at")?,
                    usage_seq: row.try_get("usage_seq")?,
                    limit_uptime_s: row.try_get("limit_uptime_s")?,
                    limit_bytes_total: row.try_get("limit_bytes_total")?,
                },
            );
        }
    }
    Ok(named)
}

/// Move one voucher on by one usage entry; `token` is kept up to date for a later entry of
/// the same report naming it again. Its new counters and the ledger entries it owes are held in
/// `deferred`, written for the whole run at once.
#[allow(clippy::too_many_arguments)]
pub(super) async fn apply_token_usage(
    tx: &mut sqlx::AnyConnection,
    router: &Router,
    at: i64,
    seq: u64,
    u: &Usage,
    token_id: Uuid,
    token: &mut TokenUsage,
    deferred: &mut Deferred<'_>,
) -> StoreResult<()> {
    let counters = deferred.counters();
    let state = token.state;
    let had_login = token.first_login_at;
    let seq_i = db_int(seq);
    let later = token.usage_seq.is_none_or(|s| seq_i > s);
    let used = u.active || u.uptime_s > 0 || u.first_login_at.is_some();
    let first_login = had_login.or(u.first_login_at).or(used.then_some(at));
    let total_bytes = u.bytes_in.saturating_add(u.bytes_out);
    let exhausted = token
        .limit_uptime_s
        .is_some_and(|l| db_int(u.uptime_s) >= l)
        || token
            .limit_bytes_total
            .is_some_and(|l| db_int(total_bytes) >= l);
    let next = match state {
        TokenState::Issued | TokenState::Applied | TokenState::InUse if exhausted => {
            TokenState::UsedUp
        }
        TokenState::Issued | TokenState::Applied if used => TokenState::InUse,
        s => s,
    };
    // The report used it up: its ledger gets a `used_up` entry dated `at` (below), and the
    // token row keeps the newest such time.
    let used_up_at = (next == TokenState::UsedUp && state != TokenState::UsedUp).then_some(at);
    if later {
        counters.set(
            token_id,
            Counters {
                was: state,
                state: next,
                first_login_at: first_login,
                uptime_s: db_int(u.uptime_s),
                bytes_in: db_int(u.bytes_in),
                bytes_out: db_int(u.bytes_out),
                updated_at: at,
                usage_seq: seq_i,
                used_up_at,
            },
        );
        token.usage_seq = Some(seq_i);
    } else if !counters.amend(token_id, next, first_login, used_up_at) {
        // Usage only grows between resets, so what an older report proves (first use, used
        // up) still holds; its counters are behind the newer ones already stored.
        sqlx::query(&format!(
            "UPDATE tokens SET state = {}, first_login_at = $2, used_up_at = {} WHERE id = $3",
            STATE_UNLESS_MOVED
                .replace("{was}", "$4")
                .replace("{next}", "$1"),
            LATEST_USED_UP.replace("{at}", "$5")
        ))
        .bind(next.as_str())
        .bind(first_login)
        .bind(token_id.to_string())
        .bind(state.as_str())
        .bind(used_up_at)
        .execute(&mut *tx)
        .await?;
    }
    token.state = next;
    token.first_login_at = first_login;
    let mut owe = |event: &'static str, detail: serde_json::Value| {
        deferred.ledger(LedgerEntry {
            token_id,
            event,
            detail: detail.to_string(),
            actor: router.agent_id.clone(),
            at,
        })
    };
    if had_login.is_none() && first_login.is_some() {
        owe("first_use", json!({"first_login_at": first_login}));
    }
    let counted =
        || json!({"uptime_s": u.uptime_s, "bytes_in": u.bytes_in, "bytes_out": u.bytes_out});
    if used_up_at.is_some() {
        owe("used_up", counted());
    }
    if u.counters_reset {
        owe("counters_reset", counted());
    }
    Ok(())
}

/// A voucher's counters as the latest report sets them.
#[derive(Debug, Clone, Copy)]
struct Counters {
    /// The state the report found, which `state` replaces only if it still holds.
    was: TokenState,
    state: TokenState,
    first_login_at: Option<i64>,
    uptime_s: i64,
    bytes_in: i64,
    bytes_out: i64,
    updated_at: i64,
    usage_seq: i64,
    /// When the report used the voucher up, if it did.
    used_up_at: Option<i64>,
}

/// The counter updates of one report, by voucher, until [`CounterUpdates::write`]: the latest
/// counters of the vouchers it moves on, and the deltas it adds to the usage totals of every
/// voucher it names. Both go in one `UPDATE` per voucher: a second rewrite of the same row in
/// the transaction would leave no room on its page for either (no HOT update).
#[derive(Debug, Default)]
pub(super) struct CounterUpdates {
    rows: BTreeMap<Uuid, Counters>,
    totals: BTreeMap<Uuid, (i64, i64)>,
}

impl CounterUpdates {
    /// `token_id`'s counters are now `c`; a second set for it keeps the state the first found
    /// and the newest time it was used up.
    fn set(&mut self, token_id: Uuid, mut c: Counters) {
        if let Some(held) = self.rows.get(&token_id) {
            c.was = held.was;
            c.used_up_at = c.used_up_at.max(held.used_up_at);
        }
        self.rows.insert(token_id, c);
    }

    /// A later entry of the same report moved `token_id` on without new counters: carry its
    /// state, first use and using up into the pending update, if there is one (false if not).
    fn amend(
        &mut self,
        token_id: Uuid,
        state: TokenState,
        first_login_at: Option<i64>,
        used_up_at: Option<i64>,
    ) -> bool {
        match self.rows.get_mut(&token_id) {
            Some(c) => {
                c.state = state;
                c.first_login_at = first_login_at;
                c.used_up_at = c.used_up_at.max(used_up_at);
                true
            }
            None => false,
        }
    }

    /// The deltas held for `token_id` and not yet written: (uptime seconds, bytes).
    pub(super) fn held_totals(&self, token_id: &Uuid) -> (i64, i64) {
        self.totals.get(token_id).copied().unwrap_or_default()
    }

    /// Add the deltas of `entries` to the usage totals of the vouchers they name, whichever
    /// router reported them (as their usage rows count). A total is held at the largest
    /// integer rather than wrapped or refused: refusing would stall every later report of the
    /// agent behind this one.
    pub(super) fn add_deltas(&mut self, entries: &[Usage]) {
        for u in entries {
            let Some(id) = u.token_id else {
                continue;
            };
            let bytes = db_int(u.delta_bytes_in).saturating_add(db_int(u.delta_bytes_out));
            let t = self.totals.entry(id).or_default();
            t.0 = t.0.saturating_add(db_int(u.delta_uptime_s));
            t.1 = t.1.saturating_add(bytes);
        }
    }

    /// Write every pending update, `per_statement` vouchers per statement. `VALUES` columns
    /// are `column1`, `column2`... on both databases, so one text serves both.
    pub(super) async fn write(
        mut self,
        tx: &mut sqlx::AnyConnection,
        dialect: super::Dialect,
    ) -> StoreResult<()> {
        let per_statement = dialect.usage_rows_per_insert().clamp(1, 256);
        let rows: Vec<(Uuid, Counters, (i64, i64))> = std::mem::take(&mut self.rows)
            .into_iter()
            .map(|(id, c)| (id, c, self.totals.remove(&id).unwrap_or_default()))
            .collect();
        for chunk in rows.chunks(per_statement) {
            let sql = format!(
                "UPDATE tokens SET state = {}, first_login_at = v.column3,
                   uptime_s = v.column4, bytes_in = v.column5, bytes_out = v.column6,
                   updated_at = v.column7, usage_seq = v.column8, {}, used_up_at = {}
                 FROM (VALUES {}) AS v WHERE tokens.id = v.column1",
                STATE_UNLESS_MOVED
                    .replace("{was}", "v.column11")
                    .replace("{next}", "v.column2"),
                ADD_TOTALS
                    .replace("{up}", "v.column9")
                    .replace("{bytes}", "v.column10"),
                LATEST_USED_UP.replace("{at}", "v.column12"),
                dialect.value_rows(chunk.len(), 12)
            );
            // Only the full size recurs (`super::deferred`).
            let mut q = sqlx::query(&sql).persistent(chunk.len() == per_statement);
            for (id, c, (up, bytes)) in chunk {
                q = q
                    .bind(id.to_string())
                    .bind(c.state.as_str())
                    .bind(c.first_login_at)
                    .bind(c.uptime_s)
                    .bind(c.bytes_in)
                    .bind(c.bytes_out)
                    .bind(c.updated_at)
                    .bind(c.usage_seq)
                    .bind(*up)
                    .bind(*bytes)
                    .bind(c.was.as_str())
                    .bind(c.used_up_at);
            }
            q.execute(&mut *tx).await?;
        }
        // Vouchers named without new counters (another router's, or an older report).
        let totals: Vec<(Uuid, (i64, i64))> = self
            .totals
            .into_iter()
            .filter(|(_, d)| *d != (0, 0))
            .collect();
        for chunk in totals.chunks(per_statement) {
            let sql = format!(
                "UPDATE tokens SET {} FROM (VALUES {}) AS v WHERE tokens.id = v.column1",
                ADD_TOTALS
                    .replace("{up}", "v.column2")
                    .replace("{bytes}", "v.column3"),
                dialect.value_rows(chunk.len(), 3)
            );
            let mut q = sqlx::query(&sql).persistent(chunk.len() == per_statement);
            for (id, (up, bytes)) in chunk {
                q = q.bind(id.to_string()).bind(*up).bind(*bytes);
            }
            q.execute(&mut *tx).await?;
        }
        Ok(())
    }
}

/// The state `{next}` a report moves a voucher to, if it is still in the state `{was}` the
/// report found; else the state it is in now. A staff member's disable, refund or extension
/// committed between the read and the write (the write comes at the end of the ingest run)
/// stands.
const STATE_UNLESS_MOVED: &str = "CASE WHEN tokens.state = {was} THEN {next} ELSE tokens.state END";

/// The later of the time the voucher was last used up and `{at}` (which may be null: not used
/// up by this report). Written whether or not the state moves: the ledger entry is appended
/// either way, and the column is its newest.
const LATEST_USED_UP: &str =
    "COALESCE(CASE WHEN {at} > tokens.used_up_at THEN {at} ELSE tokens.used_up_at END, {at})";

/// The usage totals plus `{up}` and `{bytes}` (never negative), held at the largest integer.
const ADD_TOTALS: &str = "total_uptime_s = CASE WHEN total_uptime_s > 9223372036854775807 - {up}
       THEN 9223372036854775807 ELSE total_uptime_s + {up} END,
     total_bytes = CASE WHEN total_bytes > 9223372036854775807 - {bytes}
       THEN 9223372036854775807 ELSE total_bytes + {bytes} END";
