//! Chain heads witnessed outside the database: `mtm-server serve` (or `audit checkpoint`)
//! exports signed checkpoints, and `mtm-server audit verify` names what a database owner took
//! away behind the triggers' back: rows cut from the tail, the whole file restored from an
//! older copy, or a history rewritten from some row on. Both backends, real processes.

use mtm_control_plane::store::{audit_content, chain_hash, ledger_content, GENESIS_HASH};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

fn server() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mtm-server"));
    c.env_remove("MTM_DATABASE_URL")
        .env_remove("MTM_MQTT_HOST")
        .env_remove("MTM_CHECKPOINT_DIR")
        .env("RUST_LOG", "warn");
    c
}

/// `mtm-server ARGS` with the data folder, database and checkpoint directory given.
fn run(args: &[&str], data: &Path, db: &str, dir: &Path) -> Output {
    let out = server()
        .args(args)
        .env("MTM_DATA_DIR", data)
        .env("MTM_DATABASE_URL", db)
        .env("MTM_CHECKPOINT_DIR", dir)
        .output()
        .unwrap();
    assert!(
        out.status.code().is_some(),
        "{args:?} was killed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn verify(data: &Path, db: &str, dir: &Path) -> (Option<i32>, String) {
    let out = run(&["audit", "verify"], data, db, dir);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.code(), text)
}

/// Append `n` rows to each chain as the server would (same hashing), `tag` making them differ
/// from rows another history appended at the same ids.
macro_rules! append_rows {
    ($pool:expr, $ledger:expr, $audit:expr, $tag:expr) => {{
        for (table, n) in [("token_ledger", $ledger), ("audit_log", $audit)] {
            for _ in 0..n {
                let head: Option<(i64, String)> =
                    sqlx::query_as(&format!("SELECT id, hash FROM {table} ORDER BY id DESC LIMIT 1"))
                        .fetch_optional($pool)
                        .await
                        .unwrap();
                let (last, prev) = head.unwrap_or((0, GENESIS_HASH.to_owned()));
                let id = last + 1;
                let at = 1_800_000_000_000 + id;
                let detail = format!("{{\"n\":{id},\"tag\":\"{}\"}}", $tag);
                if table == "token_ledger" {
                    let token = "00000000-0000-4000-8000-000000000001";
                    let hash =
                        chain_hash(&prev, &ledger_content(id, token, "issued", &detail, "t", at));
                    sqlx::query(
                        "INSERT INTO token_ledger (id, token_id, event, detail, actor, at, prev_hash, hash)
                         VALUES ($1, $2, 'issued', $3, 't', $4, $5, $6)",
                    )
                    .bind(id)
                    .bind(token)
                    .bind(&detail)
                    .bind(at)
                    .bind(&prev)
                    .bind(&hash)
                    .execute($pool)
                    .await
                    .unwrap();
                } else {
                    let hash = chain_hash(&prev, &audit_content(id, at, "t", "test", "x", &detail));
                    sqlx::query(
                        "INSERT INTO audit_log (id, at, actor, action, target, detail, prev_hash, hash)
                         VALUES ($1, $2, 't', 'test', 'x', $3, $4, $5)",
                    )
                    .bind(id)
                    .bind(at)
                    .bind(&detail)
                    .bind(&prev)
                    .bind(&hash)
                    .execute($pool)
                    .await
                    .unwrap();
                }
            }
        }
    }};
}

/// Rows of each chain the newest exported checkpoint counts.
fn exported_rows(dir: &Path) -> (u64, u64) {
    let (mut ledger, mut audit) = (0, 0);
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        for line in text.lines() {
            let Ok(c) = serde_json::from_str::<mtm_common::Checkpoint>(line) else {
                continue;
            };
            match c.chain.as_str() {
                "token_ledger" => ledger = c.rows,
                _ => audit = c.rows,
            }
        }
    }
    (ledger, audit)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_tail_cut_and_older_copy_restored_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let dir = tmp.path().join("checkpoints");
    let file = data.join("mtm.db");
    let db = format!("sqlite://{}", file.display());
    let out = run(&["migrate"], &data, &db, &dir);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let pool = sqlx::SqlitePool::connect(&db).await.unwrap();
    append_rows!(&pool, 60, 5, "first");
    let backup = tmp.path().join("backup.db");
    sqlx::query(&format!("VACUUM INTO '{}'", backup.display()))
        .execute(&pool)
        .await
        .unwrap();
    append_rows!(&pool, 40, 5, "first");
    pool.close().await;

    // The server takes and exports checkpoints on its own schedule.
    let mut serve = server()
        .arg("serve")
        .env("MTM_DATA_DIR", &data)
        .env("MTM_DATABASE_URL", &db)
        .env("MTM_CHECKPOINT_DIR", &dir)
        .env("MTM_CHECKPOINT_EVERY_S", "1")
        .env("MTM_HTTP_BIND", "127.0.0.1:0")
        .env("MTM_MQTT_BIND", "127.0.0.1:0")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while exported_rows(&dir).0 < 100 {
        assert!(
            std::time::Instant::now() < deadline,
            "no checkpoint exported"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let term = Command::new("kill")
        .args(["-TERM", &serve.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    assert!(serve.wait().unwrap().success());
    let (ledger, audit) = exported_rows(&dir);
    assert_eq!(ledger, 100);
    assert!(audit >= 10, "{audit}");

    let (code, text) = verify(&data, &db, &dir);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("token_ledger: 100 rows agree with"), "{text}");

    // The database owner drops the triggers and deletes the newest 5 ledger and 3 audit rows:
    // both chains are still intact as far as they go, the checkpoints name what is gone.
    let pool = sqlx::SqlitePool::connect(&db).await.unwrap();
    for t in ["token_ledger_no_delete", "audit_log_no_delete"] {
        sqlx::query(&format!("DROP TRIGGER {t}"))
            .execute(&pool)
            .await
            .unwrap();
    }
    sqlx::query("DELETE FROM token_ledger WHERE id > 95")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query(&format!("DELETE FROM audit_log WHERE id > {}", audit - 3))
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let (code, text) = verify(&data, &db, &dir);
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains("token_ledger: 95 rows, chain intact"),
        "{text}"
    );
    assert!(text.contains("token_ledger: rows 96–100 missing"), "{text}");
    let audit_missing = format!("audit_log: rows {}–{audit} missing", audit - 2);
    assert!(text.contains(&audit_missing), "{text}");

    // An older copy of the whole file put back: the tail it never had is named.
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
    }
    std::fs::copy(&backup, &file).unwrap();
    let (code, text) = verify(&data, &db, &dir);
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains("token_ledger: 60 rows, chain intact"),
        "{text}"
    );
    assert!(text.contains("token_ledger: rows 61–100 missing"), "{text}");

    // New rows written after the restore make the chain long again, but not the same.
    let pool = sqlx::SqlitePool::connect(&db).await.unwrap();
    append_rows!(&pool, 45, 0, "second");
    pool.close().await;
    let (code, text) = verify(&data, &db, &dir);
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains("token_ledger: 105 rows, chain intact"),
        "{text}"
    );
    assert!(
        text.contains("token_ledger: history forked at or before row 100"),
        "{text}"
    );

    // The restore was deliberate and recorded: checkpoints from before it are set aside by
    // time, counted, and the history since agrees with a new one.
    let since = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let out = run(&["audit", "checkpoint"], &data, &db, &dir);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&["audit", "verify", "--since", &since], &data, &db, &dir);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("signed before --since not compared"),
        "{text}"
    );
    assert!(
        text.contains("token_ledger: 105 rows agree with 1 witnessed"),
        "{text}"
    );
    let out = run(
        &["audit", "verify", "--since", "yesterday"],
        &data,
        &db,
        &dir,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("RFC 3339"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_tail_cut_is_named() {
    let base = std::env::var("MTM_TEST_POSTGRES_ADMIN_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let admin = sqlx::PgPool::connect(&base)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {base} is required: {e}"));
    let name = format!("mtm_witness_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&admin)
        .await
        .unwrap();
    let db = format!("{}/{name}", base.rsplit_once('/').unwrap().0);

    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let dir = tmp.path().join("checkpoints");
    let out = run(&["migrate"], &data, &db, &dir);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The key checkpoints are signed with is the server's, made at its first start.
    mtm_control_plane::server::load_or_create_cp_key(&data).unwrap();
    let pool = sqlx::PgPool::connect(&db).await.unwrap();
    append_rows!(&pool, 100, 10, "first");

    let out = run(&["audit", "checkpoint"], &data, &db, &dir);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(exported_rows(&dir), (100, 10));
    let (code, text) = verify(&data, &db, &dir);
    assert_eq!(code, Some(0), "{text}");

    for t in ["token_ledger", "audit_log"] {
        sqlx::query(&format!("DROP TRIGGER {t}_no_update ON {t}"))
            .execute(&pool)
            .await
            .unwrap();
    }
    sqlx::query("DELETE FROM token_ledger WHERE id > 95")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM audit_log WHERE id > 7")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let (code, text) = verify(&data, &db, &dir);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("token_ledger: rows 96–100 missing"), "{text}");
    assert!(text.contains("audit_log: rows 8–10 missing"), "{text}");

    sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .execute(&admin)
        .await
        .unwrap();
}
