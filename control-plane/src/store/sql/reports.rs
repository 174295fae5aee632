//! Daily reports: the facts a day is reconciled from, and the insert-only reports
//! with their sign-offs.

use super::chain::append_audit;
use super::rows::{id, uuid_col};
use crate::reconcile::UsageSample;
use crate::store::*;
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::{FromRow, Row};

pub(super) async fn usage_samples(
    s: &super::SqlStore,
    location_id: Uuid,
    from: i64,
    to: i64,
) -> StoreResult<Vec<UsageSample>> {
    let rows = sqlx::query(
        "SELECT r.agent_id, u.token_id, u.at, u.delta_uptime_s, u.delta_bytes_in, u.delta_bytes_out
         FROM usage u JOIN routers r ON r.id = u.router_id
         WHERE r.location_id = $1 AND u.at >= $2 AND u.at < $3 ORDER BY u.at",
    )
    .bind(location_id.to_string())
    .bind(from)
    .bind(to)
    .fetch_all(&s.pool)
    .await?;
    let n = |r: &sqlx::any::AnyRow, c: &str| -> StoreResult<u64> {
        Ok(r.try_get::<i64, _>(c)?.max(0) as u64)
    };
    rows.iter()
        .map(|r| {
            let token: Option<String> = r.try_get("token_id")?;
            Ok(UsageSample {
                agent_id: r.try_get("agent_id")?,
                token_id: token.and_then(|t| t.parse().ok()),
                at: r.try_get("at")?,
                delta_uptime_s: n(r, "delta_uptime_s")?,
                delta_bytes_in: n(r, "delta_bytes_in")?,
                delta_bytes_out: n(r, "delta_bytes_out")?,
            })
        })
        .collect()
}

pub(super) async fn day_token_ids(
    s: &super::SqlStore,
    location_id: Uuid,
    from: i64,
    to: i64,
) -> StoreResult<Vec<(Uuid, Uuid)>> {
    // Over-selects on purpose: anything issued before the day's end and touched since its
    // start; the report counts only what falls in the window.
    let rows = sqlx::query(
        "SELECT id, router_id FROM tokens
         WHERE location_id = $1 AND created_at < $3 AND (created_at >= $2 OR updated_at >= $2
           OR state IN ('issued', 'applied', 'in_use'))",
    )
    .bind(location_id.to_string())
    .bind(from)
    .bind(to)
    .fetch_all(&s.pool)
    .await?;
    rows.iter()
        .map(|r| Ok((uuid_col(r, "router_id")?, uuid_col(r, "id")?)))
        .collect()
}

pub(super) async fn insert_daily_report(
    s: &super::SqlStore,
    report: &NewDailyReport,
    now: i64,
) -> StoreResult<DailyReport> {
    let id = Uuid::new_v4();
    let _w = s.write.lock().await;
    let done = sqlx::query(
        "INSERT INTO daily_reports (id, location_id, business_date, window_start, window_end, body,
           content_sha256, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (location_id, business_date) DO NOTHING",
    )
    .bind(id.to_string())
    .bind(report.location_id.to_string())
    .bind(&report.business_date)
    .bind(report.window_start_ms)
    .bind(report.window_end_ms)
    .bind(&report.body_json)
    .bind(&report.content_sha256)
    .bind(now)
    .execute(&s.pool)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::Conflict(format!(
            "a report for {} exists",
            report.business_date
        )));
    }
    drop(_w);
    one(s, id)
        .await?
        .ok_or_else(|| StoreError::NotFound("report".into()))
}

const SELECT: &str = "SELECT d.*, so.signed_by, so.note, so.signed_at
    FROM daily_reports d LEFT JOIN daily_report_signoffs so ON so.report_id = d.id";

/// A `daily_reports` row as stored, with its sign-off if there is one ([`SELECT`]).
#[derive(sqlx::FromRow)]
struct DailyReportRow {
    id: String,
    location_id: String,
    business_date: String,
    window_start: i64,
    window_end: i64,
    body: String,
    content_sha256: String,
    created_at: i64,
    signed_by: Option<String>,
    signed_at: Option<i64>,
    note: Option<String>,
}

impl TryFrom<DailyReportRow> for DailyReport {
    type Error = StoreError;

    /// A body that no longer hashes to its stored hash is read as it is, marked not intact
    /// (the report page says so); only one that is not JSON at all reads as null.
    fn try_from(r: DailyReportRow) -> StoreResult<DailyReport> {
        let intact = hex::encode(Sha256::digest(r.body.as_bytes())) == r.content_sha256;
        Ok(DailyReport {
            id: id("report id", r.id)?,
            location_id: id("report location_id", r.location_id)?,
            business_date: r.business_date,
            window_start_ms: r.window_start,
            window_end_ms: r.window_end,
            body: serde_json::from_str(&r.body).unwrap_or(serde_json::Value::Null),
            content_sha256: r.content_sha256,
            intact,
            created_at: r.created_at,
            signed_off_by: r.signed_by,
            signed_off_at: r.signed_at,
            sign_off_note: r.note,
        })
    }
}

fn from_row(r: &sqlx::any::AnyRow) -> StoreResult<DailyReport> {
    DailyReportRow::from_row(r)?.try_into()
}

pub(super) async fn one(s: &super::SqlStore, id: Uuid) -> StoreResult<Option<DailyReport>> {
    let row = sqlx::query(&format!("{SELECT} WHERE d.id = $1"))
        .bind(id.to_string())
        .fetch_optional(&s.pool)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub(super) async fn daily_reports(
    s: &super::SqlStore,
    filter: &ReportFilter,
) -> StoreResult<Vec<DailyReport>> {
    let rows = sqlx::query(&format!(
        "{SELECT} WHERE ($1 IS NULL OR d.location_id = $1) AND ($2 IS NULL OR d.business_date = $2)
         ORDER BY d.business_date DESC, d.location_id LIMIT $3 OFFSET $4"
    ))
    .bind(filter.location_id.map(|l| l.to_string()))
    .bind(filter.date.clone())
    .bind(i64::from(
        filter
            .limit
            .unwrap_or(100)
            .clamp(1, crate::bounds::MAX_PAGE),
    ))
    .bind(i64::from(filter.offset.unwrap_or(0)))
    .fetch_all(&s.pool)
    .await?;
    rows.iter().map(from_row).collect()
}

pub(super) async fn sign_off_report(
    s: &super::SqlStore,
    id: Uuid,
    note: &str,
    actor: &str,
    now: i64,
) -> StoreResult<DailyReport> {
    let rid = id.to_string();
    {
        let _w = s.write.lock().await;
        let mut tx = s.begin_write().await?;
        let sha: Option<String> =
            sqlx::query_scalar("SELECT content_sha256 FROM daily_reports WHERE id = $1")
                .bind(&rid)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(sha) = sha else {
            return Err(StoreError::NotFound(format!("report {id}")));
        };
        let done = sqlx::query(
            "INSERT INTO daily_report_signoffs (report_id, signed_by, note, signed_at)
             VALUES ($1, $2, $3, $4) ON CONFLICT (report_id) DO NOTHING",
        )
        .bind(&rid)
        .bind(actor)
        .bind(note)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::RefusedConflict(crate::refusal::Refusal::new(
                "err-report-signed-off",
            )));
        }
        let audit = AuditEntry {
            actor: actor.into(),
            action: "report.sign_off".into(),
            target: rid.clone(),
            detail: json!({"content_sha256": sha, "note": note}),
        };
        append_audit(&mut tx, &audit, now).await?;
        tx.commit().await?;
    }
    one(s, id)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("report {id}")))
}
