//! `mtm-fleet page-load`: N managers at once against a running server's manager pages and
//! their CSV exports (each manager logged in with its own session, each waiting for its
//! answer before asking again, after `--think-ms`), with p50/p95/p99 per page.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

/// What to load.
#[derive(clap::Args, Debug, Clone)]
pub struct LoadArgs {
    /// The server's HTTP base URL.
    #[arg(long)]
    pub server: String,
    /// Managers at once (`manager-01`.. as `fill-db` made them).
    #[arg(long, default_value_t = 50)]
    pub managers: u32,
    /// Their password.
    #[arg(long, default_value = "scale-password-17")]
    pub password: String,
    /// How long to load.
    #[arg(long, default_value_t = 30)]
    pub seconds: u64,
    /// Pages to leave out, by name (e.g. `alerts_csv`).
    #[arg(long)]
    pub skip: Vec<String>,
    /// A manager's pause between an answer and the next request, in ms. 0 (the default) asks
    /// again at once, which measures what the server can serve; people read a page before the
    /// next click, and the live overview polls every 5 s.
    #[arg(long, default_value_t = 0)]
    pub think_ms: u64,
}

/// The pages, by name: what a manager opens, in turn.
fn pages(location: &str) -> Vec<(&'static str, String)> {
    vec![
        ("overview", "/manager".into()),
        ("overview_live", "/manager/live".into()),
        ("location", format!("/manager/locations/{location}")),
        ("alerts", "/manager/alerts".into()),
        ("vouchers_api", "/api/tokens/all?limit=50".into()),
        ("overview_csv", "/manager?format=csv".into()),
        (
            "location_csv",
            format!("/manager/locations/{location}?format=csv"),
        ),
        (
            "alerts_open_csv",
            "/manager/alerts?state=open&format=csv".into(),
        ),
        ("alerts_csv", "/manager/alerts?format=csv".into()),
    ]
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (p * (sorted.len() - 1) as f64).round();
    // A rank within the slice: p is at most 1.
    #[allow(clippy::cast_possible_truncation)]
    let i = (rank as usize).min(sorted.len() - 1);
    sorted[i]
}

async fn login(http: &reqwest::Client, server: &str, user: &str, password: &str) -> Result<String> {
    let r = http
        .post(format!("{server}/api/auth/login"))
        .json(&json!({"username": user, "password": password}))
        .send()
        .await?;
    if !r.status().is_success() {
        bail!("login of {user}: {}", r.status());
    }
    let v: Value = r.json().await?;
    v["token"]
        .as_str()
        .map(str::to_owned)
        .context("no token in the login answer")
}

/// Run the load; prints one JSON object (per page: count, errors, bytes, p50/p95/p99 ms).
pub async fn load(a: &LoadArgs) -> Result<()> {
    let server = a.server.trim_end_matches('/').to_owned();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()?;
    let mut tokens = Vec::new();
    for m in 0..a.managers {
        tokens.push(
            login(
                &http,
                &server,
                &format!("manager-{:02}", m + 1),
                &a.password,
            )
            .await?,
        );
    }
    let first = tokens.first().context("--managers must be at least 1")?;
    let locations: Value = http
        .get(format!("{server}/api/locations"))
        .bearer_auth(first)
        .send()
        .await?
        .json()
        .await?;
    let ids: Vec<String> = locations
        .as_array()
        .context("locations")?
        .iter()
        .filter_map(|l| l["id"].as_str().map(str::to_owned))
        .collect();
    if ids.is_empty() {
        bail!("the server has no locations");
    }
    type Samples = BTreeMap<&'static str, (Vec<f64>, u64, u64)>;
    let samples: Arc<Mutex<Samples>> = Arc::default();
    let until = Instant::now() + Duration::from_secs(a.seconds);
    let mut tasks = Vec::new();
    for (m, token) in tokens.into_iter().enumerate() {
        let (http, server, ids, samples) =
            (http.clone(), server.clone(), ids.clone(), samples.clone());
        let skip = a.skip.clone();
        let think = Duration::from_millis(a.think_ms);
        // Managers start spread over one pause, as people do, not all in the same instant.
        let start = think.mul_f64(m as f64 / f64::from(a.managers.max(1)));
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep(start).await;
            let mut turn = m;
            while Instant::now() < until {
                let location = &ids[turn % ids.len()];
                let list: Vec<_> = pages(location)
                    .into_iter()
                    .filter(|(name, _)| !skip.iter().any(|s| s == name))
                    .collect();
                // Each manager starts at a different page, then goes round.
                let (name, path) = &list[turn % list.len()];
                turn += 1;
                let t = Instant::now();
                let r = http
                    .get(format!("{server}{path}"))
                    .header("cookie", format!("mtm_session={token}"))
                    .bearer_auth(&token)
                    .send()
                    .await;
                let (ok, bytes) = match r {
                    Ok(r) if r.status().is_success() => match r.bytes().await {
                        Ok(b) => (true, b.len() as u64),
                        Err(_) => (false, 0),
                    },
                    _ => (false, 0),
                };
                let ms = t.elapsed().as_secs_f64() * 1000.0;
                if let Ok(mut s) = samples.lock() {
                    let e = s.entry(name).or_default();
                    if ok {
                        e.0.push(ms);
                        e.2 += bytes;
                    } else {
                        e.1 += 1;
                    }
                }
                tokio::time::sleep(think).await;
            }
        }));
    }
    for t in tasks {
        t.await?;
    }
    let samples = samples
        .lock()
        .map_err(|_| anyhow::anyhow!("a load task panicked"))?;
    let mut out = serde_json::Map::new();
    for (name, (ms, errors, bytes)) in samples.iter() {
        let mut sorted = ms.clone();
        sorted.sort_by(f64::total_cmp);
        out.insert(
            (*name).to_string(),
            json!({
                "n": sorted.len(), "errors": errors,
                "mean_bytes": bytes / (sorted.len() as u64).max(1),
                "p50_ms": (percentile(&sorted, 0.50) * 10.0).round() / 10.0,
                "p95_ms": (percentile(&sorted, 0.95) * 10.0).round() / 10.0,
                "p99_ms": (percentile(&sorted, 0.99) * 10.0).round() / 10.0,
            }),
        );
    }
    println!(
        "{}",
        json!({"managers": a.managers, "seconds": a.seconds, "think_ms": a.think_ms, "pages": out})
    );
    Ok(())
}
