//! Staff at the counter: each logs in, clocks in at their location and sells vouchers through
//! the JSON API, noting the moment of each click, so click-to-router is measured on one clock
//! (the simulated router notes when the voucher reached it).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};
use serde_json::json;
use uuid::Uuid;

use crate::setup::Api;
use crate::stats::{Percentiles, Stats};

/// One sale.
#[derive(Debug, Clone)]
pub struct Click {
    /// The voucher.
    pub token_id: Uuid,
    /// Where it was sold (the router there must carry it).
    pub location_id: String,
    /// When the click was sent.
    pub at: Instant,
    /// How long the HTTP answer took.
    pub http: Duration,
}

/// A staff member on shift at one location.
pub struct Clerk {
    api: Api,
    location_id: String,
}

impl Clerk {
    /// Make staff account `username` at `location_id`, log in and clock in.
    pub async fn on_shift(admin: &Api, username: &str, location_id: &str) -> Result<Clerk> {
        let password = format!("{username}-pass-123");
        admin.staff(username, &password, location_id).await?;
        let api = Api::login(admin.base(), username, &password).await?;
        api.post("/api/shifts/clock-in", json!({"opening_float_minor": 0}))
            .await?;
        Ok(Clerk {
            api,
            location_id: location_id.to_owned(),
        })
    }

    /// Sell one voucher of `package_id`.
    pub async fn sell(&self, package_id: &str) -> Result<Click> {
        let at = Instant::now();
        let v = self
            .api
            .post("/api/tokens/generate", json!({"package_id": package_id}))
            .await?;
        let http = at.elapsed();
        let token_id = v["id"]
            .as_str()
            .and_then(|s| Uuid::parse_str(s).ok())
            .ok_or_else(|| anyhow!("no token id in {v}"))?;
        Ok(Click {
            token_id,
            location_id: self.location_id.clone(),
            at,
            http,
        })
    }

    /// Sell `count` vouchers of `package_id` in one batch (`POST /dispense/batch`, the A4 sheet
    /// comes back); how long until the sheet was in hand.
    pub async fn batch(&self, package_id: &str, count: u32) -> Result<Duration> {
        let at = Instant::now();
        let n = count.to_string();
        let sheet = self
            .api
            .post_form(
                "/dispense/batch",
                &[("package_id", package_id), ("count", n.as_str())],
            )
            .await?;
        let took = at.elapsed();
        let made = format!("{count} of {count} vouchers made.");
        if !sheet.contains(&made) {
            let why = sheet
                .split("role=\"alert\">")
                .nth(1)
                .and_then(|r| r.split('<').next())
                .unwrap_or("no voucher sheet in the reply");
            return Err(anyhow!("batch of {count}: {why}"));
        }
        Ok(took)
    }

    /// Sell one voucher every `every` until `until`, into `out`; a refused sale ends the loop
    /// with its error.
    pub async fn sell_until(
        &self,
        package_id: &str,
        every: Duration,
        until: Instant,
        out: Arc<Mutex<Vec<Click>>>,
    ) -> Result<()> {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while Instant::now() < until {
            tick.tick().await;
            let click = self.sell(package_id).await?;
            out.lock().unwrap_or_else(|p| p.into_inner()).push(click);
        }
        Ok(())
    }
}

/// Click-to-router and HTTP-answer percentiles of `clicks`, and how many have not reached a
/// router.
pub fn latencies(clicks: &[Click], stats: &Stats) -> (Percentiles, Percentiles, usize) {
    let mut to_router = Vec::new();
    let mut missing = 0;
    for c in clicks {
        match stats.applied_at(c.token_id) {
            Some(t) => to_router.push(
                u32::try_from(t.saturating_duration_since(c.at).as_millis()).unwrap_or(u32::MAX),
            ),
            None => missing += 1,
        }
    }
    let http = clicks
        .iter()
        .map(|c| u32::try_from(c.http.as_millis()).unwrap_or(u32::MAX))
        .collect();
    (Percentiles::of(to_router), Percentiles::of(http), missing)
}
