//! Hash-chained appends to the token ledger and audit log, and their verification. Callers hold
//! the store's write lock (and on PostgreSQL each append takes a per-chain advisory lock), so
//! "read the head, insert the next" cannot interleave, even across replicas.

use crate::store::*;
use sqlx::{AnyConnection, AnyPool, Row};

/// The ledger's table, locked before the audit log's by every writer that takes both, so none
/// waits on another in a cycle.
const LEDGER: &str = "token_ledger";
/// The audit log's table.
const AUDIT: &str = "audit_log";

/// The newest row (id and hash) of each chain in `tables`, in order, each chain locked first
/// where the database can: a lock held until commit, so another replica appending to the same
/// chain waits. On PostgreSQL the locks and the read cost one round trip, as statements of one
/// simple query, run one after another: the read's snapshot is taken once the locks are held,
/// where a single statement would take it before waiting for them and could miss a row
/// committed meanwhile.
async fn heads(conn: &mut AnyConnection, tables: &[&str]) -> StoreResult<Vec<(i64, String)>> {
    let read = tables
        .iter()
        .enumerate()
        .map(|(n, t)| {
            format!("SELECT {n} AS n, id, hash FROM (SELECT id, hash FROM {t} ORDER BY id DESC LIMIT 1) AS h{n}")
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    let rows = match super::Dialect::of(conn) {
        super::Dialect::Sqlite => sqlx::query(&read).fetch_all(&mut *conn).await?,
        super::Dialect::Postgres => {
            let mut sql = String::new();
            for t in tables {
                // `::text`: the lock's `void` is not a type the `Any` driver reads.
                sql.push_str(&format!(
                    "SELECT pg_advisory_xact_lock(hashtext('mtm:{t}'))::text AS locked; "
                ));
            }
            sql.push_str(&read);
            // Called on the connection: `RawSql::fetch_all` is not `Send` in the store's
            // async traits.
            sqlx::Executor::fetch_all(&mut *conn, sqlx::raw_sql(&sql)).await?
        }
    };
    let mut found = vec![(0, GENESIS_HASH.to_owned()); tables.len()];
    // The locks' rows have no `n`.
    for r in rows.iter().filter(|r| r.try_column("n").is_ok()) {
        let n: i64 = r.try_get("n")?;
        let slot = usize::try_from(n)
            .ok()
            .and_then(|n| found.get_mut(n))
            .ok_or_else(|| StoreError::Invalid(format!("chain head {n} not asked for")))?;
        *slot = (r.try_get("id")?, r.try_get("hash")?);
    }
    Ok(found)
}

/// The head of one chain, locked as [`heads`] locks it.
async fn head(conn: &mut AnyConnection, table: &str) -> StoreResult<(i64, String)> {
    let mut found = heads(conn, &[table]).await?;
    found
        .pop()
        .ok_or_else(|| StoreError::Invalid(format!("no head read for {table}")))
}

/// One event for a token's ledger, not yet given its place in the chain.
#[derive(Debug, Clone)]
pub(crate) struct LedgerEntry {
    pub(crate) token_id: Uuid,
    pub(crate) event: &'static str,
    /// The event's detail as JSON text.
    pub(crate) detail: String,
    pub(crate) actor: String,
    pub(crate) at: i64,
}

/// Append one event to a token's ledger.
pub(crate) async fn append_ledger(
    conn: &mut AnyConnection,
    token_id: Uuid,
    event: &'static str,
    detail: &serde_json::Value,
    actor: &str,
    at: i64,
) -> StoreResult<()> {
    let entry = LedgerEntry {
        token_id,
        event,
        detail: detail.to_string(),
        actor: actor.to_owned(),
        at,
    };
    append_ledger_many(conn, vec![entry]).await
}

/// Append `entries` to the ledger in order: one chain lock and one read of the head for all of
/// them, chained in memory and inserted many rows per statement. On PostgreSQL the lock is held
/// to commit, so a writer that appends just before committing keeps other writers waiting for
/// its commit alone, not for its whole transaction.
pub(crate) async fn append_ledger_many(
    conn: &mut AnyConnection,
    entries: Vec<LedgerEntry>,
) -> StoreResult<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let after = head(conn, LEDGER).await?;
    insert_ledger(conn, entries, after).await
}

/// Append `ledger`, then `audit` dated `at`, as [`append_ledger_many`] and
/// [`append_audit_many`] would, with both chains locked and their heads read in one go.
pub(crate) async fn append_ledger_and_audit(
    conn: &mut AnyConnection,
    ledger: Vec<LedgerEntry>,
    audit: Vec<AuditEntry>,
    at: i64,
) -> StoreResult<()> {
    match (ledger.is_empty(), audit.is_empty()) {
        (true, _) => append_audit_many(conn, audit, at).await,
        (false, true) => append_ledger_many(conn, ledger).await,
        (false, false) => {
            let mut found = heads(conn, &[LEDGER, AUDIT]).await?.into_iter();
            let (Some(ledger_head), Some(audit_head)) = (found.next(), found.next()) else {
                return Err(StoreError::Invalid("chain heads not read".into()));
            };
            insert_ledger(conn, ledger, ledger_head).await?;
            insert_audit(conn, audit, at, audit_head).await
        }
    }
}

/// Insert `entries` into the ledger after the row `after` (its id and hash).
async fn insert_ledger(
    conn: &mut AnyConnection,
    entries: Vec<LedgerEntry>,
    after: (i64, String),
) -> StoreResult<()> {
    append_rows(
        conn,
        LEDGER,
        "id, token_id, event, detail, actor, at",
        entries,
        after,
        |q, id, e, prev| {
            let token = e.token_id.to_string();
            let hash = chain_hash(
                prev,
                &ledger_content(id, &token, e.event, &e.detail, &e.actor, e.at),
            );
            let q = q
                .bind(id)
                .bind(token)
                .bind(e.event)
                .bind(e.detail)
                .bind(e.actor)
                .bind(e.at);
            (q, hash)
        },
    )
    .await
}

/// Append one row to the audit log.
pub(crate) async fn append_audit(
    conn: &mut AnyConnection,
    e: &AuditEntry,
    at: i64,
) -> StoreResult<()> {
    append_audit_many(conn, vec![e.clone()], at).await
}

/// Append `entries`, all dated `at`, to the audit log in order, as [`append_ledger_many`] does
/// to the ledger.
pub(crate) async fn append_audit_many(
    conn: &mut AnyConnection,
    entries: Vec<AuditEntry>,
    at: i64,
) -> StoreResult<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let after = head(conn, AUDIT).await?;
    insert_audit(conn, entries, at, after).await
}

/// Insert `entries`, all dated `at`, into the audit log after the row `after`.
async fn insert_audit(
    conn: &mut AnyConnection,
    entries: Vec<AuditEntry>,
    at: i64,
    after: (i64, String),
) -> StoreResult<()> {
    append_rows(
        conn,
        AUDIT,
        "id, at, actor, action, target, detail",
        entries,
        after,
        |q, id, e, prev| {
            let detail = e.detail.to_string();
            let hash = chain_hash(
                prev,
                &audit_content(id, at, &e.actor, &e.action, &e.target, &detail),
            );
            let q = q
                .bind(id)
                .bind(at)
                .bind(e.actor)
                .bind(e.action)
                .bind(e.target)
                .bind(detail);
            (q, hash)
        },
    )
    .await
}

/// A statement being bound.
type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// Insert `rows` into chain `table` after its head `after` (id and hash), read under the
/// chain's lock: `bind_row` binds a row's `columns` given its id and the hash before it, and
/// returns the row's own hash, which is bound after them with the one before (`prev_hash,
/// hash`). Rows are taken by value, so their text is bound without a copy.
async fn append_rows<T>(
    conn: &mut AnyConnection,
    table: &str,
    columns: &str,
    rows: Vec<T>,
    after: (i64, String),
    bind_row: impl for<'q> Fn(AnyQuery<'q>, i64, T, &str) -> (AnyQuery<'q>, String),
) -> StoreResult<()> {
    let dialect = super::Dialect::of(conn);
    let (mut last, mut prev) = after;
    let per = dialect.usage_rows_per_insert().max(1);
    let width = columns.split(',').count() + 2;
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<T> = rows.by_ref().take(per).collect();
        let sql = format!(
            "INSERT INTO {table} ({columns}, prev_hash, hash) VALUES {}",
            dialect.value_rows(chunk.len(), width)
        );
        // Only the full size recurs (`super::deferred`).
        let mut q = sqlx::query(&sql).persistent(chunk.len() == per);
        for row in chunk {
            let id = last + 1;
            let (bound, hash) = bind_row(q, id, row, &prev);
            q = bound
                .bind(std::mem::replace(&mut prev, hash.clone()))
                .bind(hash);
            last = id;
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Walk the ledger and report the first row whose link or hash does not hold.
pub(crate) async fn verify_ledger(pool: &AnyPool) -> StoreResult<ChainReport> {
    verify(pool, "token_ledger", |id, r| {
        Ok(ledger_content(
            id,
            &r.try_get::<String, _>("token_id")?,
            &r.try_get::<String, _>("event")?,
            &r.try_get::<String, _>("detail")?,
            &r.try_get::<String, _>("actor")?,
            r.try_get("at")?,
        ))
    })
    .await
}

/// Walk the audit log and report the first row whose link or hash does not hold.
pub(crate) async fn verify_audit(pool: &AnyPool) -> StoreResult<ChainReport> {
    verify(pool, "audit_log", |id, r| {
        Ok(audit_content(
            id,
            r.try_get("at")?,
            &r.try_get::<String, _>("actor")?,
            &r.try_get::<String, _>("action")?,
            &r.try_get::<String, _>("target")?,
            &r.try_get::<String, _>("detail")?,
        ))
    })
    .await
}

/// Walk `table` in order, each row's hashed content made by `content`, up to the first row whose
/// link to the one before or whose own hash does not hold.
async fn verify(
    pool: &AnyPool,
    table: &'static str,
    content: impl Fn(i64, &sqlx::any::AnyRow) -> StoreResult<String>,
) -> StoreResult<ChainReport> {
    let rows = sqlx::query(&format!("SELECT * FROM {table} ORDER BY id"))
        .fetch_all(pool)
        .await?;
    let mut prev = GENESIS_HASH.to_owned();
    let mut report = ChainReport {
        table: table.into(),
        rows: 0,
        first_bad_row: None,
    };
    for r in &rows {
        let id: i64 = r.try_get("id")?;
        let content = content(id, r)?;
        let stored_prev: String = r.try_get("prev_hash")?;
        let hash: String = r.try_get("hash")?;
        report.rows += 1;
        if stored_prev != prev || chain_hash(&prev, &content) != hash {
            report.first_bad_row = Some(id);
            return Ok(report);
        }
        prev = hash;
    }
    Ok(report)
}

/// A chain's newest row: its id (the row count of an intact chain), hash and time.
pub(crate) async fn chain_head(pool: &AnyPool, chain: &str) -> StoreResult<ChainHead> {
    let table = checked_chain(chain)?;
    let row = sqlx::query(&format!(
        "SELECT id, hash, at FROM {table} ORDER BY id DESC LIMIT 1"
    ))
    .fetch_optional(pool)
    .await?;
    Ok(match row {
        Some(r) => ChainHead {
            rows: super::rows::u64_col(&r, "id")?,
            head_hash: r.try_get("hash")?,
            head_at: Some(r.try_get("at")?),
        },
        None => ChainHead {
            rows: 0,
            head_hash: GENESIS_HASH.to_owned(),
            head_at: None,
        },
    })
}

/// The stored hash of row `id` of a chain, if that row exists.
pub(crate) async fn chain_hash_at(
    pool: &AnyPool,
    chain: &str,
    id: u64,
) -> StoreResult<Option<String>> {
    let table = checked_chain(chain)?;
    let id = i64::try_from(id).map_err(|_| StoreError::Invalid("row id".into()))?;
    Ok(
        sqlx::query_scalar(&format!("SELECT hash FROM {table} WHERE id = $1"))
            .bind(id)
            .fetch_optional(pool)
            .await?,
    )
}

/// Replace what `witness` (an agent id) is recorded to hold with `checkpoints`: the agent
/// returns everything it keeps, so its older answers are dropped and the table stays
/// as small as the agents' own bounds.
pub(crate) async fn replace_witnessed(
    conn: &mut AnyConnection,
    witness: &str,
    checkpoints: &[mtm_common::Checkpoint],
    now: i64,
) -> StoreResult<()> {
    sqlx::query("DELETE FROM witnessed_checkpoints WHERE witness = $1")
        .bind(witness)
        .execute(&mut *conn)
        .await?;
    for c in checkpoints
        .iter()
        .take(mtm_common::checkpoint::MAX_CHECKPOINTS_PER_MESSAGE)
    {
        sqlx::query(
            "INSERT INTO witnessed_checkpoints
               (witness, chain, v, row_count, head_hash, signed_at, sig, received_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (witness, chain, signed_at) DO NOTHING",
        )
        .bind(witness)
        .bind(&c.chain)
        .bind(i64::from(c.v))
        .bind(i64::try_from(c.rows).unwrap_or(i64::MAX))
        .bind(&c.head_hash)
        .bind(c.at)
        .bind(&c.sig)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Every checkpoint agents returned, with the agent that kept it.
pub(crate) async fn witnessed(
    pool: &AnyPool,
) -> StoreResult<Vec<(String, mtm_common::Checkpoint)>> {
    let rows =
        sqlx::query("SELECT * FROM witnessed_checkpoints ORDER BY chain, signed_at, witness")
            .fetch_all(pool)
            .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let c = mtm_common::Checkpoint {
            v: u8::try_from(r.try_get::<i64, _>("v")?)
                .map_err(|_| StoreError::Corrupt("checkpoint version out of range".into()))?,
            chain: r.try_get("chain")?,
            rows: super::rows::u64_col(r, "row_count")?,
            head_hash: r.try_get("head_hash")?,
            at: r.try_get("signed_at")?,
            sig: r.try_get("sig")?,
        };
        out.push((r.try_get("witness")?, c));
    }
    Ok(out)
}

/// The table of a chain name, refusing any other name (it is put into SQL text).
pub(crate) fn checked_chain(chain: &str) -> crate::store::StoreResult<&'static str> {
    mtm_common::checkpoint::CHAINS
        .into_iter()
        .find(|c| *c == chain)
        .ok_or_else(|| crate::store::StoreError::Invalid(format!("no chain {chain:?}")))
}
