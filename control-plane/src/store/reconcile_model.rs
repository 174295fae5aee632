//! Records for reconciliation (issue #7): per-location settings.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Default daily close time when a location has not set one: midnight local time.
pub const DEFAULT_CLOSE_TIME: &str = "00:00";

/// How a location is reconciled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocationSettings {
    /// The location.
    pub location_id: Uuid,
    /// IANA time zone name (or `UTC`, or a fixed offset like `+01:00`).
    pub timezone: String,
    /// A drawer off by more than this (minor units) at clock-out raises a cash alert.
    pub cash_threshold_minor: i64,
    /// The business day ends at this local time, `HH:MM`.
    pub close_time: String,
    /// Last changed at (unix ms); `None` while the defaults apply.
    pub updated_at: Option<i64>,
}

/// A change to a location's settings (`PATCH /api/locations/{id}`); absent fields stay.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocationSettingsChange {
    /// New time zone.
    pub timezone: Option<String>,
    /// New cash variance threshold, minor units, at least 0.
    pub cash_threshold_minor: Option<i64>,
    /// New close time, `HH:MM`.
    pub close_time: Option<String>,
}

impl LocationSettingsChange {
    /// Reject values no location can have (the time zone's existence is checked by the caller,
    /// which can read the zone database).
    pub fn validate(&self) -> Result<(), String> {
        if self.cash_threshold_minor.is_some_and(|t| t < 0) {
            return Err("cash_threshold_minor cannot be negative".into());
        }
        if let Some(c) = &self.close_time {
            crate::reconcile::parse_close_time(c).map_err(|e| e.to_string())?;
        }
        if let Some(z) = &self.timezone {
            if z.trim().is_empty() || z.len() > 64 {
                return Err("timezone must be a zone name like Africa/Lagos".into());
            }
        }
        Ok(())
    }
}
