//! IANA time zones from TZif bytes (RFC 8536), so a location's `Africa/Lagos` or
//! `Europe/Berlin` gives correct business days without a time-zone crate: the control plane
//! reads `/usr/share/zoneinfo/{name}` (or an embedded copy) and hands the bytes here.

use super::window::ZoneOffset;
use super::ReconcileError;
use time::{Date, Month, UtcOffset};

/// A time zone parsed from a TZif file: its transitions, and the POSIX rule of its footer for
/// instants after the last transition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TzifZone {
    /// Transition instants (unix s), ascending, with the offset in force from each on.
    transitions: Vec<(i64, i32)>,
    /// Offset before the first transition (time type 0).
    initial: i32,
    /// The footer's rule, if it has one this module understands.
    rule: Option<PosixRule>,
}

impl TzifZone {
    /// Parse a TZif file (versions 1 to 4).
    pub fn parse(bytes: &[u8]) -> Result<TzifZone, ReconcileError> {
        let bad = |why: &str| ReconcileError::BadZone(format!("TZif: {why}"));
        let (header, rest) = Header::read(bytes).ok_or_else(|| bad("bad header"))?;
        let (header, data, time_len, footer) = if header.version >= 2 {
            // Skip the 32-bit block; the 64-bit one follows with its own header.
            let skip = header.block_len(4).ok_or_else(|| bad("bad counts"))?;
            let second = rest.get(skip..).ok_or_else(|| bad("truncated"))?;
            let (h2, data) = Header::read(second).ok_or_else(|| bad("bad second header"))?;
            let len = h2.block_len(8).ok_or_else(|| bad("bad counts"))?;
            let footer = data.get(len..).unwrap_or_default();
            (h2, data, 8, footer)
        } else {
            (header, rest, 4, &[][..])
        };
        let n = header.timecnt;
        let times = data.get(..n * time_len).ok_or_else(|| bad("truncated"))?;
        let idx = data
            .get(n * time_len..n * (time_len + 1))
            .ok_or_else(|| bad("truncated"))?;
        let types_at = n * (time_len + 1);
        let types: Vec<i32> = (0..header.typecnt)
            .map(|i| {
                let b = data.get(types_at + 6 * i..types_at + 6 * i + 4)?;
                Some(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
            })
            .collect::<Option<_>>()
            .ok_or_else(|| bad("truncated"))?;
        let initial = *types.first().ok_or_else(|| bad("no time types"))?;
        let mut transitions = Vec::with_capacity(n);
        for i in 0..n {
            let at = if time_len == 8 {
                let b: [u8; 8] = times[8 * i..8 * i + 8]
                    .try_into()
                    .map_err(|_| bad("time"))?;
                i64::from_be_bytes(b)
            } else {
                let b: [u8; 4] = times[4 * i..4 * i + 4]
                    .try_into()
                    .map_err(|_| bad("time"))?;
                i64::from(i32::from_be_bytes(b))
            };
            let t = *types
                .get(usize::from(idx[i]))
                .ok_or_else(|| bad("type index"))?;
            transitions.push((at, t));
        }
        let rule = std::str::from_utf8(footer)
            .ok()
            .map(|s| s.trim_matches('\n'))
            .and_then(PosixRule::parse);
        Ok(TzifZone {
            transitions,
            initial,
            rule,
        })
    }
}

impl ZoneOffset for TzifZone {
    fn offset_at(&self, unix_s: i64) -> UtcOffset {
        let after_last = self.transitions.last().is_none_or(|&(t, _)| unix_s >= t);
        let seconds = match (&self.rule, after_last) {
            (Some(rule), true) => rule.offset_at(unix_s),
            _ => {
                let i = self.transitions.partition_point(|&(t, _)| t <= unix_s);
                match i {
                    0 => self.initial,
                    _ => self.transitions[i - 1].1,
                }
            }
        };
        UtcOffset::from_whole_seconds(seconds).unwrap_or(UtcOffset::UTC)
    }
}

/// The counts of a TZif header.
struct Header {
    version: u8,
    isutcnt: usize,
    isstdcnt: usize,
    leapcnt: usize,
    timecnt: usize,
    typecnt: usize,
    charcnt: usize,
}

impl Header {
    fn read(b: &[u8]) -> Option<(Header, &[u8])> {
        if b.get(..4)? != b"TZif" {
            return None;
        }
        let version = match *b.get(4)? {
            0 => 1,
            v @ b'2'..=b'9' => v - b'0',
            _ => return None,
        };
        let count = |i: usize| -> Option<usize> {
            let s = b.get(20 + 4 * i..24 + 4 * i)?;
            usize::try_from(u32::from_be_bytes([s[0], s[1], s[2], s[3]])).ok()
        };
        let h = Header {
            version,
            isutcnt: count(0)?,
            isstdcnt: count(1)?,
            leapcnt: count(2)?,
            timecnt: count(3)?,
            typecnt: count(4)?,
            charcnt: count(5)?,
        };
        Some((h, b.get(44..)?))
    }

    /// Length of the data block after this header, with times of `time_len` bytes.
    fn block_len(&self, time_len: usize) -> Option<usize> {
        let leap = self.leapcnt.checked_mul(time_len + 4)?;
        self.timecnt
            .checked_mul(time_len + 1)?
            .checked_add(self.typecnt.checked_mul(6)?)?
            .checked_add(self.charcnt)?
            .checked_add(leap)?
            .checked_add(self.isstdcnt)?
            .checked_add(self.isutcnt)
    }
}

/// A POSIX TZ string such as `CET-1CEST,M3.5.0,M10.5.0/3` or `WAT-1`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PosixRule {
    /// Standard offset east of UTC, seconds.
    std: i32,
    /// Daylight saving: its offset and the start and end rules.
    dst: Option<(i32, MonthRule, MonthRule)>,
}

/// `Mm.w.d/time`: day `d` (0 = Sunday) of week `w` (5 = last) of month `m`, at local `time`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct MonthRule {
    month: Month,
    week: u8,
    weekday: u8,
    time_s: i32,
}

impl PosixRule {
    fn parse(s: &str) -> Option<PosixRule> {
        let rest = skip_name(s)?;
        let (west, rest) = parse_hms(rest)?;
        let std = -west;
        if rest.is_empty() {
            return Some(PosixRule { std, dst: None });
        }
        let rest = skip_name(rest)?;
        let (dst, rest) = match rest.as_bytes().first() {
            Some(b',') => (std + 3600, rest),
            _ => {
                let (west, rest) = parse_hms(rest)?;
                (-west, rest)
            }
        };
        let mut parts = rest.strip_prefix(',')?.split(',');
        let start = MonthRule::parse(parts.next()?)?;
        let end = MonthRule::parse(parts.next()?)?;
        Some(PosixRule {
            std,
            dst: Some((dst, start, end)),
        })
    }

    fn offset_at(&self, unix_s: i64) -> i32 {
        let Some((dst, start, end)) = self.dst else {
            return self.std;
        };
        let year = match time::OffsetDateTime::from_unix_timestamp(unix_s + i64::from(self.std)) {
            Ok(t) => t.year(),
            Err(_) => return self.std,
        };
        // Start is given in standard local time, end in daylight local time.
        let (Some(s), Some(e)) = (start.local_s(year), end.local_s(year)) else {
            return self.std;
        };
        let start_utc = s - i64::from(self.std);
        let end_utc = e - i64::from(dst);
        let in_dst = if start_utc < end_utc {
            start_utc <= unix_s && unix_s < end_utc
        } else {
            unix_s < end_utc || unix_s >= start_utc
        };
        if in_dst {
            dst
        } else {
            self.std
        }
    }
}

impl MonthRule {
    fn parse(s: &str) -> Option<MonthRule> {
        let (date, time_s) = match s.split_once('/') {
            Some((d, t)) => {
                let (secs, rest) = parse_hms(t)?;
                if !rest.is_empty() {
                    return None;
                }
                (d, secs)
            }
            None => (s, 7200),
        };
        let mut it = date.strip_prefix('M')?.split('.');
        let month = Month::try_from(it.next()?.parse::<u8>().ok()?).ok()?;
        let week: u8 = it.next()?.parse().ok()?;
        let weekday: u8 = it.next()?.parse().ok()?;
        ((1..=5).contains(&week) && weekday <= 6 && it.next().is_none()).then_some(MonthRule {
            month,
            week,
            weekday,
            time_s,
        })
    }

    /// The rule's instant in `year` as local seconds since the epoch.
    fn local_s(&self, year: i32) -> Option<i64> {
        let first = Date::from_calendar_date(year, self.month, 1).ok()?;
        let wd = first.weekday().number_days_from_sunday();
        let mut day = 1 + (self.weekday + 7 - wd) % 7 + (self.week - 1) * 7;
        while day > self.month.length(year) {
            day -= 7;
        }
        let date = Date::from_calendar_date(year, self.month, day).ok()?;
        let midnight = date.midnight().assume_utc().unix_timestamp();
        Some(midnight + i64::from(self.time_s))
    }
}

/// Skip a zone abbreviation: `<+0330>` or at least three letters.
fn skip_name(s: &str) -> Option<&str> {
    if let Some(rest) = s.strip_prefix('<') {
        let end = rest.find('>')?;
        return Some(&rest[end + 1..]);
    }
    let n = s.bytes().take_while(u8::is_ascii_alphabetic).count();
    (n >= 3).then(|| &s[n..])
}

/// `[+-]hh[:mm[:ss]]` as seconds, and the rest of the string.
fn parse_hms(s: &str) -> Option<(i32, &str)> {
    let (sign, s) = match s.as_bytes().first()? {
        b'-' => (-1, &s[1..]),
        b'+' => (1, &s[1..]),
        _ => (1, s),
    };
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == ':'))
        .unwrap_or(s.len());
    let mut secs = 0i32;
    let mut parts = 0;
    for (i, p) in s[..end].split(':').enumerate() {
        let v: i32 = p.parse().ok().filter(|_| p.len() <= 3)?;
        secs += v * [3600, 60, 1].get(i)?;
        parts += 1;
    }
    (parts > 0).then_some((sign * secs, &s[end..]))
}
