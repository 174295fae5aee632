//! The business day of a location: from its close time on one date to its close time the next.

use super::ReconcileError;
use serde::{Deserialize, Serialize};
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// A business date as stored and shown: `2026-12-03`.
const DATE: &[BorrowedFormatItem<'static>] = format_description!("[year]-[month]-[day]");
/// A close time: `02:00`.
const HOUR_MINUTE: &[BorrowedFormatItem<'static>] = format_description!("[hour]:[minute]");

/// How a location's local time relates to UTC at a given instant.
///
/// A fixed [`UtcOffset`] implements it; a location with daylight saving time can implement it
/// over a time-zone database without this module changing.
pub trait ZoneOffset {
    /// The local offset at this instant (unix seconds).
    fn offset_at(&self, unix_s: i64) -> UtcOffset;
}

impl ZoneOffset for UtcOffset {
    fn offset_at(&self, _unix_s: i64) -> UtcOffset {
        *self
    }
}

/// One business day `[start_ms, end_ms)`: the day named `date` starts at `close_time` local on
/// that date and ends at `close_time` local on the next (with close time `00:00` that is the
/// calendar day; with `02:00`, a cafe open until 2 am reports the night with the day before).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayWindow {
    /// Business date, `YYYY-MM-DD`.
    pub date: String,
    /// The location's close time, `HH:MM` local.
    pub close_time: String,
    /// First instant of the day, unix ms.
    pub start_ms: i64,
    /// First instant after the day, unix ms.
    pub end_ms: i64,
}

impl DayWindow {
    /// The business day named `date`, for a location closing at `close` in `zone`.
    pub fn new(
        date: Date,
        close: Time,
        zone: &dyn ZoneOffset,
    ) -> Result<DayWindow, ReconcileError> {
        let next = date.next_day().ok_or(ReconcileError::DateOutOfRange)?;
        let start = local_to_utc(PrimitiveDateTime::new(date, close), zone);
        let end = local_to_utc(PrimitiveDateTime::new(next, close), zone);
        let out_of_range = |_| ReconcileError::DateOutOfRange;
        Ok(DayWindow {
            date: date.format(DATE).map_err(out_of_range)?,
            close_time: close.format(HOUR_MINUTE).map_err(out_of_range)?,
            start_ms: unix_ms(start),
            end_ms: unix_ms(end),
        })
    }

    /// The business day named by `date` (`YYYY-MM-DD`) for a close time `HH:MM`.
    pub fn parse(
        date: &str,
        close: &str,
        zone: &dyn ZoneOffset,
    ) -> Result<DayWindow, ReconcileError> {
        DayWindow::new(parse_date(date)?, parse_close_time(close)?, zone)
    }

    /// The business day an instant (unix ms) falls in.
    pub fn containing(
        at_ms: i64,
        close: Time,
        zone: &dyn ZoneOffset,
    ) -> Result<DayWindow, ReconcileError> {
        let utc = OffsetDateTime::from_unix_timestamp(at_ms.div_euclid(1000))
            .map_err(|_| ReconcileError::DateOutOfRange)?;
        let local = utc.to_offset(zone.offset_at(utc.unix_timestamp()));
        let mut date = local.date();
        if local.time() < close {
            date = date.previous_day().ok_or(ReconcileError::DateOutOfRange)?;
        }
        DayWindow::new(date, close, zone)
    }

    /// Whether an instant (unix ms) is in the day.
    pub fn contains(&self, at_ms: i64) -> bool {
        self.start_ms <= at_ms && at_ms < self.end_ms
    }

    /// Whether an optional instant is in the day.
    pub fn contains_opt(&self, at_ms: Option<i64>) -> bool {
        at_ms.is_some_and(|t| self.contains(t))
    }
}

/// Parse a close time `HH:MM` (24-hour).
pub fn parse_close_time(s: &str) -> Result<Time, ReconcileError> {
    let bad = || ReconcileError::BadCloseTime(s.to_string());
    let (h, m) = s.trim().split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(bad());
    }
    let h: u8 = h.parse().map_err(|_| bad())?;
    let m: u8 = m.parse().map_err(|_| bad())?;
    Time::from_hms(h, m, 0).map_err(|_| bad())
}

/// Parse a fixed zone: `UTC`, `Z`, `±HH:MM` or `UTC±HH:MM`.
pub fn parse_fixed_zone(s: &str) -> Result<UtcOffset, ReconcileError> {
    let bad = || ReconcileError::BadZone(s.to_string());
    let t = s.trim();
    let rest = t
        .strip_prefix("UTC")
        .or_else(|| t.strip_prefix("GMT"))
        .unwrap_or(t);
    if rest.is_empty() || rest == "Z" {
        return Ok(UtcOffset::UTC);
    }
    let (sign, hm) = match rest.as_bytes().first() {
        Some(b'+') => (1i8, &rest[1..]),
        Some(b'-') => (-1i8, &rest[1..]),
        _ => return Err(bad()),
    };
    let (h, m) = hm.split_once(':').ok_or_else(bad)?;
    let h: i8 = h.parse().map_err(|_| bad())?;
    let m: i8 = m.parse().map_err(|_| bad())?;
    if !(0..=14).contains(&h) || !(0..60).contains(&m) {
        return Err(bad());
    }
    UtcOffset::from_hms(sign * h, sign * m, 0).map_err(|_| bad())
}

/// Parse `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Result<Date, ReconcileError> {
    let mut parts = s.trim().splitn(3, '-');
    let mut next = || parts.next().ok_or(ReconcileError::DateOutOfRange);
    let y: i32 = next()?
        .parse()
        .map_err(|_| ReconcileError::DateOutOfRange)?;
    let m: u8 = next()?
        .parse()
        .map_err(|_| ReconcileError::DateOutOfRange)?;
    let d: u8 = next()?
        .parse()
        .map_err(|_| ReconcileError::DateOutOfRange)?;
    let month = Month::try_from(m).map_err(|_| ReconcileError::DateOutOfRange)?;
    Date::from_calendar_date(y, month, d).map_err(|_| ReconcileError::DateOutOfRange)
}

/// A local time in a zone whose offset may change (DST): take the offset in force at the
/// instant the first guess lands on, then correct once; in a gap or overlap this picks one of
/// the two readings, which is all a day boundary needs.
fn local_to_utc(local: PrimitiveDateTime, zone: &dyn ZoneOffset) -> OffsetDateTime {
    let guess = local.assume_utc();
    let first = zone.offset_at(guess.unix_timestamp());
    let t = local.assume_offset(first);
    let second = zone.offset_at(t.unix_timestamp());
    if second == first {
        t
    } else {
        local.assume_offset(second)
    }
}

fn unix_ms(t: OffsetDateTime) -> i64 {
    t.unix_timestamp() * 1000 + i64::from(t.millisecond())
}
