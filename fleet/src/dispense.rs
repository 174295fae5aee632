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

    /// Sell `count` vouchers of `package_id` in one batch (`POST /api/tokens/batch`): the
    /// batch id and how long the answer took (the batch is stored by then).
    pub async fn batch(&self, package_id: &str, count: u32) -> Result<(Uuid, Duration)> {
        let at = Instant::now();
        let v = self
            .api
            .post(
                "/api/tokens/batch",
                json!({"package_id": package_id, "count": count}),
            )
            .await?;
        let took = at.elapsed();
        let id = v["batch_id"]
            .as_str()
            .and_then(|s| Uuid::parse_str(s).ok())
            .ok_or_else(|| anyhow!("no batch id in the reply"))?;
        let made = v["tokens"].as_array().map_or(0, Vec::len);
        if made != count as usize {
            return Err(anyhow!("batch of {count}: {made} vouchers in the reply"));
        }
        Ok((id, took))
    }

    /// Fetch every print part of a batch of `count` on `size` paper (`a4`, `58`, `80`); how
    /// long it took.
    pub async fn print_batch(&self, batch: Uuid, count: u32, size: &str) -> Result<Duration> {
        let at = Instant::now();
        let parts = (count as usize).div_ceil(500);
        for part in 1..=parts {
            let page = self
                .api
                .get_text(&format!(
                    "/dispense/batch/{batch}/print?size={size}&part={part}"
                ))
                .await?;
            if !page.contains("class=\"ticket\"") {
                return Err(anyhow!("part {part} of batch {batch} printed no voucher"));
            }
        }
        Ok(at.elapsed())
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
