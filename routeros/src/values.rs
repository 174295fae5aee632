//! RouterOS value formats: durations, booleans, byte counts, dates.

use std::time::Duration;

/// A value that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} value {value:?}")]
pub struct ValueError {
    /// What was expected ("duration", "boolean", ...).
    pub kind: &'static str,
    /// The offending text.
    pub value: String,
}

fn err(kind: &'static str, value: &str) -> ValueError {
    ValueError {
        kind,
        value: value.to_string(),
    }
}

/// Parses `1w2d3h4m5s`, `2d05:14:32`, `05:14:32`, `14ms612us`, `1.5s`, or plain seconds.
pub fn parse_duration(s: &str) -> Result<Duration, ValueError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(err("duration", s));
    }
    let mut total = Duration::ZERO;
    let mut rest = t;
    // An optional clock part "HH:MM:SS[.frac]" ends the value, possibly after "Nw" / "Nd".
    if let Some(colon) = rest.find(':') {
        let start = rest[..colon]
            .rfind(|c: char| !c.is_ascii_digit())
            .map(|i| i + 1)
            .unwrap_or(0);
        let (units, clock) = rest.split_at(start);
        total += parse_clock(clock).ok_or_else(|| err("duration", s))?;
        rest = units;
        if rest.is_empty() {
            return Ok(total);
        }
    }
    if rest.bytes().all(|b| b.is_ascii_digit()) {
        let secs: u64 = rest.parse().map_err(|_| err("duration", s))?;
        return Ok(total + Duration::from_secs(secs));
    }
    let mut num = String::new();
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            num.push(c);
            continue;
        }
        let mut unit = c.to_string();
        if matches!(c, 'm' | 'u' | 'n') && chars.peek() == Some(&'s') {
            unit.push('s');
            chars.next();
        }
        let value: f64 = num.parse().map_err(|_| err("duration", s))?;
        num.clear();
        let secs = match unit.as_str() {
            "w" => 604_800.0,
            "d" => 86_400.0,
            "h" => 3_600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "u" => 1e-6,
            "ns" | "n" => 1e-9,
            _ => return Err(err("duration", s)),
        };
        total += Duration::from_secs_f64(value * secs);
    }
    if !num.is_empty() {
        return Err(err("duration", s));
    }
    Ok(total)
}

fn parse_clock(c: &str) -> Option<Duration> {
    let mut parts = c.split(':');
    let h: u64 = parts.next()?.parse().ok()?;
    let m: u64 = parts.next()?.parse().ok()?;
    let s: f64 = parts.next()?.parse().ok()?;
    if parts.next().is_some() || m >= 60 || s >= 60.0 {
        return None;
    }
    Some(Duration::from_secs(h * 3600 + m * 60) + Duration::from_secs_f64(s))
}

/// Formats like RouterOS v7 does on the API: `1w2d3h4m5s`, `0s`, sub-second parts as `ms`.
pub fn format_duration(d: Duration) -> String {
    let mut secs = d.as_secs();
    let millis = d.subsec_millis();
    if secs == 0 && millis == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, size) in [
        ("w", 604_800),
        ("d", 86_400),
        ("h", 3_600),
        ("m", 60),
        ("s", 1),
    ] {
        let n = secs / size;
        secs %= size;
        if n > 0 {
            out.push_str(&format!("{n}{unit}"));
        }
    }
    if millis > 0 {
        out.push_str(&format!("{millis}ms"));
    }
    out
}

/// Parses `true`/`false`/`yes`/`no`.
pub fn parse_bool(s: &str) -> Result<bool, ValueError> {
    match s.trim() {
        "true" | "yes" => Ok(true),
        "false" | "no" => Ok(false),
        _ => Err(err("boolean", s)),
    }
}

/// Formats a boolean as the API shows it (`true`/`false`).
pub fn format_bool(b: bool) -> &'static str {
    if b {
        "true"
    } else {
        "false"
    }
}

/// Parses a byte count: digits, optionally with a `k`/`M`/`G` (binary) suffix.
pub fn parse_bytes(s: &str) -> Result<u64, ValueError> {
    let t = s.trim();
    let (num, mul) = match t.char_indices().last() {
        Some((i, 'k' | 'K')) => (&t[..i], 1024),
        Some((i, 'M')) => (&t[..i], 1024 * 1024),
        Some((i, 'G')) => (&t[..i], 1024 * 1024 * 1024),
        _ => (t, 1),
    };
    num.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mul))
        .ok_or_else(|| err("byte count", s))
}

/// A calendar date as RouterOS shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    /// Year, e.g. 2024.
    pub year: i32,
    /// Month 1..=12.
    pub month: u8,
    /// Day 1..=31.
    pub day: u8,
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

/// Parses `2024-05-17` (7.10+) or `may/17/2024` (older).
pub fn parse_date(s: &str) -> Result<Date, ValueError> {
    let t = s.trim();
    let (year, month, day) = if let Some((m, rest)) = t.split_once('/') {
        let (d, y) = rest.split_once('/').ok_or_else(|| err("date", s))?;
        let month = MONTHS
            .iter()
            .position(|x| x.eq_ignore_ascii_case(m))
            .and_then(|i| u8::try_from(i + 1).ok())
            .ok_or_else(|| err("date", s))?;
        (y.parse().ok(), Some(month), d.parse().ok())
    } else {
        let mut p = t.split('-');
        let y = p.next().and_then(|x| x.parse().ok());
        let m = p.next().and_then(|x| x.parse().ok());
        let d = p.next().and_then(|x| x.parse().ok());
        if p.next().is_some() {
            return Err(err("date", s));
        }
        (y, m, d)
    };
    match (year, month, day) {
        (Some(year), Some(month @ 1..=12), Some(day @ 1..=31)) => Ok(Date { year, month, day }),
        _ => Err(err("date", s)),
    }
}

/// Formats a date in the 7.10+ style (`2024-05-17`).
pub fn format_date(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year, d.month, d.day)
}

/// Formats a date in the pre-7.10 style (`may/17/2024`).
pub fn format_date_legacy(d: Date) -> String {
    let m = MONTHS
        .get(usize::from(d.month.max(1)) - 1)
        .unwrap_or(&"jan");
    format!("{m}/{:02}/{:04}", d.day, d.year)
}

/// Parses `2024-05-17 17:58:11` or `may/17/2024 17:58:11` into a date and seconds since midnight.
pub fn parse_datetime(s: &str) -> Result<(Date, Duration), ValueError> {
    let (d, t) = s
        .trim()
        .split_once(' ')
        .ok_or_else(|| err("date and time", s))?;
    let time = parse_clock(t.trim()).ok_or_else(|| err("date and time", s))?;
    Ok((parse_date(d)?, time))
}

/// Days since 1970-01-01 to a civil date (for the simulator's clock).
// Month (1-12) and day (1-31) fit by construction; the year fits i32 for any day count within
// ±5.8 million years, far beyond a simulated clock.
#[allow(clippy::cast_possible_truncation)]
pub fn date_from_days(days: i64) -> Date {
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    Date {
        year: (if m <= 2 { y + 1 } else { y }) as i32,
        month: m as u8,
        day: d as u8,
    }
}
