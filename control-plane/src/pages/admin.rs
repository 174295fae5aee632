//! The admin console: routers and agents (versions, last seen, catalog convergence), enrolling
//! routers, locations and packages, users, the audit chains, and emergency overrides that are
//! confirmed twice (a button, then a typed confirmation) and audited.

use crate::app::{AppError, AppResult, AppState};
use crate::auth::{AdminOnly, Auth, CurrentUser};
use crate::store::{now_ms, AuditEntry, NewLocation, NewPackage, NewRouter};
use crate::web::render;
use crate::web::Page;
use crate::web::{csv_response, Format};
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use uuid::Uuid;

/// Admin routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin", get(home))
        .route("/admin/routers", get(routers).post(create_router))
        .route("/admin/locations", post(create_location))
        .route("/admin/packages", post(create_package))
}

pub(super) async fn audit(
    state: &AppState,
    cur: &CurrentUser,
    action: &str,
    target: String,
    detail: serde_json::Value,
) -> AppResult<()> {
    let entry = AuditEntry {
        actor: cur.user.username.clone(),
        action: action.into(),
        target,
        detail,
    };
    Ok(state.store.audit(entry, now_ms()).await?)
}

/// Database counts and, on request, the audit and ledger chain check.
async fn home(
    State(state): State<AppState>,
    Auth(cur, _): Auth<AdminOnly>,
    Query(q): Query<HomeQuery>,
) -> AppResult<Html<String>> {
    let counts = state.store.counts().await?;
    let stats = state.store.table_stats().await?;
    let mut dead = state.store.list_deliveries(Some("dead"), 20).await?;
    crate::notify::localize_deliveries(&mut dead, crate::i18n::current());
    let chains = if q.verify.is_some() {
        Some(state.store.verify_chains().await?)
    } else {
        None
    };
    render(
        "admin_home.html",
        &Page::of(&cur),
        serde_json::json!({
            "counts": counts, "stats": stats, "chains": chains, "version": env!("CARGO_PKG_VERSION"),
            "public_key": state.settings.control_plane_public_key,
            "mqtt_addr": state.settings.mqtt_addr.to_string(),
            "token_code_len": state.settings.token_code_len,
            "secure_cookies": state.settings.secure_cookies,
            "public_url": state.settings.public_url, "dead": dead,
        }),
    )
}

/// `?verify=1` runs the chain check.
#[derive(Debug, Deserialize, Default)]
pub struct HomeQuery {
    /// Present: verify the chains.
    pub verify: Option<String>,
}

/// The routers page; `enrolled` and `code` are shown once (a new router's MQTT password, a new
/// enrollment code), `error` on top.
pub(super) async fn routers_page(
    state: &AppState,
    cur: &CurrentUser,
    f: &Format,
    enrolled: Option<serde_json::Value>,
    error: Option<String>,
    code: Option<serde_json::Value>,
) -> AppResult<Response> {
    let routers = state.store.list_routers().await?;
    let locations = state.store.list_locations().await?;
    let packages = state.store.list_all_packages().await?;
    let catalog_version = crate::catalog::catalog(&packages).version;
    let frozen = state.store.frozen_locations().await?;
    let location_rows: Vec<serde_json::Value> = locations
        .iter()
        .map(|l| serde_json::json!({"l": l, "frozen": frozen.iter().find(|f| f.location_id == l.id)}))
        .collect();
    let loc_name = |id: Uuid| {
        locations
            .iter()
            .find(|l| l.id == id)
            .map(|l| l.name.clone())
            .unwrap_or_default()
    };
    let rows: Vec<serde_json::Value> = routers
        .iter()
        .map(|r| {
            serde_json::json!({
                "r": r, "location": loc_name(r.router.location_id),
                "converged": packages.is_empty() || r.router.catalog_version == Some(catalog_version),
            })
        })
        .collect();
    if f.format.as_deref() == Some("csv") {
        let body: Vec<Vec<String>> = routers
            .iter()
            .map(|r| {
                let x = &r.router;
                vec![
                    x.name.clone(),
                    loc_name(x.location_id),
                    x.agent_id.clone(),
                    x.agent_version.clone().unwrap_or_default(),
                    x.online.to_string(),
                    x.last_seen.map(|v| v.to_string()).unwrap_or_default(),
                    x.catalog_version.map(|v| v.to_string()).unwrap_or_default(),
                    r.pending_commands.to_string(),
                ]
            })
            .collect();
        let head = &[
            "router",
            "location",
            "agent_id",
            "agent_version",
            "online",
            "last_seen_ms",
            "catalog_version",
            "pending_commands",
        ];
        return Ok(csv_response("routers", head, &body));
    }
    Ok(render(
        "admin_routers.html",
        &Page::of(cur),
        serde_json::json!({
            "routers": rows, "locations": locations, "location_rows": location_rows,
            "packages": packages,
            "catalog_version": catalog_version, "enrolled": enrolled, "error": error, "code": code,
        }),
    )?
    .into_response())
}

async fn routers(
    State(state): State<AppState>,
    Auth(cur, _): Auth<AdminOnly>,
    Query(f): Query<Format>,
) -> AppResult<Response> {
    routers_page(&state, &cur, &f, None, None, None).await
}

/// Form of `POST /admin/routers`.
#[derive(Debug, Deserialize)]
pub struct RouterForm {
    /// Location.
    pub location_id: Uuid,
    /// Display name.
    pub name: String,
    /// Agent id (its MQTT username).
    pub agent_id: String,
    /// The agent's ed25519 public key, hex.
    pub public_key_hex: String,
}

async fn create_router(
    State(state): State<AppState>,
    Auth(cur, _): Auth<AdminOnly>,
    Form(form): Form<RouterForm>,
) -> AppResult<Response> {
    // Without a key the router waits for an enrollment code, which issues the login then.
    let password = if form.public_key_hex.trim().is_empty() {
        String::new()
    } else {
        hex::encode(rand::random::<[u8; 24]>())
    };
    let made = state
        .store
        .create_router(NewRouter {
            location_id: form.location_id,
            name: form.name,
            agent_id: form.agent_id.trim().to_owned(),
            public_key_hex: form.public_key_hex.trim().to_owned(),
            mqtt_password: password.clone(),
        })
        .await;
    let router = match made {
        Ok(r) => r,
        Err(e) => {
            let m = AppError::from(e).page_message()?;
            return routers_page(&state, &cur, &Format::default(), None, Some(m), None).await;
        }
    };
    audit(
        &state,
        &cur,
        "router.enroll",
        router.id.to_string(),
        serde_json::json!({"agent_id": router.agent_id, "location_id": router.location_id, "public_key_hex": router.public_key_hex}),
    )
    .await?;
    if password.is_empty() {
        return routers_page(&state, &cur, &Format::default(), None, None, None).await;
    }
    if let Err(e) =
        crate::routers::issue_broker_login(&state, &cur.user.username, &router, &password).await
    {
        let m = e.page_message()?;
        return routers_page(&state, &cur, &Format::default(), None, Some(m), None).await;
    }
    // Shown this once; only its hash is stored.
    let enrolled = serde_json::json!({
        "name": router.name, "agent_id": router.agent_id, "mqtt_password": password,
        "control_plane_public_key": state.settings.control_plane_public_key,
        "mqtt_addr": state.settings.mqtt_addr.to_string(),
    });
    routers_page(&state, &cur, &Format::default(), Some(enrolled), None, None).await
}

async fn create_location(
    State(state): State<AppState>,
    Auth(cur, _): Auth<AdminOnly>,
    Form(form): Form<NewLocation>,
) -> AppResult<Response> {
    match state.store.create_location(form).await {
        Ok(l) => {
            let detail = serde_json::json!({"name": l.name, "timezone": l.timezone});
            audit(&state, &cur, "location.create", l.id.to_string(), detail).await?;
            Ok(Redirect::to("/admin/routers").into_response())
        }
        Err(e) => {
            let m = AppError::from(e).page_message()?;
            routers_page(&state, &cur, &Format::default(), None, Some(m), None).await
        }
    }
}

/// Form of `POST /admin/packages` (limits in minutes and megabytes, as people think of them).
#[derive(Debug, Deserialize)]
pub struct PackageForm {
    /// Short name.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Price as typed, in currency units (`5.00`).
    pub price: String,
    /// ISO 4217 currency code.
    pub currency: String,
    /// Uptime limit in minutes; empty for none.
    #[serde(default)]
    pub limit_minutes: String,
    /// Data limit in MB; empty for none.
    #[serde(default)]
    pub limit_mb: String,
    /// RouterOS rate limit.
    #[serde(default)]
    pub rate_limit: String,
    /// `on` to bind each voucher to the first device that uses it (a checkbox).
    #[serde(default)]
    pub lock_to_mac: Option<String>,
}

async fn create_package(
    State(state): State<AppState>,
    Auth(cur, _): Auth<AdminOnly>,
    Form(f): Form<PackageForm>,
) -> AppResult<Response> {
    let made = async {
        let currency = f.currency.trim().to_ascii_uppercase();
        if !crate::money::is_known_currency(&currency) {
            return Err(AppError::Refused(
                crate::refusal::Refusal::new("err-not-a-currency").arg("code", &currency),
            ));
        }
        let price_minor = crate::i18n::parse_money(crate::i18n::current(), &f.price, &currency)
            .map_err(|e| AppError::Refused(e.refusal().in_field("col-price")))?;
        let p = NewPackage {
            slug: f.slug,
            name: f.name,
            price_minor,
            currency,
            limit_uptime_s: crate::web::opt_u64(&f.limit_minutes, "pk-time-limit")?
                .map(|m| m.saturating_mul(60)),
            limit_bytes_total: crate::web::opt_u64(&f.limit_mb, "pk-data-limit")?
                .map(|m| m.saturating_mul(1_000_000)),
            rate_limit: Some(f.rate_limit.trim().to_owned()).filter(|r| !r.is_empty()),
            shared_users: 1,
            validity_s: None,
            uses_password: true,
            lock_to_mac: f.lock_to_mac.is_some(),
        };
        crate::packages::create_package(&state, &cur, p).await
    }
    .await;
    if let Err(e) = made {
        let m = e.page_message()?;
        return routers_page(&state, &cur, &Format::default(), None, Some(m), None).await;
    }
    Ok(Redirect::to("/admin/routers").into_response())
}
