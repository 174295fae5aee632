//! `mtm-fleet fill-db`: a control-plane database at scale for the page benchmark. Locations,
//! routers, packages and accounts go through the server's own store (its migrations, password
//! hashes and audit); the bulk (shifts, vouchers with their revenue records, usage rows,
//! alerts) is written directly in large transactions: multi-row inserts on SQLite, `COPY` on
//! PostgreSQL. Everything is derived from the row number, so two runs give the same data.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::str::FromStr;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use mtm_control_plane::store::{self, NewLocation, NewPackage, NewRouter, NewUser, Role};
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use uuid::Uuid;

/// What to generate.
#[derive(clap::Args, Debug, Clone)]
pub struct FillArgs {
    /// `sqlite://FILE` or `postgres://...` of a new, empty database (migrated here).
    #[arg(long)]
    pub database_url: String,
    /// Vouchers, spread evenly over `days`.
    #[arg(long, default_value_t = 1_000_000)]
    pub vouchers: u64,
    /// Usage rows, spread evenly over the vouchers.
    #[arg(long, default_value_t = 20_000_000)]
    pub usage: u64,
    /// Locations, one router each.
    #[arg(long, default_value_t = 45)]
    pub locations: u32,
    /// Days of history, the last one today.
    #[arg(long, default_value_t = 365)]
    pub days: u32,
    /// Alerts, spread over the days; those of the last two days stay open.
    #[arg(long, default_value_t = 20_000)]
    pub alerts: u64,
    /// Manager accounts `manager-01`.. (the load tool logs in as each).
    #[arg(long, default_value_t = 50)]
    pub managers: u32,
    /// Password of every account made.
    #[arg(long, default_value = "scale-password-17")]
    pub password: String,
}

/// Staff per location: one per eight-hour slot of the day.
const SLOTS: u32 = 3;
const SLOT_MS: i64 = 8 * 3_600_000;
const DAY_MS: i64 = 86_400_000;
/// Rows per statement (SQLite) or per `COPY` chunk (PostgreSQL); rows per transaction.
const STATEMENT_ROWS: usize = 400;
const TX_ROWS: usize = 200_000;
const FLOAT_MINOR: i64 = 5_000;

/// A value of a generated row: numbers and strings made here (ids, codes, fixed words), never
/// anything a user typed, so SQLite gets them inline.
enum V {
    I(i64),
    T(String),
    N,
}

/// Where rows go: one backend's bulk path.
enum Sink {
    Sqlite(sqlx::SqlitePool),
    Pg(sqlx::PgPool),
}

impl Sink {
    async fn open(url: &str) -> Result<Sink> {
        if url.starts_with("postgres") {
            let pool = PgPoolOptions::new().max_connections(2).connect(url).await?;
            return Ok(Sink::Pg(pool));
        }
        // Bulk loading: the page benchmark's own database, which a crash may simply remake.
        let opts = SqliteConnectOptions::from_str(url)?
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Off)
            .foreign_keys(false)
            .busy_timeout(Duration::from_secs(30))
            .pragma("cache_size", "-262144");
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(opts)
            .await?;
        Ok(Sink::Sqlite(pool))
    }

    /// Write `rows` into `table(cols)`, made by `next` until it gives `None`.
    async fn load(
        &self,
        table: &str,
        cols: &[&str],
        mut next: impl FnMut() -> Option<Vec<V>>,
    ) -> Result<u64> {
        let mut n = 0u64;
        let mut done = false;
        while !done {
            match self {
                Sink::Sqlite(pool) => {
                    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                    let mut in_tx = 0;
                    while in_tx < TX_ROWS {
                        let mut sql = format!("INSERT INTO {table} ({}) VALUES ", cols.join(", "));
                        let mut k = 0;
                        while k < STATEMENT_ROWS {
                            let Some(row) = next() else {
                                done = true;
                                break;
                            };
                            if k > 0 {
                                sql.push(',');
                            }
                            sql_row(&mut sql, &row);
                            k += 1;
                        }
                        if k > 0 {
                            sqlx::query(&sql).execute(&mut *tx).await?;
                        }
                        in_tx += k;
                        n += k as u64;
                        if done {
                            break;
                        }
                    }
                    tx.commit().await?;
                }
                Sink::Pg(pool) => {
                    let mut conn = pool.acquire().await?;
                    let stmt = format!(
                        "COPY {table} ({}) FROM STDIN WITH (FORMAT text)",
                        cols.join(", ")
                    );
                    let mut copy = conn.copy_in_raw(&stmt).await?;
                    let mut in_tx = 0;
                    while in_tx < TX_ROWS * 5 {
                        let mut buf = String::with_capacity(STATEMENT_ROWS * 160);
                        let mut k = 0;
                        while k < STATEMENT_ROWS * 10 {
                            let Some(row) = next() else {
                                done = true;
                                break;
                            };
                            copy_row(&mut buf, &row);
                            k += 1;
                        }
                        copy.send(buf.into_bytes()).await?;
                        in_tx += k;
                        n += k as u64;
                        if done {
                            break;
                        }
                    }
                    copy.finish().await?;
                }
            }
        }
        Ok(n)
    }

    async fn exec(&self, sql: &str) -> Result<()> {
        match self {
            Sink::Sqlite(p) => {
                sqlx::query(sql).execute(p).await?;
            }
            Sink::Pg(p) => {
                sqlx::query(sql).execute(p).await?;
            }
        }
        Ok(())
    }
}

fn sql_row(out: &mut String, row: &[V]) {
    out.push('(');
    for (i, v) in row.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        match v {
            V::I(x) => {
                let _ = write!(out, "{x}");
            }
            V::T(s) => {
                out.push('\'');
                out.push_str(&s.replace('\'', "''"));
                out.push('\'');
            }
            V::N => out.push_str("NULL"),
        }
    }
    out.push(')');
}

fn copy_row(out: &mut String, row: &[V]) {
    for (i, v) in row.iter().enumerate() {
        if i > 0 {
            out.push('\t');
        }
        match v {
            V::I(x) => {
                let _ = write!(out, "{x}");
            }
            V::T(s) => {
                for c in s.chars() {
                    match c {
                        '\\' => out.push_str("\\\\"),
                        '\t' => out.push_str("\\t"),
                        '\n' => out.push_str("\\n"),
                        '\r' => out.push_str("\\r"),
                        c => out.push(c),
                    }
                }
            }
            V::N => out.push_str("\\N"),
        }
    }
    out.push('\n');
}

/// SplitMix64: a fast, well-mixed number from a row number, so every row is derived alone.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A stable id for row `n` of kind `kind` (distinct kinds never collide).
fn id(kind: u8, n: u64) -> Uuid {
    Uuid::from_u128((0x5ca1_e000_u128 << 96) | (u128::from(kind) << 64) | u128::from(n))
}

/// One voucher, derived from its number.
struct Gen {
    location: u32,
    day: u32,
    slot: u32,
    package: usize,
    at: i64,
}

struct Plan {
    vouchers: u64,
    per_token_usage: u64,
    usage_extra: u64,
    locations: u32,
    days: u32,
    day0: i64,
    now: i64,
}

impl Plan {
    fn day_start(&self, day: u32) -> i64 {
        self.day0 + i64::from(day) * DAY_MS
    }

    /// Voucher `i`: its day (evenly spread, the last day today), location, time and slot.
    fn voucher(&self, i: u64) -> Gen {
        let r = mix(i);
        let day = u32::try_from(i * u64::from(self.days) / self.vouchers.max(1)).unwrap_or(0);
        let start = self.day_start(day);
        // Today only up to now, so no voucher is in the future.
        let span = if day + 1 == self.days {
            (self.now - start - 60_000).max(1)
        } else {
            DAY_MS
        };
        let at = start + i64::try_from((r >> 16) % u64::try_from(span).unwrap_or(1)).unwrap_or(0);
        let slot = u32::try_from((at - start) / SLOT_MS)
            .unwrap_or(0)
            .min(SLOTS - 1);
        Gen {
            location: u32::try_from(r % u64::from(self.locations)).unwrap_or(0),
            day,
            slot,
            package: usize::try_from((r >> 8) % 3).unwrap_or(0),
            at,
        }
    }

    fn shift_key(&self, g: &Gen) -> u64 {
        (u64::from(g.location) * u64::from(self.days) + u64::from(g.day)) * u64::from(SLOTS)
            + u64::from(g.slot)
    }

    fn shift_end(&self, day: u32, slot: u32) -> i64 {
        self.day_start(day) + i64::from(slot + 1) * SLOT_MS
    }

    /// Usage rows of voucher `i`: the same for all, the remainder to the first ones.
    fn usage_rows(&self, i: u64) -> u64 {
        self.per_token_usage + u64::from(i < self.usage_extra)
    }
}

/// Fill the database; prints what was made and how fast.
pub async fn fill(a: &FillArgs) -> Result<()> {
    let started = Instant::now();
    if a.locations == 0 || a.days == 0 {
        bail!("--locations and --days must be at least 1");
    }
    let store = store::open(&a.database_url)
        .await
        .context("opening (and migrating) the database")?;
    if !store.list_locations().await?.is_empty() {
        bail!("the database has locations already: fill-db wants a new, empty one");
    }
    let now = store::now_ms();
    let today = now - now.rem_euclid(DAY_MS);
    let plan = Plan {
        vouchers: a.vouchers,
        per_token_usage: a.usage / a.vouchers.max(1),
        usage_extra: a.usage % a.vouchers.max(1),
        locations: a.locations,
        days: a.days,
        day0: today - i64::from(a.days - 1) * DAY_MS,
        now,
    };

    // Through the store: what has hashes, audit and chains.
    let mut packages = Vec::new();
    for (slug, name, price, uptime) in [
        ("30m", "30 minutes", 200, 1800),
        ("1h", "One hour", 500, 3600),
        ("1d", "One day", 1500, 86_400),
    ] {
        packages.push(
            store
                .create_package(NewPackage {
                    slug: slug.into(),
                    name: name.into(),
                    price_minor: price,
                    currency: "KES".into(),
                    limit_uptime_s: Some(uptime),
                    limit_bytes_total: None,
                    rate_limit: Some("2M/5M".into()),
                    shared_users: 1,
                    validity_s: Some(uptime.max(86_400)),
                    uses_password: false,
                    lock_to_mac: false,
                })
                .await?,
        );
    }
    let mut locations = Vec::new();
    let mut routers = Vec::new();
    let mut staff: Vec<Vec<Uuid>> = Vec::new();
    for l in 0..a.locations {
        let loc = store
            .create_location(NewLocation {
                name: format!("Site {:02}", l + 1),
                timezone: "UTC".into(),
            })
            .await?;
        let key = mtm_common::keys::generate_signing_key();
        let router = store
            .create_router(NewRouter {
                location_id: loc.id,
                name: format!("Router {:02}", l + 1),
                agent_id: format!("scale-{:02}", l + 1),
                public_key_hex: mtm_common::keys::public_key_hex(&key.verifying_key()),
                mqtt_password: format!("scale-mqtt-{l}-{}", Uuid::new_v4().simple()),
            })
            .await?;
        let mut here = Vec::new();
        for s in 0..SLOTS {
            let u = store
                .create_user(NewUser {
                    username: format!("staff-{:02}-{}", l + 1, s + 1),
                    password: a.password.clone(),
                    role: Role::Staff,
                    location_ids: vec![loc.id],
                })
                .await?;
            here.push(u.id);
        }
        staff.push(here);
        locations.push(loc.id);
        routers.push(router.id);
    }
    for m in 0..a.managers {
        store
            .create_user(NewUser {
                username: format!("manager-{:02}", m + 1),
                password: a.password.clone(),
                role: Role::Manager,
                location_ids: locations.clone(),
            })
            .await?;
    }
    drop(store);
    let made = started.elapsed();

    // Shift sums first (the vouchers reference their shift, and a closed shift's expected cash
    // is its float plus its sales).
    let mut sums: HashMap<u64, (i64, i64)> = HashMap::new();
    let prices: Vec<i64> = packages.iter().map(|p| p.price_minor).collect();
    for i in 0..a.vouchers {
        let g = plan.voucher(i);
        let e = sums.entry(plan.shift_key(&g)).or_insert((0, 0));
        e.0 += 1;
        e.1 += prices[g.package];
    }
    let sink = Sink::open(&a.database_url).await?;
    let t = Instant::now();
    let mut keys = (0..u64::from(a.locations) * u64::from(a.days) * u64::from(SLOTS)).filter(|k| {
        // Only shifts that started by now.
        let slot = u32::try_from(k % u64::from(SLOTS)).unwrap_or(0);
        let day = u32::try_from(k / u64::from(SLOTS) % u64::from(a.days)).unwrap_or(0);
        plan.day_start(day) + i64::from(slot) * SLOT_MS <= now
    });
    let shifts = sink
        .load(
            "shifts",
            &[
                "id",
                "staff_id",
                "location_id",
                "opened_at",
                "opening_float_minor",
                "closed_at",
                "declared_cash_minor",
                "expected_cash_minor",
                "variance_minor",
                "note",
            ],
            || {
                let k = keys.next()?;
                let slot = u32::try_from(k % u64::from(SLOTS)).unwrap_or(0);
                let day = u32::try_from(k / u64::from(SLOTS) % u64::from(a.days)).unwrap_or(0);
                let l = usize::try_from(k / u64::from(SLOTS) / u64::from(a.days)).unwrap_or(0);
                let opened = plan.day_start(day) + i64::from(slot) * SLOT_MS;
                let end = plan.shift_end(day, slot);
                let (_, sold) = sums.get(&k).copied().unwrap_or((0, 0));
                let mut row = vec![
                    V::T(id(1, k).to_string()),
                    V::T(staff[l][usize::try_from(slot).unwrap_or(0)].to_string()),
                    V::T(locations[l].to_string()),
                    V::I(opened),
                    V::I(FLOAT_MINOR),
                ];
                if end <= now {
                    // A few drawers are short by a little.
                    let variance = if mix(k).is_multiple_of(10) { -200 } else { 0 };
                    let expected = FLOAT_MINOR + sold;
                    row.extend([
                        V::I(end),
                        V::I(expected + variance),
                        V::I(expected),
                        V::I(variance),
                        V::N,
                    ]);
                } else {
                    row.extend([V::N, V::N, V::N, V::N, V::N]);
                }
                Some(row)
            },
        )
        .await?;
    let shift_time = t.elapsed();

    let t = Instant::now();
    let mut i = 0u64;
    let tokens = sink
        .load(
            "tokens",
            &[
                "id",
                "code",
                "package_id",
                "staff_id",
                "location_id",
                "router_id",
                "shift_id",
                "price_minor",
                "currency",
                "state",
                "created_at",
                "applied_at",
                "first_login_at",
                "expired_at",
                "uptime_s",
                "bytes_in",
                "bytes_out",
                "updated_at",
                "total_uptime_s",
                "total_bytes",
            ],
            || {
                if i >= a.vouchers {
                    return None;
                }
                let g = plan.voucher(i);
                let l = usize::try_from(g.location).unwrap_or(0);
                let p = &packages[g.package];
                let usage = i64::try_from(plan.usage_rows(i)).unwrap_or(0);
                let used = usage > 0;
                let first = g.at + 120_000;
                let last = first + usage * 60_000;
                let validity = i64::try_from(p.validity_s.unwrap_or(86_400)).unwrap_or(86_400);
                let expired = g.at + validity * 1000;
                let state = match (used, expired <= now) {
                    (_, true) => "expired",
                    (true, false) => "in_use",
                    (false, false) => "applied",
                };
                let row = vec![
                    V::T(id(2, i).to_string()),
                    V::T(format!("S{i:09}")),
                    V::T(p.id.to_string()),
                    V::T(staff[l][usize::try_from(g.slot).unwrap_or(0)].to_string()),
                    V::T(locations[l].to_string()),
                    V::T(routers[l].to_string()),
                    V::T(id(1, plan.shift_key(&g)).to_string()),
                    V::I(p.price_minor),
                    V::T("KES".into()),
                    V::T(state.into()),
                    V::I(g.at),
                    V::I(g.at + 40),
                    if used { V::I(first) } else { V::N },
                    if expired <= now { V::I(expired) } else { V::N },
                    V::I(usage * 60),
                    V::I(usage * 20_000),
                    V::I(usage * 200_000),
                    V::I(last.min(now)),
                    // The totals of the usage rows made below: 60 s and 220,000 bytes each.
                    V::I(usage * 60),
                    V::I(usage * 220_000),
                ];
                i += 1;
                Some(row)
            },
        )
        .await?;
    let token_time = t.elapsed();

    let t = Instant::now();
    let mut i = 0u64;
    let revenue = sink
        .load(
            "revenue_records",
            &[
                "id",
                "token_id",
                "shift_id",
                "staff_id",
                "location_id",
                "expected_minor",
                "currency",
                "at",
                "confirmed_at",
            ],
            || {
                if i >= a.vouchers {
                    return None;
                }
                let g = plan.voucher(i);
                let l = usize::try_from(g.location).unwrap_or(0);
                let end = plan.shift_end(g.day, g.slot);
                let row = vec![
                    V::T(id(3, i).to_string()),
                    V::T(id(2, i).to_string()),
                    V::T(id(1, plan.shift_key(&g)).to_string()),
                    V::T(staff[l][usize::try_from(g.slot).unwrap_or(0)].to_string()),
                    V::T(locations[l].to_string()),
                    V::I(prices[g.package]),
                    V::T("KES".into()),
                    V::I(g.at),
                    if end <= now { V::I(end) } else { V::N },
                ];
                i += 1;
                Some(row)
            },
        )
        .await?;
    let revenue_time = t.elapsed();

    let t = Instant::now();
    let (mut i, mut j) = (0u64, 0u64);
    let mut current: Option<(Gen, i64)> = None;
    let usage = sink
        .load(
            "usage",
            &[
                "router_id",
                "token_id",
                "username",
                "at",
                "active",
                "uptime_s",
                "bytes_in",
                "bytes_out",
                "delta_uptime_s",
                "delta_bytes_in",
                "delta_bytes_out",
                "counters_reset",
            ],
            || loop {
                if i >= a.vouchers {
                    return None;
                }
                let rows = plan.usage_rows(i);
                if j >= rows {
                    i += 1;
                    j = 0;
                    current = None;
                    continue;
                }
                let (g, _) = current.get_or_insert_with(|| (plan.voucher(i), 0));
                let l = usize::try_from(g.location).unwrap_or(0);
                let n = i64::try_from(j).unwrap_or(0) + 1;
                let at = (g.at + 120_000 + n * 60_000).min(now);
                let row = vec![
                    V::T(routers[l].to_string()),
                    V::T(id(2, i).to_string()),
                    V::T(format!("S{i:09}")),
                    V::I(at),
                    V::I(i64::from(j + 1 < rows)),
                    V::I(n * 60),
                    V::I(n * 20_000),
                    V::I(n * 200_000),
                    V::I(60),
                    V::I(20_000),
                    V::I(200_000),
                    V::I(0),
                ];
                j += 1;
                return Some(row);
            },
        )
        .await?;
    let usage_time = t.elapsed();

    let t = Instant::now();
    let mut i = 0u64;
    let kinds = [
        ("rogue_token", "critical"),
        ("cash_short", "warning"),
        ("router_silent", "warning"),
        ("reused_token", "warning"),
    ];
    let alerts = sink
        .load(
            "alerts",
            &[
                "id",
                "kind",
                "severity",
                "location_id",
                "router_id",
                "evidence",
                "created_at",
                "state",
                "note",
                "agent_id",
                "dedup_key",
                "summary",
                "updated_at",
            ],
            || {
                if i >= a.alerts {
                    return None;
                }
                let r = mix(i ^ 0xa1e7);
                let day = u32::try_from(i * u64::from(a.days) / a.alerts.max(1)).unwrap_or(0);
                let start = plan.day_start(day);
                let span = if day + 1 == a.days {
                    (now - start).max(1)
                } else {
                    DAY_MS
                };
                let at = start + i64::try_from(r % u64::try_from(span).unwrap_or(1)).unwrap_or(0);
                let l = usize::try_from((r >> 20) % u64::from(a.locations)).unwrap_or(0);
                let (kind, severity) = kinds[usize::try_from((r >> 40) % 4).unwrap_or(0)];
                let open = day + 2 >= a.days;
                let row = vec![
                    V::T(id(4, i).to_string()),
                    V::T(kind.into()),
                    V::T(severity.into()),
                    V::T(locations[l].to_string()),
                    V::T(routers[l].to_string()),
                    V::T(format!("{{\"n\":{i}}}")),
                    V::I(at),
                    V::T(if open { "open" } else { "resolved" }.into()),
                    if open { V::N } else { V::T("checked".into()) },
                    V::T(format!("scale-{:02}", l + 1)),
                    V::T(format!("scale:{i}")),
                    V::T(format!("generated alert {i}")),
                    V::I(at),
                ];
                i += 1;
                Some(row)
            },
        )
        .await?;
    let alert_time = t.elapsed();

    let t = Instant::now();
    match &sink {
        // A live database's autovacuum has long set the visibility map of rows this old, which
        // lets counts read the indexes alone; a database filled a moment ago has not yet.
        // Sent as a simple query: VACUUM refuses to run inside a transaction block.
        Sink::Pg(p) => {
            sqlx::raw_sql("VACUUM ANALYZE").execute(p).await?;
        }
        Sink::Sqlite(_) => sink.exec("ANALYZE").await?,
    }
    let analyze_time = t.elapsed();
    let rate = |n: u64, d: Duration| (n as f64 / d.as_secs_f64().max(1e-9)).round();
    let out = serde_json::json!({
        "database": if a.database_url.starts_with("postgres") { "postgres" } else { "sqlite" },
        "locations": a.locations, "managers": a.managers, "days": a.days,
        "accounts_and_routers_s": made.as_secs_f64(),
        "shifts": shifts, "shifts_s": shift_time.as_secs_f64(),
        "vouchers": tokens, "vouchers_s": token_time.as_secs_f64(), "vouchers_per_s": rate(tokens, token_time),
        "revenue_records": revenue, "revenue_records_s": revenue_time.as_secs_f64(),
        "usage_rows": usage, "usage_s": usage_time.as_secs_f64(), "usage_rows_per_s": rate(usage, usage_time),
        "alerts": alerts, "alerts_s": alert_time.as_secs_f64(),
        "analyze_s": analyze_time.as_secs_f64(),
        "total_s": started.elapsed().as_secs_f64(),
    });
    println!("{out}");
    Ok(())
}
