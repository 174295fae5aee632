//! The messy-day soak: a compressed café day at five or more sites with the real server and
//! agents (see `day/`), through everything a real day throws at them: a catalog edit and a
//! package retirement mid-day, vouchers reaching their uptime, data and validity limits, a
//! router reboot, an agent SIGKILLed and restarted, two agents whose clocks are five minutes
//! off, an uplink outage longer than the silent threshold at two sites, an agent's disk filling
//! up, a re-enrollment with the same key and a replaced device with a new one, the broker
//! restarted (the embedded one with the server; a private Mosquitto killed on its own), the
//! server SIGKILLed and restarted, a PostgreSQL restart under load, and a forgotten clock-out
//! closed by a manager.
//!
//! The clean day (SQLite, embedded broker) must raise **no alert**, and at the end routers,
//! ledger, usage and cash must agree exactly. The second day (a private PostgreSQL cluster and a
//! private Mosquitto) does the same and also commits three frauds at random moments: each is
//! caught, and nothing else is raised.
//!
//! Bounded here (5 sites, 80 s of selling); `scripts/soak.sh` runs longer and wider days
//! (`MTM_SOAK_SITES`, `MTM_SOAK_DAY_S`; `MTM_SOAK_DB` and `MTM_SOAK_BROKER` put both days on
//! one backend).

mod day;
mod support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use day::backend::{Broker, Db};
use day::{checks, Day, Plan, Role, FLOAT, SILENT_AFTER_S};
use mtm_control_plane::store::{every_alert, Alert, AlertState, Store};
use serde_json::{json, Value};
use tokio::time::Instant;

/// How long routers and server get to agree once the day's last fault has cleared: 90 s, and
/// 3 s more for every site.
fn converge_limit(sites: usize) -> Duration {
    Duration::from_secs(90 + 3 * sites as u64)
}

/// A fraud committed during the day, and the alert that must answer it.
struct Fraud {
    site: usize,
    kind: &'static str,
}

/// A small deterministic generator, so a failing day can be replayed (`MTM_SOAK_SEED`).
struct Dice(u64);

impl Dice {
    fn from_env() -> Dice {
        let seed = std::env::var("MTM_SOAK_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| u64::try_from(d.as_nanos() & u128::from(u64::MAX)).unwrap_or(7))
                    .unwrap_or(7)
            });
        println!("soak seed {seed} (MTM_SOAK_SEED to replay)");
        Dice(seed | 1)
    }

    fn below(&mut self, n: u64) -> u64 {
        // xorshift64
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

/// Staff at `site` sell until `selling` turns false, one voucher about every second, from the
/// packages on sale; sales refused while the server restarts are simply not made.
async fn counter(
    day: Arc<Day>,
    site: usize,
    quick_on_sale: Arc<AtomicBool>,
    selling: Arc<AtomicBool>,
) {
    let jwt = day.staff_login(site).await;
    let _: Value = day
        .api
        .post(
            &jwt,
            "/api/shifts/clock-in",
            json!({"opening_float_minor": FLOAT}),
        )
        .await;
    let mut n = site as u64;
    while selling.load(Ordering::Relaxed) {
        n += 1;
        let package = match n % 4 {
            0 if quick_on_sale.load(Ordering::Relaxed) => 0,
            0 => 3,
            p => usize::try_from(p).unwrap(),
        };
        day.sell(&jwt, site, package).await;
        tokio::time::sleep(day.plan.pace(site)).await;
    }
}

/// What the day threw at it: each kind of fault and how many sites (or times) it struck.
type Injected = BTreeMap<&'static str, usize>;

/// Run `f` for every site in `sites` at once and wait for all.
async fn at_sites<F, Fut>(day: &Arc<Day>, sites: &[usize], f: F)
where
    F: Fn(Arc<Day>, usize) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let mut all = tokio::task::JoinSet::new();
    for &s in sites {
        all.spawn(f(day.clone(), s));
    }
    while let Some(r) = all.join_next().await {
        r.unwrap();
    }
}

/// The day's faults, in order, while the counters sell; frauds slotted in at random moments.
/// Returns what was injected.
async fn faults(
    day: &Arc<Day>,
    quick_on_sale: &AtomicBool,
    frauds: &mut Vec<Fraud>,
    dice: &mut Dice,
) -> Injected {
    let start = Instant::now();
    let plan = day.plan;
    let at = |f: f64| start + Duration::from_secs_f64(plan.day_s as f64 * f);
    let mut fraud_at: Vec<f64> = Vec::new();
    let with_frauds = !frauds.is_empty();
    frauds.clear();
    if with_frauds {
        for _ in 0..2 {
            fraud_at.push(0.1 + dice.below(80) as f64 / 100.0);
        }
        fraud_at.sort_by(f64::total_cmp);
    }
    let mut steps: Vec<(f64, &'static str)> = vec![
        (0.15, "price edit"),
        (0.2, "router reboot"),
        (0.25, "uplink outage"),
        (0.3, "agent kill"),
        (0.35, "disk full"),
        (0.45, "re-enrollment, same key"),
        (0.5, "package retired"),
        (0.7, "server kill"),
    ];
    if plan.new_device {
        steps.push((0.55, "re-enrollment, new device"));
    }
    if plan.broker == Broker::Mosquitto {
        steps.push((0.4, "broker restart"));
    }
    if plan.db == Db::Postgres {
        steps.push((0.6, "database restart"));
    }
    if with_frauds {
        steps.push((fraud_at[0], "rogue voucher"));
        steps.push((fraud_at[1], "limit raised"));
    }
    steps.sort_by(|a, b| a.0.total_cmp(&b.0));
    // The silent threshold (10 s) stands for production's 5 minutes, so a minute here is half
    // an hour of a real day: the outage lasts that long on a long day, and always well past the
    // threshold.
    let outage = Duration::from_secs((plan.day_s / 5).clamp(SILENT_AFTER_S * 2 + 5, 60));
    let mut injected = Injected::new();
    for (f, step) in steps {
        tokio::time::sleep_until(at(f)).await;
        println!("{:>6.1} s  {step}", start.elapsed().as_secs_f64());
        let mut count = 1;
        match step {
            "price edit" => edit_package(day, 3, 2500, true).await,
            "router reboot" => {
                let sites = plan.sites_for(Role::Reboot);
                count = sites.len();
                at_sites(day, &sites, |day, s| async move {
                    day.reboot_router(&day.sites[s], Duration::from_secs(5))
                        .await
                })
                .await;
            }
            "agent kill" => {
                let sites = plan.sites_for(Role::AgentKill);
                count = sites.len();
                at_sites(day, &sites, |day, s| async move {
                    day.kill_agent(&day.sites[s]).await;
                    tokio::time::sleep(Duration::from_secs(3)).await;
                    day.start_agent(&day.sites[s]).await;
                })
                .await;
            }
            "uplink outage" => {
                let sites = plan.sites_for(Role::Outage);
                count = sites.len();
                for &s in &sites {
                    day.sites[s].uplink.set_up(false);
                }
                let day = day.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(outage).await;
                    println!("uplinks restored after {outage:?}");
                    for s in sites {
                        day.sites[s].uplink.set_up(true);
                    }
                });
            }
            "disk full" => {
                let sites: Vec<usize> = plan
                    .sites_for(Role::DiskFull)
                    .into_iter()
                    .filter(|&s| day.sites[s].disk.is_some())
                    .collect();
                count = sites.len();
                for &s in &sites {
                    if let Some(disk) = &day.sites[s].disk {
                        let n = tokio::task::block_in_place(|| disk.fill());
                        println!("site {s}: agent's disk full after {n} bytes of ballast");
                    }
                }
                let held = Duration::from_secs((plan.day_s / 10).max(8));
                let day = day.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(held).await;
                    println!("disks freed after {held:?}");
                    for s in sites {
                        if let Some(disk) = &day.sites[s].disk {
                            disk.free();
                        }
                    }
                });
            }
            "broker restart" => {
                if let Some(m) = &day.mosquitto {
                    m.restart(Duration::from_secs(SILENT_AFTER_S + 5)).await;
                }
            }
            "re-enrollment, same key" | "re-enrollment, new device" => {
                let new_key = step.ends_with("new device");
                let role = if new_key {
                    Role::ReenrollNewKey
                } else {
                    Role::ReenrollSameKey
                };
                let sites = plan.sites_for(role);
                count = sites.len();
                for s in sites {
                    day.reenroll(&day.sites[s], new_key).await;
                }
            }
            "database restart" => {
                day.database.restart(Duration::from_secs(8)).await;
            }
            "package retired" => {
                quick_on_sale.store(false, Ordering::Relaxed);
                // A sale already under way when the flag turned still finishes first.
                tokio::time::sleep(Duration::from_millis(500)).await;
                edit_package(day, 0, 100, false).await;
            }
            "server kill" => {
                day.kill_server().await;
                tokio::time::sleep(Duration::from_secs(3)).await;
                day.start_server().await;
            }
            "rogue voucher" => {
                // Staff at site 0 sell a voucher of their own, straight on the router.
                on_router(
                    day,
                    0,
                    &[
                        "/ip/hotspot/user/add",
                        "=name=SOLDOFFBOOK",
                        "=profile=mtm-day",
                    ],
                )
                .await;
                frauds.push(Fraud {
                    site: 0,
                    kind: "rogue_token",
                });
            }
            "limit raised" => {
                // Staff at site 1 give a friend more time on a voucher already sold and on
                // the router.
                let deadline = Instant::now() + Duration::from_secs(60);
                let code = loop {
                    let on_router: Vec<String> = day.sites[1]
                        .sim
                        .users()
                        .into_iter()
                        .map(|u| u.name)
                        .collect();
                    let found = day
                        .sold
                        .lock()
                        .unwrap()
                        .iter()
                        .rev()
                        .find(|s| {
                            s.site == 1 && s.price_minor >= 2000 && on_router.contains(&s.code)
                        })
                        .map(|s| s.code.clone());
                    if let Some(code) = found {
                        break code;
                    }
                    assert!(
                        Instant::now() < deadline,
                        "no voucher of 20.00 or more reached site 1's router"
                    );
                    tokio::time::sleep(Duration::from_millis(200)).await;
                };
                let numbers = format!("=numbers={code}");
                on_router(
                    day,
                    1,
                    &["/ip/hotspot/user/set", &numbers, "=limit-uptime=4w"],
                )
                .await;
                frauds.push(Fraud {
                    site: 1,
                    kind: "tampered_token",
                });
            }
            _ => unreachable!(),
        }
        if !step.starts_with("rogue") && !step.starts_with("limit") {
            *injected.entry(step).or_default() += count;
        }
    }
    if plan.broker == Broker::Embedded {
        // The embedded broker lives in the server's process: it died and came back with it.
        injected.insert("broker restart (embedded, with the server)", 1);
    }
    if plan.clock_skewed() > 0 {
        injected.insert("agent clock ±5 min", plan.clock_skewed());
    }
    tokio::time::sleep_until(at(1.0).max(start + outage * 2)).await;
    injected
}

/// Run one command on a site's router over the RouterOS API, as someone at the café with the
/// router's password would; waits out a reboot.
async fn on_router(day: &Day, site: usize, words: &[&str]) {
    let cfg = mtm_routeros::ClientConfig::plain(
        day.sites[site].sim.addr().to_string(),
        "mtm",
        "soak-router-pass",
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let done = match mtm_routeros::Client::connect(&cfg).await {
            Ok(ros) => ros.command(words).await.map(drop),
            Err(e) => Err(e),
        };
        match done {
            Ok(()) => return,
            Err(e) => assert!(Instant::now() < deadline, "{words:?} at site {site}: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn edit_package(day: &Day, i: usize, price: i64, active: bool) {
    let p = &day.packages[i];
    let body = json!({"name": p["name"], "price_minor": price, "limit_uptime_s": p["limit_uptime_s"],
        "limit_bytes_total": p["limit_bytes_total"], "rate_limit": p["rate_limit"],
        "shared_users": p["shared_users"], "validity_s": p["validity_s"], "active": active});
    let path = format!("/api/packages/{}", p["id"].as_str().unwrap());
    let _: Value = day.api.put(&day.root, &path, body).await;
}

/// The day ends: doors close, staff count their drawers and clock out, except the last site's,
/// who forgot; a manager closes that shift with the drawer counted the next morning.
/// `short` makes one site's drawer come up short (a fraud).
async fn close_day(day: &Day, short: Option<usize>) {
    day.close_doors();
    let last = day.sites.len() - 1;
    for site in 0..day.sites.len() {
        let jwt = day.staff_login(site).await;
        let found = day.adopt_unanswered(&jwt, site).await;
        if found > 0 {
            println!("site {site}: {found} sales without an answer found among today's vouchers");
        }
        let sales: i64 = day
            .sold
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.site == site)
            .map(|s| s.price_minor)
            .sum();
        let declared = FLOAT + sales - if short == Some(site) { 1_000 } else { 0 };
        if site == last {
            let shift: Value = day.api.get(&jwt, "/api/shifts/current").await;
            let path = format!("/api/shifts/{}/close", shift["id"].as_str().unwrap());
            let _: Value = day
                .api
                .post(
                    &day.manager,
                    &path,
                    json!({"declared_cash_minor": declared,
                    "note": "forgot to clock out; drawer counted the next morning"}),
                )
                .await;
        } else {
            let _: Value = day
                .api
                .post(
                    &jwt,
                    "/api/shifts/clock-out",
                    json!({"declared_cash_minor": declared}),
                )
                .await;
        }
    }
}

/// Wait until routers, ledger and cash agree, or fail listing every difference.
async fn converge(day: &Day, store: &dyn Store) {
    let limit = converge_limit(day.plan.sites);
    let deadline = Instant::now() + limit;
    let started = Instant::now();
    loop {
        let mut diffs = checks::routers_match(day, store).await;
        diffs.extend(checks::cash_matches(day, store).await);
        if diffs.is_empty() {
            println!(
                "converged {:.1} s after the last fault",
                started.elapsed().as_secs_f64()
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not converged within {limit:?}:\n{}",
            diffs.join("\n")
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let ledger = checks::ledger_sound(day, store).await;
    assert!(ledger.is_empty(), "{}", ledger.join("\n"));
}

async fn alerts(store: &dyn Store) -> Vec<Alert> {
    every_alert(store, &Default::default()).await.unwrap()
}

/// The figures the run's record in docs/reliability.md is made of.
async fn report(day: &Day, store: &dyn Store, alerts: &[Alert], injected: &Injected) {
    let sold = day.sold.lock().unwrap().len();
    let usage = day.database.usage_rows().await;
    let shifts = store.list_shifts(&Default::default()).await.unwrap().len();
    println!(
        "soak: {} sites on {:?} with the {:?} broker, {} s of selling (about {:.1} h of a real day \
         at the silent threshold's 1:30), {sold} vouchers, {usage} usage rows, {shifts} shifts, {} \
         alerts",
        day.plan.sites,
        day.plan.db,
        day.plan.broker,
        day.plan.day_s,
        day.plan.day_s as f64 * 30.0 / 3600.0,
        alerts.len()
    );
    for (kind, n) in injected {
        println!("soak fault: {kind} × {n}");
    }
}

async fn play(frauds: bool, db: Db, broker: Broker) {
    let plan = Plan::from_env(db, broker);
    let day = Arc::new(Day::open(plan).await);
    let mut dice = Dice::from_env();
    let quick_on_sale = Arc::new(AtomicBool::new(true));
    let selling = Arc::new(AtomicBool::new(true));
    let counters: Vec<_> = (0..plan.sites)
        .map(|s| {
            tokio::spawn(counter(
                day.clone(),
                s,
                quick_on_sale.clone(),
                selling.clone(),
            ))
        })
        .collect();
    let mut done = Vec::new();
    if frauds {
        // A placeholder: `faults` plans the frauds when the list is not empty.
        done.push(Fraud { site: 0, kind: "" });
    }
    let injected = faults(&day, &quick_on_sale, &mut done, &mut dice).await;
    selling.store(false, Ordering::Relaxed);
    for c in counters {
        c.await.unwrap();
    }
    let short = frauds.then_some(3);
    if short.is_some() {
        done.push(Fraud {
            site: 3,
            kind: "cash_short",
        });
    }
    close_day(&day, short).await;

    let store = day.store().await;
    converge(&day, &*store).await;
    let raised = alerts(&*store).await;
    report(&day, &*store, &raised, &injected).await;
    let locations: Vec<String> = day.sites.iter().map(|s| s.location_id.clone()).collect();
    // A router cut off from the broker longer than the silent threshold is reported as it
    // happens (a manager should know a café is offline); once its agent shows it watched the
    // router through the silence, mtm resolves that alert itself. Nothing else may be left.
    let (explained, standing): (Vec<&Alert>, Vec<&Alert>) = raised.iter().partition(|a| {
        a.kind.as_str() == "router_silent"
            && a.state == AlertState::Resolved
            && a.note
                .as_deref()
                .is_some_and(|n| n.starts_with("explained:"))
    });
    println!(
        "router_silent alerts explained by mtm after uplink outages: {}",
        explained.len()
    );
    for a in &explained {
        assert_eq!(a.staff_id, None, "a silence names nobody: {a:#?}");
    }
    let mut unexplained: Vec<&Alert> = standing;
    for f in &done {
        let pos = unexplained.iter().position(|a| {
            a.kind.as_str() == f.kind
                && a.location_id.map(|l| l.to_string()).as_deref() == Some(&locations[f.site])
        });
        match pos {
            Some(p) => {
                unexplained.remove(p);
            }
            None => panic!(
                "fraud {} at site {} was not caught; alerts: {raised:#?}",
                f.kind, f.site
            ),
        }
    }
    assert!(
        unexplained.is_empty(),
        "alerts nobody's fraud explains: {unexplained:#?}"
    );
    match Arc::try_unwrap(day) {
        Ok(day) => day.close().await,
        Err(_) => panic!("the day is still shared"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_messy_day_raises_no_alert_and_loses_nothing() {
    play(false, Db::Sqlite, Broker::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_messy_day_with_frauds_catches_each_and_nothing_else() {
    play(true, Db::Postgres, Broker::Mosquitto).await;
}
