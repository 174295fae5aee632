//! Records for reconciliation: per-location settings.

use crate::refusal::Refusal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Default daily close time when a location has not set one: midnight local time.
pub const DEFAULT_CLOSE_TIME: &str = "00:00";

/// How a location is reconciled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LocationSettings {
    /// The location.
    pub location_id: Uuid,
    /// IANA time zone name (or `UTC`, or a fixed offset like `+01:00`).
    pub timezone: String,
    /// A drawer off by more than this (minor units) at clock-out raises a cash alert.
    pub cash_threshold_minor: i64,
    /// The business day ends at this local time, `HH:MM`.
    pub close_time: String,
    /// A voucher refund above this (minor units) asked by staff waits for a manager; 0: every
    /// refund does.
    #[serde(default)]
    pub refund_approval_minor: i64,
    /// Last changed at (unix ms); `None` while the defaults apply.
    pub updated_at: Option<i64>,
}

/// A change to a location's settings (`PATCH /api/locations/{id}`); absent fields stay.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LocationSettingsChange {
    /// New time zone.
    pub timezone: Option<String>,
    /// New cash variance threshold, minor units, at least 0.
    pub cash_threshold_minor: Option<i64>,
    /// New close time, `HH:MM`.
    pub close_time: Option<String>,
    /// New refund approval threshold, minor units, at least 0.
    #[serde(default)]
    pub refund_approval_minor: Option<i64>,
}

impl LocationSettingsChange {
    /// Reject values no location can have (the time zone's existence is checked by the caller,
    /// which can read the zone database), with a refusal a page shows in its reader's language.
    pub fn validate(&self) -> Result<(), Refusal> {
        if let Some(t) = self.cash_threshold_minor {
            crate::bounds::money("lo-cash-threshold", t)?;
        }
        if let Some(t) = self.refund_approval_minor {
            crate::bounds::money("lo-refund-approval", t)?;
        }
        if let Some(c) = &self.close_time {
            crate::reconcile::parse_close_time(c)
                .map_err(|_| Refusal::new("err-close-time").arg("time", c))?;
        }
        if let Some(z) = &self.timezone {
            if z.trim().is_empty() || z.len() > 64 {
                return Err(Refusal::new("err-zone-bad-name").arg("name", z));
            }
        }
        Ok(())
    }
}

/// A daily report to store (the job builds it with `reconcile::daily_report`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDailyReport {
    /// The location.
    pub location_id: Uuid,
    /// Business date, `YYYY-MM-DD`.
    pub business_date: String,
    /// First instant of the day, unix ms.
    pub window_start_ms: i64,
    /// First instant after it.
    pub window_end_ms: i64,
    /// The report body as the exact JSON text its hash covers.
    pub body_json: String,
    /// SHA-256 hex of `body_json`.
    pub content_sha256: String,
}

/// A stored daily report and its sign-off.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DailyReport {
    /// Id.
    pub id: Uuid,
    /// The location.
    pub location_id: Uuid,
    /// Business date, `YYYY-MM-DD`.
    pub business_date: String,
    /// First instant of the day, unix ms.
    pub window_start_ms: i64,
    /// First instant after it.
    pub window_end_ms: i64,
    /// The report (`reconcile::ReportBody`).
    pub body: serde_json::Value,
    /// SHA-256 hex of the stored body text.
    pub content_sha256: String,
    /// Whether the stored body still hashes to `content_sha256`.
    pub intact: bool,
    /// Stored at.
    pub created_at: i64,
    /// Who signed it off.
    pub signed_off_by: Option<String>,
    /// When.
    pub signed_off_at: Option<i64>,
    /// Their note.
    pub sign_off_note: Option<String>,
}

/// Which reports to list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ReportFilter {
    /// At this location.
    pub location_id: Option<Uuid>,
    /// For this business date.
    pub date: Option<String>,
    /// At most this many (default 100, at most 500): a page; `offset` gives the next.
    pub limit: Option<u32>,
    /// Reports to skip.
    pub offset: Option<u32>,
}
