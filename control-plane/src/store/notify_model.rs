//! Notification channels and their deliveries, as the store reads and writes them.

use serde::Serialize;
use uuid::Uuid;

/// Where a manager's or admin's alerts go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Channel {
    /// Id.
    pub id: Uuid,
    /// The user who made it (they see and delete it; admins see all).
    pub owner_id: Uuid,
    /// A name people recognise ("Ops phone").
    pub name: String,
    /// `webhook`, `telegram` or `ntfy`.
    pub kind: String,
    /// Webhook URL, Telegram bot API base with the token, or ntfy topic URL.
    pub target: String,
    /// Telegram chat id; empty for the other kinds.
    pub chat_id: String,
    /// HMAC-SHA256 key for webhook signatures (hex); never shown again after creation.
    #[serde(skip)]
    pub secret: String,
    /// Lowest severity sent: 1 info, 2 warning, 3 critical.
    pub min_rank: i64,
    /// Only alerts of this location; `None` for all.
    pub location_id: Option<Uuid>,
    /// Unix ms; alerts raised before this are not sent.
    pub created_at: i64,
    /// Also send each daily report summary of its location(s).
    pub daily_reports: bool,
}

/// What a delivery carries.
#[derive(Debug, Clone)]
pub enum Subject {
    /// An alert.
    Alert(super::Alert),
    /// A location's daily report.
    Report(super::DailyReport),
}

/// A delivery due now, with what it needs to be sent.
#[derive(Debug, Clone)]
pub struct DueDelivery {
    /// Delivery id.
    pub id: Uuid,
    /// Attempts so far.
    pub attempts: i64,
    /// The channel.
    pub channel: Channel,
    /// The alert or report it carries.
    pub subject: Subject,
}

/// A delivery as the dead-letter view lists it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeliveryRow {
    /// Delivery id.
    pub id: Uuid,
    /// Channel name.
    pub channel: String,
    /// Alert summary (the stored English line), or "daily report <date>".
    pub summary: String,
    /// The alert's evidence, whose `message` writes the summary in a reader's language
    /// (pages only).
    #[serde(skip)]
    pub evidence: Option<serde_json::Value>,
    /// The business date of a daily report's delivery (pages only).
    #[serde(skip)]
    pub report_date: Option<String>,
    /// `pending`, `sent` or `dead`.
    pub state: String,
    /// Attempts made.
    pub attempts: i64,
    /// The last failure.
    pub last_error: Option<String>,
    /// Unix ms of the alert.
    pub created_at: i64,
}

/// What became of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// The receiver took it.
    Sent,
    /// Failed; try again at this Unix ms.
    Retry {
        /// Why it failed.
        error: String,
        /// When to try again, Unix ms.
        next_at: i64,
    },
    /// Failed for the last time.
    Dead {
        /// Why it failed.
        error: String,
    },
}
