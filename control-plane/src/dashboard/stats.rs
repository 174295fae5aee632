//! Figures the dashboards show, computed from tokens and router status as pure functions.

use crate::app::{AppError, AppResult};
use crate::store::{RouterStatus, ShiftFigures, Token, TokenFigures, TokenState};
use serde::Serialize;
use std::collections::HashMap;
use uuid::Uuid;

/// One location's figures for a day.
#[derive(Debug, Clone, Serialize, Default, PartialEq)]
pub struct LocationSummary {
    /// Location id.
    pub id: Uuid,
    /// Display name.
    pub name: String,
    /// Routers reporting online.
    pub routers_online: u32,
    /// Routers not online.
    pub routers_offline: u32,
    /// Hotspot sessions now, summed over routers that reported it.
    pub active_users: u32,
    /// Vouchers issued.
    pub issued: u64,
    /// Issued vouchers a customer has logged in with.
    pub used: u64,
    /// Issued vouchers nobody has used yet.
    pub unused: u64,
    /// Price of every voucher issued.
    pub expected_minor: i64,
    /// The part whose shift is closed (cash counted).
    pub confirmed_minor: i64,
    /// Alerts not yet acknowledged.
    pub open_alerts: u64,
    /// Declared minus expected cash over the shifts closed (negative: short).
    pub variance_minor: i64,
}

/// A figure past its type: an error for the page, never a wrapped or clamped number.
fn overflow() -> AppError {
    AppError::Internal("a figure does not fit 64 bits".into())
}

/// Add one staff member's shift figures (as the database summed them) to `s`.
pub fn add_shift_figures(s: &mut LocationSummary, f: &ShiftFigures) -> AppResult<()> {
    s.variance_minor = s
        .variance_minor
        .checked_add(f.variance_minor)
        .ok_or_else(overflow)?;
    Ok(())
}

/// Add one staff member's voucher figures (as the database counted and summed them) to `s`.
pub fn add_token_figures(s: &mut LocationSummary, f: &TokenFigures) -> AppResult<()> {
    let unused = f.issued.checked_sub(f.used).ok_or_else(overflow)?;
    s.issued = s.issued.checked_add(f.issued).ok_or_else(overflow)?;
    s.used = s.used.checked_add(f.used).ok_or_else(overflow)?;
    s.unused = s.unused.checked_add(unused).ok_or_else(overflow)?;
    s.expected_minor = s
        .expected_minor
        .checked_add(f.expected_minor)
        .ok_or_else(overflow)?;
    s.confirmed_minor = s
        .confirmed_minor
        .checked_add(f.confirmed_minor)
        .ok_or_else(overflow)?;
    Ok(())
}

/// Add location `s` to the grand total `a`.
pub fn add_summary(a: &mut LocationSummary, s: &LocationSummary) -> AppResult<()> {
    a.routers_online = a.routers_online.saturating_add(s.routers_online);
    a.routers_offline = a.routers_offline.saturating_add(s.routers_offline);
    a.active_users = a.active_users.saturating_add(s.active_users);
    a.open_alerts = a
        .open_alerts
        .checked_add(s.open_alerts)
        .ok_or_else(overflow)?;
    // Its unused count is issued minus used, which this adds again.
    add_token_figures(
        a,
        &TokenFigures {
            issued: s.issued,
            used: s.used,
            expected_minor: s.expected_minor,
            confirmed_minor: s.confirmed_minor,
            ..Default::default()
        },
    )?;
    a.variance_minor = a
        .variance_minor
        .checked_add(s.variance_minor)
        .ok_or_else(overflow)?;
    Ok(())
}

/// The message key of a token's state on the detail pages, in the reader's language.
pub fn state_key(t: &Token) -> &'static str {
    match t.state {
        TokenState::Issued | TokenState::Applied => "state-unused",
        TokenState::InUse => "state-in_use",
        TokenState::UsedUp => "state-used_up",
        TokenState::Expired => "state-expired",
        TokenState::Disabled => "state-disabled",
        TokenState::Removed => "state-removed",
    }
}

/// Add the routers of `s`'s location.
pub fn add_routers(s: &mut LocationSummary, routers: &[RouterStatus]) {
    for r in routers.iter().filter(|r| r.router.location_id == s.id) {
        if r.router.online {
            s.routers_online += 1;
        } else {
            s.routers_offline += 1;
        }
        s.active_users += r.active_sessions.unwrap_or(0);
    }
}

/// One bar of a chart.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Bar {
    /// Left edge, in chart units.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Height.
    pub h: u32,
    /// Axis label (shown every few bars).
    pub label: String,
    /// The value, for the bar's tooltip.
    pub value: String,
}

/// A bar chart laid out for an inline SVG of `width` × `height` (plus a label row).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Chart {
    /// The message key of its title.
    pub title: String,
    /// Width.
    pub width: u32,
    /// Height of the plot area.
    pub height: u32,
    /// Width of one bar.
    pub bar_w: u32,
    /// The bars, left to right.
    pub bars: Vec<Bar>,
    /// Largest value, as shown on the axis.
    pub max: String,
}

const BAR_W: u32 = 12;
const GAP: u32 = 3;
const HEIGHT: u32 = 100;

/// A chart of `values` (one per bucket); `fmt` writes a value for people.
pub fn chart(title: &str, labels: &[String], values: &[u64], fmt: impl Fn(u64) -> String) -> Chart {
    let max = values.iter().copied().max().unwrap_or(0);
    let bars = values
        .iter()
        .zip(labels)
        .enumerate()
        .map(|(i, (&v, label))| {
            // Scale in u128: byte counts times the height overflow nothing.
            let h = (u128::from(v) * u128::from(HEIGHT))
                .checked_div(u128::from(max))
                .unwrap_or(0);
            // At most HEIGHT, since no value is above the largest.
            let h = u32::try_from(h).unwrap_or(HEIGHT).min(HEIGHT);
            Bar {
                x: u32::try_from(i)
                    .unwrap_or(u32::MAX)
                    .saturating_mul(BAR_W + GAP),
                y: HEIGHT - h,
                h,
                label: label.clone(),
                value: fmt(v),
            }
        })
        .collect::<Vec<_>>();
    Chart {
        title: title.into(),
        width: u32::try_from(bars.len())
            .unwrap_or(u32::MAX)
            .saturating_mul(BAR_W + GAP)
            .max(1),
        height: HEIGHT,
        bar_w: BAR_W,
        bars,
        max: fmt(max),
    }
}

/// Vouchers issued and their traffic per hour (UTC) of the day starting at `day_start`.
pub fn hourly(tokens: &[Token], day_start: i64) -> (Chart, Chart) {
    let mut count = [0u64; 24];
    let mut bytes = [0u64; 24];
    for t in tokens {
        let hour = (t.created_at - day_start).div_euclid(3_600_000);
        if let Ok(h) = usize::try_from(hour) {
            if h < 24 {
                count[h] += 1;
                bytes[h] = bytes[h].saturating_add(t.bytes_in.saturating_add(t.bytes_out));
            }
        }
    }
    let labels: Vec<String> = (0..24)
        .map(|h| {
            if h % 6 == 0 {
                format!("{h:02}h")
            } else {
                String::new()
            }
        })
        .collect();
    (
        chart("chart-issued-per-hour", &labels, &count, |v| v.to_string()),
        chart("chart-traffic", &labels, &bytes, |v| {
            format!("{:.1} MB", v as f64 / 1e6)
        }),
    )
}

/// Usernames for ids, asked once each.
pub type Names = HashMap<Uuid, String>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_scales_to_the_largest_bar_and_survives_zeroes() {
        let labels = vec!["a".to_string(), "b".into(), "c".into()];
        let c = chart("t", &labels, &[0, 5, 10], |v| v.to_string());
        assert_eq!(c.bars.iter().map(|b| b.h).collect::<Vec<_>>(), [0, 50, 100]);
        assert_eq!(c.bars[2].y, 0);
        assert_eq!(c.max, "10");
        let empty = chart("t", &labels, &[0, 0, 0], |v| v.to_string());
        assert!(empty.bars.iter().all(|b| b.h == 0));
        let huge = chart("t", &labels, &[u64::MAX, 1, 0], |v| v.to_string());
        assert_eq!(huge.bars[0].h, 100);
    }
}
