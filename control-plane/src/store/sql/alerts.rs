//! Alerts: raised once per dedup key, listed, acknowledged and resolved (audited).

use super::chain::append_audit;
use super::rows::*;
use crate::store::*;
use sqlx::{FromRow, Row};

/// An `alerts` row as stored: kind, severity and state by name, evidence as JSON text.
#[derive(sqlx::FromRow)]
pub(super) struct AlertRow {
    id: String,
    kind: String,
    severity: String,
    location_id: Option<String>,
    router_id: Option<String>,
    agent_id: Option<String>,
    staff_id: Option<String>,
    shift_id: Option<String>,
    token_id: Option<String>,
    dedup_key: Option<String>,
    summary: String,
    evidence: String,
    created_at: i64,
    state: String,
    note: Option<String>,
    resolved_by: Option<String>,
    updated_at: Option<i64>,
}

impl TryFrom<AlertRow> for Alert {
    type Error = StoreError;

    fn try_from(r: AlertRow) -> StoreResult<Alert> {
        use crate::reconcile::{AlertKind, Severity};
        Ok(Alert {
            id: id("alert id", r.id)?,
            kind: named("alert kind", &r.kind, AlertKind::parse)?,
            severity: named("alert severity", &r.severity, Severity::parse)?,
            location_id: opt_id("alert location_id", r.location_id)?,
            router_id: opt_id("alert router_id", r.router_id)?,
            agent_id: r.agent_id,
            staff_id: opt_id("alert staff_id", r.staff_id)?,
            shift_id: opt_id("alert shift_id", r.shift_id)?,
            token_id: opt_id("alert token_id", r.token_id)?,
            dedup_key: r.dedup_key.unwrap_or_default(),
            summary: r.summary,
            evidence: serde_json::from_str(&r.evidence)
                .map_err(|e| StoreError::Corrupt(format!("alert evidence: {e}")))?,
            created_at: r.created_at,
            state: named("alert state", &r.state, AlertState::parse)?,
            note: r.note,
            resolved_by: r.resolved_by,
            updated_at: r.updated_at,
        })
    }
}

/// An alert read from any query that selects the `alerts` columns.
pub(super) fn alert_from_row(r: &sqlx::any::AnyRow) -> StoreResult<Alert> {
    AlertRow::from_row(r)?.try_into()
}

/// How many raised dedup keys one process remembers: a day's repeat findings of a large fleet
/// (a rogue user per router and voucher seen in every report) fit many times over, in a few MiB.
const RAISED_KEYS_KEPT: usize = 100_000;

/// The dedup keys this process has seen raised, the most recent kept. Alerts are never
/// deleted, so a key once raised stays raised whichever replica raised it: a key found here
/// needs no read, and one missing is only read again.
pub(super) struct RaisedKeys(std::sync::Mutex<hashlink::LruCache<String, ()>>);

impl Default for RaisedKeys {
    fn default() -> Self {
        RaisedKeys(std::sync::Mutex::new(hashlink::LruCache::new(
            RAISED_KEYS_KEPT,
        )))
    }
}

impl RaisedKeys {
    fn cache(&self) -> std::sync::MutexGuard<'_, hashlink::LruCache<String, ()>> {
        // A panic while holding it leaves a cache of keys that were raised: still true.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Those of `keys` remembered as raised (each kept as most recent).
    fn known<'k>(&self, keys: &[&'k str]) -> Vec<&'k str> {
        let mut cache = self.cache();
        keys.iter()
            .copied()
            .filter(|k| cache.get(*k).is_some())
            .collect()
    }

    /// Remember `keys` as raised.
    fn remember<'k>(&self, keys: impl IntoIterator<Item = &'k str>) {
        let mut cache = self.cache();
        for k in keys {
            cache.insert(k.to_owned(), ());
        }
    }
}

/// The keys among `keys` that an alert was raised under: those this process remembers, and
/// one read for the rest.
pub(super) async fn raised_keys(
    s: &super::SqlStore,
    keys: &[&str],
) -> StoreResult<std::collections::HashSet<String>> {
    let mut raised: std::collections::HashSet<String> = s
        .raised
        .known(keys)
        .into_iter()
        .map(str::to_owned)
        .collect();
    let unknown: std::collections::BTreeSet<&str> = keys
        .iter()
        .copied()
        .filter(|k| !raised.contains(*k))
        .collect();
    let unknown: Vec<&str> = unknown.into_iter().collect();
    for chunk in unknown.chunks(crate::bounds::MAX_PAGE as usize) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT dedup_key FROM alerts WHERE dedup_key IN ({})",
            marks.join(", ")
        );
        let mut q = sqlx::query_scalar::<_, String>(&sql);
        for k in chunk {
            q = q.bind(*k);
        }
        let found = q.fetch_all(&s.pool).await?;
        s.raised.remember(found.iter().map(String::as_str));
        raised.extend(found);
    }
    Ok(raised)
}

/// Store each finding as an open alert unless one with its dedup key exists already; returns
/// the alerts that are new. Most findings of a check repeat an alert raised before (a user mtm
/// did not make shows in every usage report until someone acts), so [`raised_keys`] sorts them
/// out and only new ones take the write lock, all in one transaction.
pub(super) async fn raise_alerts(
    s: &super::SqlStore,
    findings: &[crate::reconcile::Finding],
    now: i64,
) -> StoreResult<Vec<Alert>> {
    let keys: Vec<&str> = findings.iter().map(|f| f.dedup_key.as_str()).collect();
    let known = raised_keys(s, &keys).await?;
    let mut unraised: std::collections::BTreeSet<&str> = keys
        .iter()
        .copied()
        .filter(|k| !known.contains(*k))
        .collect();
    // `remove` is true once per key: two findings with one key in a call raise one alert.
    let fresh: Vec<&crate::reconcile::Finding> = findings
        .iter()
        .filter(|f| unraised.remove(f.dedup_key.as_str()))
        .collect();
    if fresh.is_empty() {
        return Ok(Vec::new());
    }
    let _w = s.write.lock().await;
    let mut tx = s.begin_write().await?;
    let mut raised = Vec::with_capacity(fresh.len());
    for f in &fresh {
        let id = Uuid::new_v4();
        // Another server (or a check racing this one) may have raised it since the read.
        let inserted = sqlx::query(
            "INSERT INTO alerts (id, kind, severity, location_id, router_id, agent_id, staff_id,
               shift_id, token_id, dedup_key, summary, evidence, created_at, state)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'open')
             ON CONFLICT (dedup_key) DO NOTHING",
        )
        .bind(id.to_string())
        .bind(f.kind.as_str())
        .bind(f.severity.as_str())
        .bind(f.location_id.map(|v| v.to_string()))
        .bind(f.router_id.map(|v| v.to_string()))
        .bind(&f.agent_id)
        .bind(f.staff_id.map(|v| v.to_string()))
        .bind(f.shift_id.map(|v| v.to_string()))
        .bind(f.token_id.map(|v| v.to_string()))
        .bind(&f.dedup_key)
        .bind(&f.summary)
        .bind(f.evidence.to_string())
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            continue;
        }
        let row = sqlx::query("SELECT * FROM alerts WHERE id = $1")
            .bind(id.to_string())
            .fetch_one(&mut *tx)
            .await?;
        raised.push(alert_from_row(&row)?);
    }
    tx.commit().await?;
    // Each is raised now, by this call or by whoever won the race to it.
    s.raised
        .remember(fresh.iter().map(|f| f.dedup_key.as_str()));
    Ok(raised)
}

pub(super) async fn list_alerts(s: &super::SqlStore, f: &AlertFilter) -> StoreResult<Vec<Alert>> {
    let limit = i64::from(f.limit.unwrap_or(50).clamp(1, crate::bounds::MAX_PAGE));
    let offset = i64::from(f.offset.unwrap_or(0));
    let rows = sqlx::query(
        "SELECT * FROM alerts
         WHERE ($1 IS NULL OR state = $1) AND ($2 IS NULL OR location_id = $2)
           AND ($5 IS NULL OR created_at >= $5) AND ($6 IS NULL OR created_at < $6)
         ORDER BY created_at DESC, id LIMIT $3 OFFSET $4",
    )
    .bind(f.state.map(|v| v.as_str()))
    .bind(f.location_id.map(|v| v.to_string()))
    .bind(limit)
    .bind(offset)
    .bind(f.from)
    .bind(f.to)
    .fetch_all(&s.pool)
    .await?;
    rows.iter().map(alert_from_row).collect()
}

pub(super) async fn set_alert_state(
    s: &super::SqlStore,
    id: Uuid,
    state: AlertState,
    note: &str,
    actor: &str,
    now: i64,
) -> StoreResult<Alert> {
    let _w = s.write.lock().await;
    let mut tx = s.begin_write().await?;
    let changed = sqlx::query(
        "UPDATE alerts SET state = $1, note = $2, resolved_by = $3, updated_at = $4
         WHERE id = $5 AND state <> 'resolved'",
    )
    .bind(state.as_str())
    .bind(note)
    .bind(actor)
    .bind(now)
    .bind(id.to_string())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let row = sqlx::query("SELECT * FROM alerts WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::NotFound("alert".into()))?;
    if changed == 0 {
        return Err(StoreError::RefusedConflict(crate::refusal::Refusal::new(
            "err-alert-resolved",
        )));
    }
    let entry = AuditEntry {
        actor: actor.into(),
        action: format!("alert.{}", state.as_str()),
        target: id.to_string(),
        detail: serde_json::json!({ "note": note }),
    };
    append_audit(&mut tx, &entry, now).await?;
    tx.commit().await?;
    alert_from_row(&row)
}

pub(super) async fn issued_tokens(
    s: &super::SqlStore,
    router_id: Uuid,
    ids: &[Uuid],
    codes: &[String],
    live: bool,
) -> StoreResult<Vec<crate::reconcile::IssuedToken>> {
    use crate::reconcile::{password_sha256, IssuedToken, TokenState as Ledger};
    // `live` adds every token the router should carry now; without it only the named ones.
    // Parameters are numbered and bound in the order they appear, so SQLite can take anonymous
    // marks (see `Dialect::value_rows`): a report names a hundred users or more.
    let mut n = 0;
    let mut marks = |len: usize| {
        let list = s.dialect.marks(n + 1, len);
        n += len;
        list
    };
    let mut cond = format!(
        "(t.router_id = {} AND {})",
        marks(1),
        if live {
            "t.state IN ('applied', 'in_use', 'used_up', 'expired', 'disabled')"
        } else {
            "1 = 0"
        }
    );
    if !ids.is_empty() {
        cond.push_str(&format!(" OR t.id IN {}", marks(ids.len())));
    }
    if !codes.is_empty() {
        let router = marks(1);
        cond.push_str(&format!(
            " OR (t.router_id = {router} AND t.code IN {})",
            marks(codes.len())
        ));
    }
    let sql = format!(
        "SELECT t.*, p.slug AS package_slug, p.validity_s,
           p.limit_uptime_s + t.extra_uptime_s AS limit_uptime_s,
           p.limit_bytes_total + t.extra_bytes_total AS limit_bytes_total,
           (SELECT r.agent_id FROM routers r WHERE r.id = t.router_id) AS agent_id,
           t.total_uptime_s AS used_uptime, t.total_bytes AS used_bytes
         FROM tokens t JOIN packages p ON p.id = t.package_id
         WHERE {cond}"
    );
    let mut q = sqlx::query(&sql).bind(router_id.to_string());
    for id in ids {
        q = q.bind(id.to_string());
    }
    if !codes.is_empty() {
        q = q.bind(router_id.to_string());
    }
    for c in codes {
        q = q.bind(c.clone());
    }
    let rows = q.fetch_all(&s.pool).await?;
    let opt_u64 = |r: &sqlx::any::AnyRow, c: &str| -> StoreResult<Option<u64>> {
        Ok(r.try_get::<Option<i64>, _>(c)?.map(|v| v.max(0) as u64))
    };
    rows.iter()
        .map(|r| {
            let state: String = r.try_get("state")?;
            let password: Option<String> = r.try_get("password")?;
            Ok(IssuedToken {
                token_id: uuid_col(r, "id")?,
                code: r.try_get("code")?,
                package_slug: r.try_get("package_slug")?,
                limit_uptime_s: opt_u64(r, "limit_uptime_s")?,
                limit_bytes_total: opt_u64(r, "limit_bytes_total")?,
                validity_s: opt_u64(r, "validity_s")?,
                password_sha256: password_sha256(password.as_deref()),
                state: Ledger::parse(&state)
                    .ok_or_else(|| StoreError::Corrupt(format!("token state {state}")))?,
                issued_at: r.try_get("created_at")?,
                staff_id: Some(uuid_col(r, "staff_id")?),
                shift_id: opt_uuid_col(r, "shift_id")?,
                location_id: Some(uuid_col(r, "location_id")?),
                agent_id: r.try_get("agent_id")?,
                router_user_id: r.try_get("router_user_id")?,
                price_minor: r.try_get("price_minor")?,
                currency: r.try_get("currency")?,
                applied_at: r.try_get("applied_at")?,
                first_login_at: r.try_get("first_login_at")?,
                used_up_at: r.try_get("used_up_at")?,
                expired_at: r.try_get("expired_at")?,
                ended_at: r.try_get("ended_at")?,
                confirmed_limit_uptime_s: opt_u64(r, "confirmed_limit_uptime_s")?,
                confirmed_limit_bytes_total: opt_u64(r, "confirmed_limit_bytes_total")?,
                used_uptime_s: r.try_get::<i64, _>("used_uptime")?.max(0) as u64,
                used_bytes: r.try_get::<i64, _>("used_bytes")?.max(0) as u64,
                lock_to_mac: r.try_get::<i64, _>("lock_to_mac")? != 0,
                bound_mac: r.try_get("bound_mac")?,
                mac_bound_at: r.try_get("mac_bound_at")?,
            })
        })
        .collect()
}
