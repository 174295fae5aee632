//! The admin and staff side through the server's JSON API, as people use it: locations,
//! packages, router records, one-time enrollment codes, staff accounts and shifts; and the
//! agents' side of enrollment (`POST /api/enroll` with only the public key), as
//! `mtm-agent enroll` does it.

use anyhow::{anyhow, bail, Context, Result};
use futures::stream::{self, StreamExt, TryStreamExt};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::agent::Identity;

/// A JSON API session (bearer token).
#[derive(Clone)]
pub struct Api {
    base: String,
    http: reqwest::Client,
    token: String,
}

impl Api {
    /// Log in at `base` (`http://127.0.0.1:PORT`) as `username`.
    pub async fn login(base: &str, username: &str, password: &str) -> Result<Api> {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(64)
            .build()?;
        let base = base.trim_end_matches('/').to_owned();
        let r = http
            .post(format!("{base}/api/auth/login"))
            .json(&json!({"username": username, "password": password}))
            .send()
            .await
            .with_context(|| format!("login at {base}"))?;
        if !r.status().is_success() {
            bail!("login as {username}: HTTP {}", r.status());
        }
        let v: Value = r.json().await?;
        let token = v["token"]
            .as_str()
            .ok_or_else(|| anyhow!("no token in the login reply"))?
            .to_owned();
        Ok(Api { base, http, token })
    }

    /// The server's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Send JSON with the session's token; the reply's JSON, or an error naming the call.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value> {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req
            .send()
            .await
            .with_context(|| format!("{method} {path}"))?;
        let status = r.status();
        let text = r.text().await?;
        if !status.is_success() {
            bail!("{method} {path}: HTTP {status}: {text}");
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// POST a form (the pages' forms, with the bearer token in place of the cookie and CSRF
    /// field); the reply's body, or an error naming the call.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Result<String> {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .form(fields)
            .send()
            .await
            .with_context(|| format!("POST {path}"))?;
        let status = r.status();
        let text = r.text().await?;
        if !status.is_success() {
            bail!("POST {path}: HTTP {status}: {text}");
        }
        Ok(text)
    }

    /// GET a page; its body, or an error naming the call.
    pub async fn get_text(&self, path: &str) -> Result<String> {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .with_context(|| format!("GET {path}"))?;
        let status = r.status();
        let text = r.text().await?;
        if !status.is_success() {
            bail!("GET {path}: HTTP {status}: {text}");
        }
        Ok(text)
    }

    /// POST JSON.
    pub async fn post(&self, path: &str, body: Value) -> Result<Value> {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    /// GET JSON.
    pub async fn get(&self, path: &str) -> Result<Value> {
        self.call(reqwest::Method::GET, path, None).await
    }

    /// A location (timezone UTC); its id.
    pub async fn location(&self, name: &str) -> Result<String> {
        let v = self
            .post("/api/locations", json!({"name": name, "timezone": "UTC"}))
            .await?;
        id_of(&v)
    }

    /// A package sold at `price_minor` USD cents for an hour; its id.
    pub async fn package(&self, slug: &str, price_minor: i64) -> Result<String> {
        let v = self
            .post(
                "/api/packages",
                json!({"slug": slug, "name": format!("Package {slug}"), "price_minor": price_minor,
                       "currency": "USD", "limit_uptime_s": 3600, "shared_users": 1,
                       "uses_password": false}),
            )
            .await?;
        id_of(&v)
    }

    /// A staff account at `location_id`.
    pub async fn staff(&self, username: &str, password: &str, location_id: &str) -> Result<()> {
        self.post(
            "/api/auth/register",
            json!({"username": username, "password": password, "role": "staff",
                   "location_ids": [location_id]}),
        )
        .await?;
        Ok(())
    }

    /// A router record awaiting enrollment and a one-time code for it: (router id, code).
    pub async fn router_with_code(
        &self,
        location_id: &str,
        agent_id: &str,
    ) -> Result<(String, String)> {
        let created = self
            .post(
                "/api/routers",
                json!({"location_id": location_id, "name": format!("{agent_id} router"),
                       "agent_id": agent_id}),
            )
            .await?;
        let router_id = created["router"]["id"]
            .as_str()
            .ok_or_else(|| anyhow!("no router id in {created}"))?
            .to_owned();
        let issued = self
            .post(
                &format!("/api/routers/{router_id}/enrollment-code"),
                json!({}),
            )
            .await?;
        let code = issued["code"]
            .as_str()
            .ok_or_else(|| anyhow!("no code in {issued}"))?
            .to_owned();
        Ok((router_id, code))
    }
}

fn id_of(v: &Value) -> Result<String> {
    v["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("no id in {v}"))
}

/// The reply to `POST /api/enroll`.
#[derive(Deserialize)]
struct EnrollReply {
    agent_id: String,
    mqtt_host: String,
    mqtt_port: u16,
    mqtt_password: String,
    control_plane_public_key: String,
}

/// Enroll as a device does: make a key here, send only its public half with the code.
pub async fn enroll(http: &reqwest::Client, base: &str, code: &str) -> Result<Identity> {
    let key = mtm_common::keys::generate_signing_key();
    let r = http
        .post(format!("{}/api/enroll", base.trim_end_matches('/')))
        .json(&json!({
            "code": code,
            "public_key_hex": mtm_common::keys::public_key_hex(&key.verifying_key()),
            "agent_version": env!("CARGO_PKG_VERSION"),
        }))
        .send()
        .await?;
    let status = r.status();
    let text = r.text().await?;
    if !status.is_success() {
        bail!("enroll: HTTP {status}: {text}");
    }
    let reply: EnrollReply = serde_json::from_str(&text).context("enrollment reply")?;
    let cp_key = mtm_common::keys::parse_public_key(&reply.control_plane_public_key)
        .map_err(|e| anyhow!("control-plane key: {e}"))?;
    Ok(Identity {
        agent_id: reply.agent_id,
        key,
        mqtt_host: reply.mqtt_host,
        mqtt_port: reply.mqtt_port,
        mqtt_password: reply.mqtt_password,
        cp_key,
    })
}

/// One enrolled router and where it stands.
#[derive(Clone)]
pub struct Site {
    /// The location (one router each).
    pub location_id: String,
    /// The router record.
    pub router_id: String,
    /// What the agent got at enrollment.
    pub identity: Identity,
}

/// Make `n` locations with one router each (agent ids `{prefix}-{i}`) and enroll an agent for
/// every one, `parallel` at a time.
pub async fn enroll_sites(api: &Api, prefix: &str, n: usize, parallel: usize) -> Result<Vec<Site>> {
    let http = reqwest::Client::new();
    stream::iter(0..n)
        .map(|i| {
            let (api, http) = (api.clone(), http.clone());
            let agent_id = format!("{prefix}-{i}");
            async move {
                let location_id = api.location(&format!("{agent_id} site")).await?;
                let (router_id, code) = api.router_with_code(&location_id, &agent_id).await?;
                let identity = enroll(&http, api.base(), &code).await?;
                Ok::<_, anyhow::Error>(Site {
                    location_id,
                    router_id,
                    identity,
                })
            }
        })
        .buffered(parallel.max(1))
        .try_collect()
        .await
}
