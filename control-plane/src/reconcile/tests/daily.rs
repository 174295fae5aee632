//! Business-day windows and the daily reconciliation report.

use super::*;
use time::{macros::date, macros::time as hm, UtcOffset};

const DAY_START: i64 = 1_795_568_400_000; // 2026-11-25 02:00 at UTC+01:00
const DAY_END: i64 = DAY_START + 86_400_000;

fn lagos() -> UtcOffset {
    parse_fixed_zone("+01:00").unwrap()
}

fn window() -> DayWindow {
    DayWindow::parse("2026-11-25", "02:00", &lagos()).unwrap()
}

#[test]
fn the_business_day_runs_from_close_time_to_close_time() {
    let w = window();
    assert_eq!((w.start_ms, w.end_ms), (DAY_START, DAY_END));
    assert_eq!(
        (w.date.as_str(), w.close_time.as_str()),
        ("2026-11-25", "02:00")
    );
    assert!(w.contains(DAY_START) && !w.contains(DAY_END) && w.contains(DAY_END - 1));
    // 01:30 local on the 26th still belongs to the 25th; 02:00 starts the 26th.
    let late = DayWindow::containing(DAY_END - 1_800_000, hm!(02:00), &lagos()).unwrap();
    assert_eq!(late, w);
    let next = DayWindow::containing(DAY_END, hm!(02:00), &lagos()).unwrap();
    assert_eq!(next.date, "2026-11-26");
    let utc = DayWindow::new(date!(2026 - 11 - 25), hm!(00:00), &UtcOffset::UTC).unwrap();
    assert_eq!(utc.start_ms, DAY_START - 3_600_000);
}

#[test]
fn a_day_with_a_daylight_saving_change_is_23_hours() {
    // A zone at +01:00 that moves to +02:00 at 2026-03-29 01:00 UTC (as Europe/Berlin does).
    struct Berlin;
    impl ZoneOffset for Berlin {
        fn offset_at(&self, unix_s: i64) -> UtcOffset {
            let h = if unix_s >= 1_774_746_000 { 2 } else { 1 };
            UtcOffset::from_hms(h, 0, 0).unwrap()
        }
    }
    let w = DayWindow::new(date!(2026 - 03 - 29), hm!(00:00), &Berlin).unwrap();
    assert_eq!(w.end_ms - w.start_ms, 23 * 3_600_000);
}

#[test]
fn bad_close_times_and_zones_are_errors_not_panics() {
    for bad in ["24:00", "7:00", "07-00", "", "ab:cd", "07:60"] {
        assert_eq!(
            parse_close_time(bad),
            Err(ReconcileError::BadCloseTime(bad.into())),
            "{bad}"
        );
    }
    for bad in ["Africa/Lagos", "+1", "+15:00", "UTC+01:99", "x"] {
        assert_eq!(
            parse_fixed_zone(bad),
            Err(ReconcileError::BadZone(bad.into())),
            "{bad}"
        );
    }
    assert_eq!(parse_fixed_zone("UTC"), Ok(UtcOffset::UTC));
    assert_eq!(
        parse_fixed_zone("UTC-03:30"),
        Ok(UtcOffset::from_hms(-3, -30, 0).unwrap())
    );
    assert_eq!(
        parse_date("2026-02-30"),
        Err(ReconcileError::DateOutOfRange)
    );
}

fn shift_summary(
    id: u128,
    opened_at: i64,
    closed_at: Option<i64>,
    revenue: i64,
    declared: Option<i64>,
) -> ShiftSummary {
    ShiftSummary {
        shift_id: Uuid::from_u128(id),
        staff_id: staff(),
        opened_at,
        closed_at,
        opening_float_minor: 2_000,
        expected_revenue_minor: revenue,
        tokens_sold: (revenue / 500) as u64,
        declared_cash_minor: declared,
    }
}

fn normal_day() -> DailyInputs {
    let mut tokens = vec![
        token(1, "ABCD2345"),
        token(2, "EFGH6789"),
        token(3, "JKMN2345"),
    ];
    tokens[0].first_login_at = Some(MORNING_MS + 600_000);
    tokens[1].first_login_at = Some(MORNING_MS + 700_000);
    tokens[1].state = TokenState::UsedUp;
    tokens[1].used_up_at = Some(MORNING_MS + 4_300_000);
    // Sold yesterday, validity ran out this morning.
    let mut old = token(4, "PQRS2345");
    old.issued_at = DAY_START - 20 * 3_600_000;
    old.applied_at = Some(old.issued_at + 1_000);
    old.first_login_at = Some(old.issued_at + 60_000);
    old.expired_at = Some(DAY_START + 3_600_000);
    old.state = TokenState::Expired;
    tokens.push(old);
    let sample = |t: &IssuedToken, at: i64, up: u64| UsageSample {
        agent_id: AGENT.into(),
        token_id: Some(t.token_id),
        at,
        delta_uptime_s: up,
        delta_bytes_in: up * 10,
        delta_bytes_out: up * 100,
    };
    let usage = vec![
        sample(&tokens[0], MORNING_MS + 660_000, 60),
        sample(&tokens[0], MORNING_MS + 720_000, 60),
        sample(&tokens[1], MORNING_MS + 4_300_000, HOUR),
        sample(&tokens[1], DAY_START - 1, 999), // yesterday's, ignored
    ];
    DailyInputs {
        location_id: location(),
        location_name: "Cafe A".into(),
        currency: "NGN".into(),
        window: window(),
        agent_ids: vec![AGENT.into(), "cafe-a-r2".into()],
        tokens,
        usage,
        shifts: vec![
            shift_summary(
                0x30,
                MORNING_MS - 600_000,
                Some(MORNING_MS + 8 * 3_600_000),
                1_500,
                Some(3_500),
            ),
            shift_summary(0x31, MORNING_MS + 9 * 3_600_000, None, 0, None),
        ],
        alerts: vec![],
        after_sales: vec![],
    }
}

#[test]
fn a_normal_day_reconciles_to_zero_variance() {
    let r = daily_report(&normal_day()).unwrap();
    let b = &r.body;
    assert_eq!(b.routers.len(), 2);
    let r1 = &b.routers[0];
    assert_eq!(r1.agent_id, AGENT);
    assert_eq!(
        r1.tokens,
        TokenCounts {
            issued: 3,
            applied: 3,
            first_used: 2,
            used_up: 1,
            expired: 1,
            unused: 1,
            not_applied: 0
        }
    );
    assert_eq!(r1.usage.uptime_s, 120 + HOUR);
    assert_eq!(r1.usage.tokens_used, 2);
    assert_eq!(r1.usage.unattributed_uptime_s, 0);
    assert_eq!(b.routers[1].tokens, TokenCounts::default());
    assert_eq!(b.totals.tokens, r1.tokens);
    assert_eq!(
        b.revenue,
        RevenueDay {
            expected_minor: 1_500,
            closed_shifts_expected_minor: 1_500,
            confirmed_minor: 1_500,
            variance_minor: 0,
            open_shifts: 1,
            open_shifts_expected_minor: 0,
            unshifted_minor: 0,
            refunded_minor: 0,
            moved_minor: 0,
        }
    );
    assert_eq!(b.shifts[0].variance_minor, Some(0));
    assert!(b.alerts.is_empty() && b.alerts_by_kind.is_empty());
    assert!(r.verify());
}

#[test]
fn the_report_is_deterministic_and_its_hash_shows_any_change() {
    let inputs = normal_day();
    let a = daily_report(&inputs).unwrap();
    let mut shuffled = inputs.clone();
    shuffled.tokens.reverse();
    shuffled.usage.reverse();
    shuffled.shifts.reverse();
    shuffled.agent_ids.reverse();
    let b = daily_report(&shuffled).unwrap();
    assert_eq!(a, b);

    let mut edited = a.clone();
    edited.body.revenue.confirmed_minor += 1;
    assert!(!edited.verify());
    let json = serde_json::to_string(&a).unwrap();
    let back: ReconciliationReport = serde_json::from_str(&json).unwrap();
    assert!(back.verify());
}

#[test]
fn the_report_lists_the_days_alerts_and_the_cash_variance() {
    let mut inputs = normal_day();
    inputs.shifts[0].declared_cash_minor = Some(3_000);
    let rogue = check_inventory(
        &router(),
        &inventory(vec![], vec![session("GHOST234", 1)]),
        NOW_MS,
        &IssuedIndex::default(),
        &ReconcileConfig::default(),
    );
    let f = only(rogue);
    inputs.alerts = vec![
        RecordedAlert::from_finding(&f, MORNING_MS + 5_000),
        RecordedAlert::from_finding(&f, MORNING_MS + 5_000), // stored twice by mistake: one
        RecordedAlert::from_finding(
            &check_shift_close(&ShiftClose {
                shift_id: shift(),
                staff_id: staff(),
                location_id: location(),
                opened_at: 0,
                closed_at: 0,
                opening_float_minor: 2_000,
                expected_revenue_minor: 1_500,
                tokens_sold: 3,
                declared_cash_minor: 3_000,
                threshold_minor: 100,
                currency: "NGN".into(),
                closed_by: None,
            })
            .finding
            .unwrap(),
            MORNING_MS + 8 * 3_600_000,
        ),
        RecordedAlert::from_finding(&f, DAY_END + 1), // tomorrow's
    ];
    let r = daily_report(&inputs).unwrap();
    assert_eq!(r.body.revenue.variance_minor, -500);
    assert_eq!(r.body.shifts[0].variance_minor, Some(-500));
    assert_eq!(r.body.alerts.len(), 2);
    assert_eq!(r.body.alerts_by_kind.get(&AlertKind::RogueToken), Some(&1));
    assert_eq!(r.body.alerts_by_kind.get(&AlertKind::CashShort), Some(&1));
}

#[test]
fn a_report_refuses_mixed_currencies() {
    let mut inputs = normal_day();
    inputs.tokens[0].currency = "USD".into();
    assert_eq!(
        daily_report(&inputs),
        Err(ReconcileError::MixedCurrency("NGN".into(), "USD".into()))
    );
}
