//! Notification channels and deliveries: queued from new alerts, sent by the notifier, retried,
//! and finally sent or dead (both audited).

use super::alerts::alert_from_row;
use super::chain::append_audit;
use super::rows::*;
use crate::store::*;
use sqlx::Row;

fn channel_from_row(r: &sqlx::any::AnyRow, prefix: &str) -> StoreResult<Channel> {
    let col = |c: &str| format!("{prefix}{c}");
    Ok(Channel {
        id: uuid_col(r, &col("id"))?,
        owner_id: uuid_col(r, &col("owner_id"))?,
        name: r.try_get(col("name").as_str())?,
        kind: r.try_get(col("kind").as_str())?,
        target: r.try_get(col("target").as_str())?,
        chat_id: r.try_get(col("chat_id").as_str())?,
        secret: r.try_get(col("secret").as_str())?,
        min_rank: r.try_get(col("min_rank").as_str())?,
        location_id: opt_uuid_col(r, &col("location_id"))?,
        created_at: r.try_get(col("created_at").as_str())?,
        daily_reports: r.try_get::<i64, _>(col("daily_reports").as_str())? != 0,
    })
}

const CHANNEL_COLS: &str = "c.id AS c_id, c.owner_id AS c_owner_id, c.name AS c_name,
    c.kind AS c_kind, c.target AS c_target, c.chat_id AS c_chat_id, c.secret AS c_secret,
    c.min_rank AS c_min_rank, c.location_id AS c_location_id, c.created_at AS c_created_at,
    c.daily_reports AS c_daily_reports";

pub(super) async fn create_channel(s: &super::SqlStore, c: &Channel) -> StoreResult<()> {
    let _w = s.write.lock().await;
    sqlx::query(
        "INSERT INTO notification_channels
           (id, owner_id, name, kind, target, chat_id, secret, min_rank, location_id, created_at,
            daily_reports)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(c.id.to_string())
    .bind(c.owner_id.to_string())
    .bind(&c.name)
    .bind(&c.kind)
    .bind(&c.target)
    .bind(&c.chat_id)
    .bind(&c.secret)
    .bind(c.min_rank)
    .bind(c.location_id.map(|l| l.to_string()))
    .bind(c.created_at)
    .bind(i64::from(c.daily_reports))
    .execute(&s.pool)
    .await?;
    Ok(())
}

pub(super) async fn list_channels(
    s: &super::SqlStore,
    owner: Option<Uuid>,
) -> StoreResult<Vec<Channel>> {
    let rows = sqlx::query(&format!(
        "SELECT {CHANNEL_COLS} FROM notification_channels c
         WHERE $1 IS NULL OR c.owner_id = $1 ORDER BY c.created_at, c.id"
    ))
    .bind(owner.map(|o| o.to_string()))
    .fetch_all(&s.pool)
    .await?;
    rows.iter().map(|r| channel_from_row(r, "c_")).collect()
}

pub(super) async fn delete_channel(
    s: &super::SqlStore,
    id: Uuid,
    owner: Option<Uuid>,
) -> StoreResult<bool> {
    let _w = s.write.lock().await;
    let gone = sqlx::query(
        "DELETE FROM notification_channels WHERE id = $1 AND ($2 IS NULL OR owner_id = $2)",
    )
    .bind(id.to_string())
    .bind(owner.map(|o| o.to_string()))
    .execute(&s.pool)
    .await?
    .rows_affected();
    Ok(gone > 0)
}

pub(super) async fn queue_notifications(
    s: &super::SqlStore,
    since: i64,
    now: i64,
) -> StoreResult<u64> {
    let _w = s.write.lock().await;
    let pairs = sqlx::query(
        "SELECT c.id AS channel_id, a.id AS alert_id FROM alerts a
         JOIN notification_channels c
           ON a.created_at >= c.created_at
          AND (c.location_id IS NULL OR c.location_id = a.location_id)
          AND (CASE a.severity WHEN 'critical' THEN 3 WHEN 'warning' THEN 2 ELSE 1 END) >= c.min_rank
         WHERE a.created_at >= $1
           AND NOT EXISTS (SELECT 1 FROM notification_deliveries d
                           WHERE d.channel_id = c.id AND d.alert_id = a.id)
         ORDER BY a.created_at LIMIT 1000",
    )
    .bind(since)
    .fetch_all(&s.pool)
    .await?;
    // Daily reports, for the channels that take them.
    let reports = sqlx::query(
        "SELECT c.id AS channel_id, r.id AS alert_id FROM daily_reports r
         JOIN notification_channels c
           ON c.daily_reports = 1
          AND r.created_at >= c.created_at
          AND (c.location_id IS NULL OR c.location_id = r.location_id)
         WHERE r.created_at >= $1
           AND NOT EXISTS (SELECT 1 FROM notification_deliveries d
                           WHERE d.channel_id = c.id AND d.alert_id = r.id)
         ORDER BY r.created_at LIMIT 1000",
    )
    .bind(since)
    .fetch_all(&s.pool)
    .await?;
    let mut queued = 0;
    let subjects = pairs.iter().map(|p| (p, "alert"));
    for (p, subject) in subjects.chain(reports.iter().map(|p| (p, "report"))) {
        let channel: String = p.try_get("channel_id")?;
        let alert: String = p.try_get("alert_id")?;
        queued += sqlx::query(
            "INSERT INTO notification_deliveries
               (id, channel_id, alert_id, subject, state, next_at, created_at)
             VALUES ($1, $2, $3, $4, 'pending', $5, $5) ON CONFLICT (channel_id, alert_id) DO NOTHING",
        )
        .bind(Uuid::new_v4().to_string())
        .bind(channel)
        .bind(alert)
        .bind(subject)
        .bind(now)
        .execute(&s.pool)
        .await?
        .rows_affected();
    }
    Ok(queued)
}

pub(super) async fn due_deliveries(
    s: &super::SqlStore,
    now: i64,
    limit: u32,
) -> StoreResult<Vec<DueDelivery>> {
    let rows = sqlx::query(&format!(
        "SELECT d.id AS d_id, d.attempts AS d_attempts, {CHANNEL_COLS}, a.*
         FROM notification_deliveries d
         JOIN notification_channels c ON c.id = d.channel_id
         JOIN alerts a ON a.id = d.alert_id
         WHERE d.state = 'pending' AND d.next_at <= $1
         ORDER BY d.next_at, d.id LIMIT $2"
    ))
    .bind(now)
    .bind(i64::from(limit))
    .fetch_all(&s.pool)
    .await?;
    let mut due = rows
        .iter()
        .map(|r| {
            Ok(DueDelivery {
                id: uuid_col(r, "d_id")?,
                attempts: r.try_get("d_attempts")?,
                channel: channel_from_row(r, "c_")?,
                subject: Subject::Alert(alert_from_row(r)?),
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
    let reports = sqlx::query(&format!(
        "SELECT d.id AS d_id, d.attempts AS d_attempts, d.alert_id AS d_report, {CHANNEL_COLS}
         FROM notification_deliveries d
         JOIN notification_channels c ON c.id = d.channel_id
         WHERE d.state = 'pending' AND d.subject = 'report' AND d.next_at <= $1
         ORDER BY d.next_at, d.id LIMIT $2"
    ))
    .bind(now)
    .bind(i64::from(limit))
    .fetch_all(&s.pool)
    .await?;
    for r in &reports {
        let Some(report) = super::reports::one(s, uuid_col(r, "d_report")?).await? else {
            continue;
        };
        due.push(DueDelivery {
            id: uuid_col(r, "d_id")?,
            attempts: r.try_get("d_attempts")?,
            channel: channel_from_row(r, "c_")?,
            subject: Subject::Report(report),
        });
    }
    Ok(due)
}

pub(super) async fn record_delivery(
    s: &super::SqlStore,
    id: Uuid,
    outcome: &DeliveryOutcome,
    now: i64,
) -> StoreResult<()> {
    let _w = s.write.lock().await;
    let mut tx = s.begin_write().await?;
    let (state, error, next_at, done_at) = match outcome {
        DeliveryOutcome::Sent => ("sent", None, now, Some(now)),
        DeliveryOutcome::Retry { error, next_at } => ("pending", Some(error), *next_at, None),
        DeliveryOutcome::Dead { error } => ("dead", Some(error), now, Some(now)),
    };
    let row = sqlx::query(
        "UPDATE notification_deliveries
         SET state = $1, attempts = attempts + 1, last_error = $2, next_at = $3, done_at = $4
         WHERE id = $5 AND state = 'pending'
         RETURNING channel_id, alert_id, attempts",
    )
    .bind(state)
    .bind(error)
    .bind(next_at)
    .bind(done_at)
    .bind(id.to_string())
    .fetch_optional(&mut *tx)
    .await?;
    // Sent and dead are the ends worth an audit row; retries are in the delivery row itself.
    if let (Some(row), "sent" | "dead") = (row, state) {
        let channel: String = row.try_get("channel_id")?;
        let alert: String = row.try_get("alert_id")?;
        let attempts: i64 = row.try_get("attempts")?;
        let entry = AuditEntry {
            actor: "system".into(),
            action: format!("notification.{state}"),
            target: alert,
            detail: serde_json::json!({
                "delivery": id, "channel": channel, "attempts": attempts, "error": error,
            }),
        };
        append_audit(&mut tx, &entry, now).await?;
    }
    tx.commit().await?;
    Ok(())
}

pub(super) async fn list_deliveries(
    s: &super::SqlStore,
    state: Option<&str>,
    limit: u32,
) -> StoreResult<Vec<DeliveryRow>> {
    let rows = sqlx::query(
        "SELECT d.id, c.name AS channel, d.state, d.attempts, d.last_error,
                COALESCE(a.summary, 'daily report ' || r.business_date) AS summary,
                a.evidence AS evidence, r.business_date AS report_date,
                COALESCE(a.created_at, r.created_at) AS created_at
         FROM notification_deliveries d
         JOIN notification_channels c ON c.id = d.channel_id
         LEFT JOIN alerts a ON a.id = d.alert_id AND d.subject = 'alert'
         LEFT JOIN daily_reports r ON r.id = d.alert_id AND d.subject = 'report'
         WHERE ($1 IS NULL OR d.state = $1) AND (a.id IS NOT NULL OR r.id IS NOT NULL)
         ORDER BY d.created_at DESC, d.id LIMIT $2",
    )
    .bind(state)
    .bind(i64::from(limit))
    .fetch_all(&s.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(DeliveryRow {
                id: uuid_col(r, "id")?,
                channel: r.try_get("channel")?,
                summary: r.try_get("summary")?,
                // Unreadable evidence only costs the translation: the English line stays.
                evidence: r
                    .try_get::<Option<String>, _>("evidence")?
                    .and_then(|e| serde_json::from_str(&e).ok()),
                report_date: r.try_get("report_date")?,
                state: r.try_get("state")?,
                attempts: r.try_get("attempts")?,
                last_error: r.try_get("last_error")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect()
}
