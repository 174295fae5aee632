//! Cash short or over, dispensing outside a shift or elsewhere, and silent routers.

use super::*;

fn close(declared: i64) -> ShiftClose {
    ShiftClose {
        shift_id: shift(),
        staff_id: staff(),
        location_id: location(),
        opened_at: MORNING_MS,
        closed_at: MORNING_MS + 8 * 3_600_000,
        opening_float_minor: 2_000,
        expected_revenue_minor: 10_000,
        tokens_sold: 20,
        declared_cash_minor: declared,
        threshold_minor: 200,
        currency: "NGN".into(),
        closed_by: None,
    }
}

#[test]
fn cash_short_at_shift_close() {
    let out = check_shift_close(&close(9_000));
    assert_eq!(
        (
            out.expected_cash_minor,
            out.variance_minor,
            out.confirmed_revenue_minor
        ),
        (12_000, -3_000, 7_000)
    );
    let f = out.finding.unwrap();
    assert_eq!(
        (f.kind, f.severity),
        (AlertKind::CashShort, Severity::Critical)
    );
    assert_eq!(
        (f.staff_id, f.shift_id, f.location_id),
        (Some(staff()), Some(shift()), Some(location()))
    );
    assert_eq!(f.evidence["expected_cash_minor"], 12_000);
    assert_eq!(f.evidence["declared_cash_minor"], 9_000);
    assert_eq!(f.evidence["variance_minor"], -3_000);
    assert_eq!(f.evidence["tokens_sold"], 20);
    assert_eq!(f.dedup_key, format!("cash_short:{}", shift()));
    assert_eq!(f.summary, "cash short by 30.00 NGN at shift close");
}

#[test]
fn the_alert_text_reads_in_each_currency_s_own_units() {
    let mut c = close(9_000);
    c.currency = "XOF".into();
    let f = check_shift_close(&c).finding.unwrap();
    assert_eq!(f.summary, "cash short by 3000 XOF at shift close");
    c.currency = "BHD".into();
    let f = check_shift_close(&c).finding.unwrap();
    assert_eq!(f.summary, "cash short by 3.000 BHD at shift close");
}

#[test]
fn cash_over_and_the_threshold_edge() {
    let f = check_shift_close(&close(12_201)).finding.unwrap();
    assert_eq!(
        (f.kind, f.severity),
        (AlertKind::CashOver, Severity::Warning)
    );
    assert_eq!(f.evidence["variance_minor"], 201);
    // Exactly the threshold either way is within it.
    assert_eq!(check_shift_close(&close(12_200)).finding, None);
    assert_eq!(check_shift_close(&close(11_800)).finding, None);
    assert!(check_shift_close(&close(11_799)).finding.is_some());
}

#[test]
fn a_forgotten_shift_closed_by_a_manager_keeps_the_manager_in_the_evidence() {
    let manager = Uuid::from_u128(0x99);
    let mut c = close(5_000);
    c.closed_by = Some(manager);
    let f = check_shift_close(&c).finding.unwrap();
    assert_eq!(f.staff_id, Some(staff()));
    assert_eq!(f.evidence["closed_by"], manager.to_string());
}

fn attempt(open_shift: Option<OpenShift>) -> DispenseAttempt {
    DispenseAttempt {
        staff_id: staff(),
        location_id: location(),
        at: MORNING_MS + 30_000,
        package_slug: "1d".into(),
        open_shift,
        staff_location_ids: vec![location()],
    }
}

#[test]
fn dispensing_without_an_open_shift_is_refused_and_alerted() {
    let f = check_dispense(&attempt(None)).unwrap_err();
    assert_eq!(f.kind, AlertKind::DispenseOutsideShift);
    assert_eq!(
        (f.staff_id, f.location_id, f.shift_id),
        (Some(staff()), Some(location()), None)
    );
    assert_eq!(f.evidence["reason"], "no_open_shift");
    assert_eq!(f.evidence["package_slug"], "1d");
    // A second press in the same minute is the same attempt.
    let mut again = attempt(None);
    again.at += 10_000;
    assert_eq!(check_dispense(&again).unwrap_err().dedup_key, f.dedup_key);
}

#[test]
fn dispensing_at_another_location_is_refused_and_alerted() {
    let elsewhere = Uuid::from_u128(0x11);
    let f = check_dispense(&attempt(Some(OpenShift {
        shift_id: shift(),
        location_id: elsewhere,
    })))
    .unwrap_err();
    assert_eq!(f.kind, AlertKind::DispenseWrongLocation);
    assert_eq!(f.shift_id, Some(shift()));
    assert_eq!(f.evidence["reason"], "shift_at_other_location");
    assert_eq!(f.evidence["shift_location_id"], elsewhere.to_string());

    let mut a = attempt(Some(OpenShift {
        shift_id: shift(),
        location_id: location(),
    }));
    a.staff_location_ids = vec![elsewhere];
    let f = check_dispense(&a).unwrap_err();
    assert_eq!(
        (f.kind, f.evidence["reason"].as_str()),
        (
            AlertKind::DispenseWrongLocation,
            Some("not_a_location_of_staff")
        )
    );
}

#[test]
fn a_router_silent_during_an_open_shift() {
    let last = MORNING_MS;
    let now = last + 600_000;
    let f = check_router_silent(&router(), now, Some(last), 300_000, true).unwrap();
    assert_eq!(
        (f.kind, f.severity),
        (AlertKind::RouterSilent, Severity::Warning)
    );
    assert_eq!(f.agent_id.as_deref(), Some(AGENT));
    assert_eq!(f.evidence["silent_ms"], 600_000);
    // One silence, one alert: later checks of the same silence carry the same key.
    let later = check_router_silent(&router(), now + 60_000, Some(last), 300_000, true).unwrap();
    assert_eq!(later.dedup_key, f.dedup_key);
    // Exactly at the threshold is not yet silent.
    assert_eq!(
        check_router_silent(&router(), last + 300_000, Some(last), 300_000, true),
        None
    );
    // A router that never reported, during an open shift, is silent too.
    let never = check_router_silent(&router(), now, None, 300_000, true).unwrap();
    assert_eq!(never.dedup_key, format!("router_silent:{AGENT}:never"));
}
