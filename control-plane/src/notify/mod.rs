//! Alerts on the phone: managers and admins add channels (a webhook, a Telegram chat, an ntfy
//! topic, an e-mail address) for a location or all, and a lowest severity; every new alert that matches is queued
//! once per channel, sent by [`notifier_loop`] within seconds, retried with backoff and finally
//! marked sent or dead (both audited; dead ones are listed for admins).
//!
//! A webhook gets the alert as JSON, signed: `X-Mtm-Signature: sha256=HEX` is
//! HMAC-SHA256 over `"{X-Mtm-Timestamp}.{body}"` with the channel's secret (shown once when the
//! channel is made), so a receiver can refuse forged and replayed calls. Telegram and ntfy are
//! presets of the same delivery, shaped as their APIs want (docs/notifications.md).

mod api;
pub mod email;
mod notice;
mod pages;
#[cfg(test)]
mod tests;

pub use api::router;
pub(crate) use api::Doc;
pub use notice::{localize_deliveries, report_summary, webhook_body, Notice};

use crate::app::{AppError, AppResult, AppState};
use crate::auth::CurrentUser;
use crate::i18n::{tr, tr_args, Lang};
use crate::store::{now_ms, Channel, DeliveryOutcome, Role, Store, Subject};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// How often the notifier looks for new alerts and due retries: well inside the 10 s promise.
pub const POLL: Duration = Duration::from_secs(1);

/// Waits before each retry; after the last the delivery is dead.
const BACKOFF_S: [i64; 5] = [5, 30, 120, 600, 3600];

/// How far back new alerts are looked for (a server down longer than this does not flood
/// phones with a day of old alerts when it comes back).
const LOOK_BACK_MS: i64 = 86_400_000;

/// One receiver's answer may take this long.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// The kinds of channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Any HTTPS endpoint; the body is the signed alert JSON.
    Webhook,
    /// Telegram's bot API `sendMessage` (target: `https://api.telegram.org/bot<TOKEN>`).
    Telegram,
    /// An ntfy topic URL (`https://ntfy.sh/<topic>` or a self-hosted server).
    Ntfy,
    /// An e-mail address, mailed through the server's SMTP settings.
    Email,
}

impl Kind {
    /// Parse the stored name.
    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "webhook" => Some(Kind::Webhook),
            "telegram" => Some(Kind::Telegram),
            "ntfy" => Some(Kind::Ntfy),
            "email" => Some(Kind::Email),
            _ => None,
        }
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Webhook => "webhook",
            Kind::Telegram => "telegram",
            Kind::Ntfy => "ntfy",
            Kind::Email => "email",
        }
    }
}

/// Rank of a severity name: 1 info, 2 warning, 3 critical (as the queueing query ranks them).
pub fn severity_rank(severity: &str) -> Option<i64> {
    match severity {
        "info" => Some(1),
        "warning" => Some(2),
        "critical" => Some(3),
        _ => None,
    }
}

/// What a manager or admin asks for when adding a channel.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewChannel {
    /// A name people recognise.
    pub name: String,
    /// `webhook`, `telegram`, `ntfy` or `email`.
    pub kind: String,
    /// The URL (for Telegram, the bot API base with the token; for e-mail the address).
    pub target: String,
    /// Telegram chat id.
    #[serde(default)]
    pub chat_id: String,
    /// Lowest severity sent: `info`, `warning` or `critical`.
    pub min_severity: String,
    /// Only this location's alerts; none for all.
    #[serde(default)]
    pub location_id: Option<Uuid>,
    /// Also send the daily report summary of the location(s).
    #[serde(default)]
    pub daily_reports: bool,
}

/// A channel as its maker sees it right after creation: with its signing secret, once.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct CreatedChannel {
    /// The channel.
    #[serde(flatten)]
    pub channel: Channel,
    /// The HMAC key for `X-Mtm-Signature`, hex; not shown again.
    pub secret: String,
}

/// Add a channel for `cur`, checked: a known kind, an http(s) URL, a known severity and
/// location, a chat id for Telegram. Audited.
pub async fn add_channel(
    state: &AppState,
    cur: &CurrentUser,
    req: &NewChannel,
) -> AppResult<CreatedChannel> {
    let bad = |key: &'static str| AppError::Refused(crate::refusal::Refusal::new(key));
    let name = req.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(bad("err-channel-name"));
    }
    let kind = Kind::parse(req.kind.trim()).ok_or_else(|| bad("err-channel-kind"))?;
    let target = req.target.trim();
    if kind == Kind::Email {
        let address = target.strip_prefix("mailto:").unwrap_or(target);
        if !email::valid_recipient(address) {
            return Err(bad("err-channel-email"));
        }
    } else {
        let url = reqwest::Url::parse(target).map_err(|_| bad("err-channel-url"))?;
        if !matches!(url.scheme(), "https" | "http")
            || url.host_str().is_none()
            || target.len() > 2000
        {
            return Err(bad("err-channel-http-url"));
        }
    }
    let target = match kind {
        Kind::Email => target.strip_prefix("mailto:").unwrap_or(target),
        _ => target,
    };
    let chat_id = req.chat_id.trim();
    if kind == Kind::Telegram && (chat_id.is_empty() || chat_id.len() > 100) {
        return Err(bad("err-channel-chat-id"));
    }
    let min_rank =
        severity_rank(req.min_severity.trim()).ok_or_else(|| bad("err-channel-severity"))?;
    if let Some(l) = req.location_id {
        if !state
            .store
            .list_locations()
            .await?
            .iter()
            .any(|x| x.id == l)
        {
            return Err(bad("err-channel-location"));
        }
    }
    let mut key = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut key);
    let secret = hex::encode(key);
    let channel = Channel {
        id: Uuid::new_v4(),
        owner_id: cur.user.id,
        name: name.to_owned(),
        kind: kind.as_str().to_owned(),
        target: target.to_owned(),
        chat_id: chat_id.to_owned(),
        secret: secret.clone(),
        min_rank,
        location_id: req.location_id,
        created_at: now_ms(),
        daily_reports: req.daily_reports,
    };
    state.store.create_channel(&channel).await?;
    let detail = serde_json::json!({
        "name": channel.name, "kind": channel.kind, "min_rank": min_rank,
        "location_id": channel.location_id, "daily_reports": channel.daily_reports,
    });
    audit(state, cur, "notification.channel.add", channel.id, detail).await?;
    Ok(CreatedChannel { channel, secret })
}

/// The channels `cur` may see: their own, or all for an admin.
pub async fn channels_of(state: &AppState, cur: &CurrentUser) -> AppResult<Vec<Channel>> {
    Ok(state.store.list_channels(owner_filter(cur)).await?)
}

/// Remove a channel `cur` may see. Audited.
pub async fn remove_channel(state: &AppState, cur: &CurrentUser, id: Uuid) -> AppResult<()> {
    if !state.store.delete_channel(id, owner_filter(cur)).await? {
        return Err(AppError::NotFound);
    }
    audit(
        state,
        cur,
        "notification.channel.remove",
        id,
        serde_json::json!({}),
    )
    .await?;
    Ok(())
}

async fn audit(
    state: &AppState,
    cur: &CurrentUser,
    action: &str,
    channel: Uuid,
    detail: serde_json::Value,
) -> AppResult<()> {
    let entry = crate::store::AuditEntry {
        actor: cur.user.username.clone(),
        action: action.into(),
        target: channel.to_string(),
        detail,
    };
    Ok(state.store.audit(entry, now_ms()).await?)
}

fn owner_filter(cur: &CurrentUser) -> Option<Uuid> {
    (cur.user.role != Role::SuperAdmin).then_some(cur.user.id)
}

/// Queue and send what is due, until the server stops; e-mail through `mailer` when the server
/// has SMTP settings (without them an e-mail delivery fails and ends dead, listed for admins).
pub async fn notifier_loop(store: Arc<dyn Store>, mailer: Option<email::Mailer>) {
    let client = match reqwest::Client::builder().timeout(SEND_TIMEOUT).build() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "notifications disabled: no HTTP client");
            return;
        }
    };
    let mut tick = tokio::time::interval(POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = deliver_due(&*store, &client, mailer.as_ref(), now_ms()).await {
            tracing::warn!(error = %e, "notifications: will try again");
        }
    }
}

/// [`deliver_due`] without SMTP settings.
pub async fn run_once(store: &dyn Store, client: &reqwest::Client, now: i64) -> AppResult<()> {
    deliver_due(store, client, None, now).await
}

/// Queue deliveries for alerts new at `now` and make every attempt due then, once.
pub async fn deliver_due(
    store: &dyn Store,
    client: &reqwest::Client,
    mailer: Option<&email::Mailer>,
    now: i64,
) -> AppResult<()> {
    store.queue_notifications(now - LOOK_BACK_MS, now).await?;
    // Sent side by side, so one receiver that hangs until the timeout does not hold up the rest.
    let due = store.due_deliveries(now, 50).await?;
    let sends = due.iter().map(|d| async move {
        // In the language of whoever made the channel; English when they chose none (a
        // channel has no browser to ask) or when they cannot be read.
        let lang = match store.user(d.channel.owner_id).await {
            Ok(Some(u)) => u.language.as_deref().and_then(Lang::parse),
            _ => None,
        }
        .unwrap_or_default();
        let notice = match &d.subject {
            Subject::Alert(a) => Notice::of_alert(a, lang),
            Subject::Report(r) => Notice::of_report(r, lang),
        };
        let outcome = match send(client, mailer, &d.channel, &notice, lang).await {
            Ok(()) => DeliveryOutcome::Sent,
            Err(error) => match usize::try_from(d.attempts)
                .ok()
                .and_then(|a| BACKOFF_S.get(a))
            {
                Some(wait) => DeliveryOutcome::Retry {
                    error,
                    next_at: now + wait * 1000,
                },
                None => DeliveryOutcome::Dead { error },
            },
        };
        (d, notice, outcome)
    });
    for (d, notice, outcome) in futures::future::join_all(sends).await {
        if let DeliveryOutcome::Dead { error } = &outcome {
            tracing::warn!(channel = %d.channel.name, about = %notice.id, %error, "notification dead");
        }
        store.record_delivery(d.id, &outcome, now).await?;
    }
    Ok(())
}

/// `sha256=HEX` of HMAC-SHA256(secret, "{timestamp}.{body}").
pub fn signature(secret_hex: &str, timestamp: i64, body: &[u8]) -> Result<String, String> {
    let key = hex::decode(secret_hex).map_err(|_| "channel secret is not hex".to_owned())?;
    let mut mac =
        Hmac::<Sha256>::new_from_slice(&key).map_err(|_| "channel secret unusable".to_owned())?;
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Ok(format!(
        "sha256={}",
        hex::encode(mac.finalize().into_bytes())
    ))
}

async fn send(
    client: &reqwest::Client,
    mailer: Option<&email::Mailer>,
    channel: &Channel,
    notice: &Notice,
    lang: Lang,
) -> Result<(), String> {
    let severity = tr(lang, &format!("severity-{}", notice.severity));
    let request = match Kind::parse(&channel.kind) {
        Some(Kind::Email) => {
            let mailer = mailer.ok_or("this server has no SMTP settings (smtp_url, smtp_from)")?;
            let (subject, body) = &notice.mail;
            return mailer.send(&channel.target, subject, body.clone()).await;
        }
        Some(Kind::Webhook) => {
            let body = serde_json::to_vec(&notice.json).map_err(|e| e.to_string())?;
            let ts = now_ms() / 1000;
            client
                .post(&channel.target)
                .header("content-type", "application/json")
                .header("x-mtm-timestamp", ts.to_string())
                .header("x-mtm-signature", signature(&channel.secret, ts, &body)?)
                .body(body)
        }
        Some(Kind::Telegram) => {
            let kind = if notice.kind == "daily_report" {
                tr(lang, "mail-report-tag")
            } else {
                crate::i18n::alert_kind(lang, &notice.kind)
            };
            let text = format!("[{severity}] {kind}: {}", notice.summary);
            client
                .post(format!(
                    "{}/sendMessage",
                    channel.target.trim_end_matches('/')
                ))
                .json(&serde_json::json!({"chat_id": channel.chat_id, "text": text}))
        }
        Some(Kind::Ntfy) => client
            .post(&channel.target)
            .header(
                "title",
                match notice.kind.as_str() {
                    "daily_report" => tr(lang, "mail-ntfy-report"),
                    _ => tr_args(lang, "mail-ntfy-alert", &[("severity", severity.into())]),
                },
            )
            .header(
                "priority",
                match notice.severity.as_str() {
                    "critical" => "5",
                    "warning" => "4",
                    _ => "3",
                },
            )
            .header("tags", notice.kind.clone())
            .body(notice.summary.clone()),
        None => return Err(format!("unknown channel kind {:?}", channel.kind)),
    };
    let answer = request
        .send()
        .await
        .map_err(|e| format!("not delivered: {e}"))?;
    if answer.status().is_success() {
        Ok(())
    } else {
        Err(format!("the receiver answered {}", answer.status()))
    }
}
