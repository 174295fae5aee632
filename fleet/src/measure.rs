//! The ceilings the ingest figure is set beside, measured in the same run: how fast one core
//! verifies ed25519 signatures, and how fast the database takes the very rows ingest writes
//! when nothing else is done (no envelope, no signature, no broker).

use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use mtm_common::{Envelope, UpMessage, Usage, UsageReport};
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};

/// Signature checks per second on this thread, of a usage envelope with 20 entries.
pub fn verify_rate(for_how_long: Duration) -> Result<f64> {
    let key = mtm_common::keys::generate_signing_key();
    let entries = (0..20)
        .map(|i| Usage {
            token_id: Some(uuid::Uuid::new_v4()),
            username: format!("GUEST{i:03}"),
            active: true,
            uptime_s: 600,
            bytes_in: 1 << 20,
            bytes_out: 8 << 20,
            delta_uptime_s: 30,
            delta_bytes_in: 20_000,
            delta_bytes_out: 200_000,
            ..Default::default()
        })
        .collect();
    let msg = UpMessage::Usage(UsageReport {
        entries,
        issued_here: Vec::new(),
    });
    let env = Envelope::seal(&key, "r-1", "cp", 1, 1_700_000_000_000, &msg)?;
    let vk = key.verifying_key();
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < for_how_long {
        for _ in 0..100 {
            env.verify(&vk, "cp")?;
        }
        n += 100;
    }
    Ok(n as f64 / start.elapsed().as_secs_f64())
}

/// An INSERT of `n` usage rows, 6 bound values each, as ingest writes them.
fn insert_sql(n: u64) -> String {
    let rows: Vec<String> = (0..n)
        .map(|r| {
            let m = |c: u64| format!("${}", r * 6 + c);
            format!(
                "({}, NULL, {}, {}, 1, {}, {}, {}, 30, 20000, 200000, 0, {r}, NULL)",
                m(1),
                m(2),
                m(3),
                m(4),
                m(5),
                m(6)
            )
        })
        .collect();
    format!(
        "INSERT INTO usage (router_id, token_id, username, at, active, uptime_s, bytes_in, \
         bytes_out, delta_uptime_s, delta_bytes_in, delta_bytes_out, counters_reset, seq, \
         first_login_at) VALUES {}",
        rows.join(", ")
    )
}

/// Insert `rows` usage rows for the database's first router, `batch` per transaction and
/// `per_statement` per INSERT (ingest writes a report's rows in one); rows per second. The
/// rows stay (the database is a benchmark's own).
pub async fn raw_insert(url: &str, rows: u64, batch: u64, per_statement: u64) -> Result<f64> {
    let per_statement = per_statement.clamp(1, 1000);
    let batch = batch.max(per_statement) / per_statement * per_statement;
    if url.starts_with("postgres") {
        let pool = PgPoolOptions::new().max_connections(1).connect(url).await?;
        let router: String = sqlx::query_scalar("SELECT id FROM routers LIMIT 1")
            .fetch_one(&pool)
            .await
            .context("the database has no router")?;
        let start = Instant::now();
        let mut done = 0;
        while done < rows {
            let end = (done + batch).min(rows);
            let mut tx = pool.begin().await?;
            insert_rows::<sqlx::Postgres>(&mut tx, &router, done, end, per_statement).await?;
            tx.commit().await?;
            done = end;
        }
        return Ok(rows as f64 / start.elapsed().as_secs_f64());
    }
    let opts = SqliteConnectOptions::from_str(url)?
        .journal_mode(SqliteJournalMode::Wal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10));
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(opts)
        .await?;
    let router: String = sqlx::query_scalar("SELECT id FROM routers LIMIT 1")
        .fetch_one(&pool)
        .await
        .context("the database has no router")?;
    let start = Instant::now();
    let mut done = 0;
    while done < rows {
        let end = (done + batch).min(rows);
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
        insert_rows::<sqlx::Sqlite>(&mut tx, &router, done, end, per_statement).await?;
        tx.commit().await?;
        done = end;
    }
    Ok(rows as f64 / start.elapsed().as_secs_f64())
}

/// Rows `from..to`, `per_statement` to an INSERT, on one connection (inside the caller's
/// transaction).
async fn insert_rows<DB>(
    conn: &mut DB::Connection,
    router: &str,
    from: u64,
    to: u64,
    per_statement: u64,
) -> Result<()>
where
    DB: sqlx::Database,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'q> &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    let mut i = from;
    while i < to {
        let n = per_statement.min(to - i);
        let sql = insert_sql(n);
        let mut q = sqlx::query::<DB>(&sql);
        for k in i..i + n {
            q = row(q, router, k);
        }
        q.execute(&mut *conn).await?;
        i += n;
    }
    Ok(())
}

fn row<'q, DB: sqlx::Database>(
    q: sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>,
    router: &'q str,
    i: u64,
) -> sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>
where
    &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    q.bind(router)
        .bind(format!("GUEST{:03}", i % 1000))
        .bind(1_700_000_000_000 + i as i64)
        .bind(600 + i as i64)
        .bind(1_000_000 + i as i64)
        .bind(8_000_000 + i as i64)
}

/// User plus system CPU time of process `pid`, in kernel clock ticks (`/proc/PID/stat`).
pub fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces; fields count from after its closing parenthesis.
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// Resident memory of process `pid`, KiB (`VmRSS`).
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The server's busy time per ingest stage so far (`mtm_ingest_stage_seconds_total` on its
/// `/metrics`), seconds by stage; empty if it cannot be read.
pub async fn ingest_stage_seconds(server: &str) -> BTreeMap<String, f64> {
    let url = format!("{}/metrics", server.trim_end_matches('/'));
    let Ok(resp) = reqwest::get(&url).await else {
        return BTreeMap::new();
    };
    let Ok(text) = resp.text().await else {
        return BTreeMap::new();
    };
    parse_stage_seconds(&text)
}

/// `mtm_ingest_stage_seconds_total{stage="S"} V` lines of a Prometheus text body.
fn parse_stage_seconds(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter_map(|l| l.strip_prefix("mtm_ingest_stage_seconds_total{stage=\""))
        .filter_map(|rest| {
            let (stage, value) = rest.split_once("\"}")?;
            Some((stage.to_owned(), value.trim().parse().ok()?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_seconds_are_read_from_metrics() {
        let text = "# HELP x\nmtm_ingest_stage_seconds_total{stage=\"verify\"} 1.500\n\
                    mtm_ingest_stage_seconds_total{stage=\"store\"} 12.250\nother 3\n";
        let s = parse_stage_seconds(text);
        assert_eq!(s.len(), 2);
        assert_eq!(s.get("verify"), Some(&1.5));
        assert_eq!(s.get("store"), Some(&12.25));
    }
}
