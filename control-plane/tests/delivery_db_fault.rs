//! The database unavailable, then back: another connection holds SQLite's write lock longer than
//! the server's busy timeout while customers use vouchers, so ingest batches fail. Afterwards
//! no usage is lost or counted twice: for every voucher, the usage rows' deltas and the token's
//! counters equal, to the byte, what the router counted. The server, a simulated router and a
//! real agent run in this process (`mtm-server demo`'s set-up).
//!
//! `MTM_FAULT_DB_LOCK_S` (default 25) sets how long the lock is held.

mod support;

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{json, Value};
use sqlx::Connection;
use support::{wait_for, Api};

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn metric(http: &str, name: &str) -> u64 {
    let text = reqwest::get(format!("http://{http}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

const VOUCHERS: usize = 6;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_reported_while_the_database_is_locked_is_not_lost() {
    let lock_for = Duration::from_secs(env_u64("MTM_FAULT_DB_LOCK_S", 25));
    let dir = tempfile::tempdir().unwrap();
    let demo = support::demo_site(dir.path()).await;
    let http = demo.server.http_addr().to_string();
    let sim = &demo.routers[0];
    let api = Api::new(&http);
    let staff = api
        .login("staff", mtm_control_plane::demo::STAFF_PASSWORD)
        .await;
    api.post::<Value>(
        &staff,
        "/api/shifts/clock-in",
        json!({"opening_float_minor": 1000}),
    )
    .await;
    let mut codes = Vec::new();
    for _ in 0..VOUCHERS {
        let t: Value = api
            .post(
                &staff,
                "/api/tokens/generate",
                json!({"package_id": demo.packages[2].id}),
            )
            .await;
        codes.push((
            t["id"].as_str().unwrap().to_owned(),
            t["code"].as_str().unwrap().to_owned(),
        ));
    }
    wait_for(
        "vouchers on the router",
        Duration::from_secs(30),
        || async {
            let users = sim.users();
            codes
                .iter()
                .all(|(_, code)| users.iter().any(|u| &u.name == code))
        },
    )
    .await;
    for (i, u) in sim.users().iter().enumerate() {
        let mac = format!("02:00:00:00:00:{i:02x}");
        sim.customer_login(&u.name, u.password.as_deref().unwrap_or(""), &mac)
            .unwrap();
    }

    // Traffic on every voucher, all the time: before, during and after the lock.
    let traffic = {
        let codes = codes.clone();
        let routers = demo.routers[0].clone();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let s = stop.clone();
        let task = tokio::spawn(async move {
            let mut round = 0u64;
            while !s.load(std::sync::atomic::Ordering::SeqCst) {
                round += 1;
                for (i, (_, code)) in codes.iter().enumerate() {
                    routers.use_traffic(code, 1000 * round + i as u64, 7 * round + 1);
                }
                routers.advance(Duration::from_secs(3));
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        });
        (stop, task)
    };

    // Another connection takes the write lock and keeps it.
    let db = format!("sqlite://{}", demo.data_dir.join("mtm.db").display());
    let mut locker = sqlx::SqliteConnection::connect(&db).await.unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut locker)
        .await
        .unwrap();
    let locked_at = std::time::Instant::now();
    wait_for(
        "an ingest batch fails on the lock",
        lock_for + Duration::from_secs(30),
        || async { metric(&http, "mtm_ingest_failed_batches_total").await > 0 },
    )
    .await;
    tokio::time::sleep(lock_for.saturating_sub(locked_at.elapsed())).await;
    sqlx::query("ROLLBACK").execute(&mut locker).await.unwrap();
    drop(locker);
    let failed = metric(&http, "mtm_ingest_failed_batches_total").await;

    // A little more traffic after the lock, then the customers stop.
    tokio::time::sleep(Duration::from_secs(2)).await;
    traffic.0.store(true, std::sync::atomic::Ordering::SeqCst);
    traffic.1.await.unwrap();
    let router: HashMap<String, (u64, u64, u64)> = sim
        .users()
        .into_iter()
        .map(|u| (u.name, (u.bytes_in, u.bytes_out, u.uptime.as_secs())))
        .collect();

    let pool = sqlx::SqlitePool::connect(&db).await.unwrap();
    let released = std::time::Instant::now();
    let mut last = String::new();
    let settled = loop {
        let mut all = true;
        for (id, code) in &codes {
            let want = router[code];
            let counters: (i64, i64, i64) =
                sqlx::query_as("SELECT bytes_in, bytes_out, uptime_s FROM tokens WHERE id = ?")
                    .bind(id)
                    .fetch_one(&pool)
                    .await
                    .unwrap();
            let deltas: (i64, i64, i64) = sqlx::query_as(
                "SELECT COALESCE(SUM(delta_bytes_in), 0), COALESCE(SUM(delta_bytes_out), 0),
                        COALESCE(SUM(delta_uptime_s), 0) FROM usage WHERE token_id = ?",
            )
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
            let c = (counters.0 as u64, counters.1 as u64, counters.2 as u64);
            let d = (deltas.0 as u64, deltas.1 as u64, deltas.2 as u64);
            if c != want || d != want {
                all = false;
                last = format!("{code}: router {want:?}, token {c:?}, sum of deltas {d:?}");
                assert!(
                    d.0 <= want.0 && d.1 <= want.1,
                    "usage counted twice for {code}: router {want:?}, deltas {d:?}"
                );
                break;
            }
        }
        if all {
            break released.elapsed();
        }
        assert!(
            released.elapsed() < Duration::from_secs(90),
            "usage not complete 90 s after the lock: {last}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    eprintln!(
        "database locked {:.0} s: {failed} batches failed; usage of {VOUCHERS} vouchers equal \
         to the router's counters {:.1} s after the lock was released",
        lock_for.as_secs_f64(),
        settled.as_secs_f64()
    );
    assert!(failed > 0);
    demo.stop().await;
}
