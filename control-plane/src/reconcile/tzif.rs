//! IANA time zones from TZif bytes (RFC 8536), so a location's `Africa/Lagos` or
//! `Europe/Berlin` gives correct business days: the control plane reads
//! `/usr/share/zoneinfo/{name}` and hands the bytes here. Parsing the file and evaluating the
//! POSIX rule of its footer (every rule form, `Jn` and `n` days included) is jiff's.

use super::window::ZoneOffset;
use super::ReconcileError;
use time::UtcOffset;

/// A time zone parsed from a TZif file: its transitions, and its footer's rule for instants
/// after the last one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TzifZone {
    zone: jiff::tz::TimeZone,
}

impl TzifZone {
    /// Parse a TZif file (versions 1 to 4).
    pub fn parse(bytes: &[u8]) -> Result<TzifZone, ReconcileError> {
        Self::named("", bytes)
    }

    /// Parse a TZif file read for the IANA name `name` (kept for messages).
    pub fn named(name: &str, bytes: &[u8]) -> Result<TzifZone, ReconcileError> {
        let zone = jiff::tz::TimeZone::tzif(name, bytes)
            .map_err(|e| ReconcileError::BadZone(format!("TZif {name}: {e}")))?;
        Ok(TzifZone { zone })
    }
}

impl ZoneOffset for TzifZone {
    fn offset_at(&self, unix_s: i64) -> UtcOffset {
        // Out of jiff's range (about ±9999 years) there is no business day to place anyway.
        let seconds = jiff::Timestamp::from_second(unix_s)
            .map(|t| self.zone.to_offset(t).seconds())
            .unwrap_or(0);
        UtcOffset::from_whole_seconds(seconds).unwrap_or(UtcOffset::UTC)
    }
}
