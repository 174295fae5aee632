//! Who was on duty when a rogue voucher could have been sold: the router does not say who
//! typed a hotspot user in, so a rogue alert names the shifts open at the router's location
//! between the earliest plausible sale and the report that first showed the user.

use super::{AlertKind, Finding};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uuid::Uuid;

/// A shift at the router's location, with its staff member's username.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DutyShift {
    /// The shift.
    pub shift_id: Uuid,
    /// Who worked it.
    pub staff_id: Uuid,
    /// Their username, for people reading the alert.
    pub staff: String,
    /// Clock-in, unix ms.
    pub opened_at: i64,
    /// Clock-out, unix ms; `None` while open.
    pub closed_at: Option<i64>,
}

impl DutyShift {
    /// Whether the shift was open at some instant of `[from, to]`.
    pub fn overlaps(&self, from: i64, to: i64) -> bool {
        self.opened_at <= to && self.closed_at.is_none_or(|c| c >= from)
    }
}

/// Whether `finding` is a rogue alert nobody is attributed to yet: the ones to look up the
/// shifts on duty for.
pub fn needs_duty(finding: &Finding) -> bool {
    finding.kind == AlertKind::RogueToken && finding.staff_id.is_none()
}

/// Before a router's first inventory nothing bounds a sale from below: look back this far (two
/// of the agent's default inventory intervals).
pub const FIRST_LOOKBACK_MS: i64 = 10 * 60 * 1000;

/// The instants `[from, to]` in which the rogue user of `finding`, first shown by a report taken
/// at `taken_at`, was made. No later than the router says it has been used before the report
/// (the user's or any of its sessions' longest uptime: uptime only grows after it exists); no
/// earlier than `since`, the router's inventory before the report, which did not show it
/// (without one, [`FIRST_LOOKBACK_MS`] before the latest instant).
pub fn sale_window(finding: &Finding, taken_at: i64, since: Option<i64>) -> (i64, i64) {
    let e = &finding.evidence;
    let sessions = e["sessions"].as_array().into_iter().flatten();
    let used_s = std::iter::once(&e["uptime_s"])
        .chain(sessions.map(|s| &s["uptime_s"]))
        .filter_map(Value::as_u64)
        .max()
        .unwrap_or(0);
    let used_ms = i64::try_from(used_s.saturating_mul(1000)).unwrap_or(i64::MAX);
    let to = taken_at.saturating_sub(used_ms);
    let from = since
        .unwrap_or_else(|| to.saturating_sub(FIRST_LOOKBACK_MS))
        .min(to);
    (from, to)
}

/// Of a router's latest inventory time `at` and the one before it `prev`, the newest taken
/// before `taken_at`: the last look at the router that came before a report.
pub fn inventory_before(at: i64, prev: Option<i64>, taken_at: i64) -> Option<i64> {
    [Some(at), prev]
        .into_iter()
        .flatten()
        .filter(|t| *t < taken_at)
        .max()
}

/// The shifts of `shifts` open at some instant of `[from, to]`, earliest clock-in first.
pub fn on_duty(shifts: &[DutyShift], from: i64, to: i64) -> Vec<DutyShift> {
    let mut out: Vec<DutyShift> = shifts
        .iter()
        .filter(|s| s.overlaps(from, to))
        .cloned()
        .collect();
    out.sort_by_key(|s| (s.opened_at, s.shift_id));
    out
}

/// Attribute a rogue finding to the shifts open in its sale window `[from, to]`: put them in
/// the evidence (`on_duty`, `sale_window`) and the summary. One shift sets the finding's
/// `shift_id` and `staff_id`; several shifts of one staff member set only `staff_id`.
pub fn attribute(finding: &mut Finding, duty: &[DutyShift], from: i64, to: i64) {
    let duty = on_duty(duty, from, to);
    let mut names: Vec<&str> = Vec::new();
    for s in &duty {
        if !names.contains(&s.staff.as_str()) {
            names.push(&s.staff);
        }
    }
    let mut staff: Vec<Uuid> = duty.iter().map(|s| s.staff_id).collect();
    staff.sort();
    staff.dedup();
    if let [only] = duty.as_slice() {
        finding.shift_id = Some(only.shift_id);
    }
    if let [only] = staff.as_slice() {
        finding.staff_id = Some(*only);
    }
    let suffix = match names.as_slice() {
        [] => " with nobody clocked in".to_string(),
        [one] => format!(" while {one} was on shift"),
        many => format!(" while {} were on shift", many.join(", ")),
    };
    finding.summary.push_str(&suffix);
    let listed: Vec<Value> = duty
        .iter()
        .map(|s| {
            json!({
                "shift_id": s.shift_id,
                "staff_id": s.staff_id,
                "staff": s.staff,
                "opened_at": s.opened_at,
                "closed_at": s.closed_at,
            })
        })
        .collect();
    finding.evidence["on_duty"] = Value::Array(listed);
    finding.evidence["sale_window"] = json!({ "from": from, "to": to });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reconcile::{RouterRef, Severity};

    fn rogue(evidence: Value) -> Finding {
        let router = RouterRef {
            agent_id: "a1".into(),
            ..Default::default()
        };
        router.finding(
            AlertKind::RogueToken,
            Severity::Critical,
            "rogue_token:a1:CASH".into(),
            "hotspot user CASH on router a1 was not issued by mtm (no mtm comment)".into(),
            evidence,
        )
    }

    fn shift(staff: &str, opened_at: i64, closed_at: Option<i64>) -> DutyShift {
        DutyShift {
            shift_id: Uuid::new_v4(),
            // The same name gives the same id, as one user's shifts do.
            staff_id: Uuid::from_u128(staff.bytes().fold(1u128, |a, b| {
                a.wrapping_mul(257).wrapping_add(u128::from(b))
            })),
            staff: staff.into(),
            opened_at,
            closed_at,
        }
    }

    #[test]
    fn the_window_ends_before_the_longest_uptime_and_starts_at_the_last_look() {
        let plain = rogue(json!({"user": "CASH", "uptime_s": null, "sessions": []}));
        // Never used: made between the previous inventory and this one.
        assert_eq!(
            sale_window(&plain, 10_000_000, Some(9_700_000)),
            (9_700_000, 10_000_000)
        );
        // No previous inventory: the first-look lookback.
        assert_eq!(
            sale_window(&plain, 10_000_000, None),
            (10_000_000 - FIRST_LOOKBACK_MS, 10_000_000)
        );
        // Used 900 s (a session's uptime beats the user's 600): made at least that long ago,
        // so nobody who clocked in since can have sold it.
        let used = rogue(json!({
            "uptime_s": 600,
            "sessions": [{"uptime_s": 900}, {"uptime_s": null}],
        }));
        assert_eq!(
            sale_window(&used, 10_000_000, Some(8_000_000)),
            (8_000_000, 10_000_000 - 900_000)
        );
        // Used for longer than since the previous look (the agent was away): the window is the
        // instant the uptime points at.
        assert_eq!(
            sale_window(&used, 10_000_000, Some(9_500_000)),
            (9_100_000, 9_100_000)
        );
    }

    #[test]
    fn the_last_look_is_the_newest_inventory_before_the_report() {
        assert_eq!(inventory_before(900, Some(800), 1_000), Some(900));
        // The report being checked is itself the latest inventory.
        assert_eq!(inventory_before(1_000, Some(800), 1_000), Some(800));
        assert_eq!(inventory_before(1_000, None, 1_000), None);
        // Two inventories in one batch, the check of the first running last.
        assert_eq!(inventory_before(1_200, Some(1_100), 1_000), None);
    }

    #[test]
    fn overlap_counts_the_edges_and_open_shifts() {
        let s = shift("sam", 100, Some(200));
        assert!(s.overlaps(200, 300) && s.overlaps(0, 100) && s.overlaps(120, 130));
        assert!(!s.overlaps(201, 300) && !s.overlaps(0, 99));
        assert!(shift("kim", 100, None).overlaps(5_000, 6_000));
        assert!(!shift("kim", 7_000, None).overlaps(5_000, 6_000));
    }

    #[test]
    fn one_shift_names_its_staff_member_and_shift() {
        let sam = shift("sam", 1_000, None);
        let earlier = shift("kim", 0, Some(500));
        let mut f = rogue(json!({"user": "CASH"}));
        attribute(&mut f, &[earlier, sam.clone()], 2_000, 2_000);
        assert_eq!(f.shift_id, Some(sam.shift_id));
        assert_eq!(f.staff_id, Some(sam.staff_id));
        assert!(
            f.summary.ends_with(" while sam was on shift"),
            "{}",
            f.summary
        );
        assert_eq!(f.evidence["on_duty"].as_array().map(Vec::len), Some(1));
        assert_eq!(f.evidence["on_duty"][0]["staff"], "sam");
        assert_eq!(f.evidence["on_duty"][0]["shift_id"], json!(sam.shift_id));
        assert_eq!(f.evidence["on_duty"][0]["closed_at"], Value::Null);
        assert_eq!(
            f.evidence["sale_window"],
            json!({"from": 2_000, "to": 2_000})
        );
    }

    #[test]
    fn several_staff_members_are_all_named_and_none_is_blamed() {
        let kim = shift("kim", 0, Some(1_500));
        let sam = shift("sam", 1_000, None);
        let mut f = rogue(json!({"user": "CASH"}));
        attribute(&mut f, &[sam, kim], 1_200, 2_000);
        assert_eq!((f.shift_id, f.staff_id), (None, None));
        assert!(
            f.summary.ends_with(" while kim, sam were on shift"),
            "{}",
            f.summary
        );
        let names: Vec<_> = f.evidence["on_duty"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| s["staff"].clone())
            .collect();
        assert_eq!(names, vec![json!("kim"), json!("sam")]);
    }

    #[test]
    fn two_shifts_of_one_person_name_the_person_not_a_shift() {
        let first = shift("sam", 0, Some(1_000));
        let second = shift("sam", 1_500, None);
        let mut f = rogue(json!({"user": "CASH"}));
        attribute(&mut f, &[first.clone(), second], 500, 2_000);
        assert_eq!(f.shift_id, None);
        assert_eq!(f.staff_id, Some(first.staff_id));
        assert!(
            f.summary.ends_with(" while sam was on shift"),
            "{}",
            f.summary
        );
        assert_eq!(f.evidence["on_duty"].as_array().map(Vec::len), Some(2));
    }

    #[test]
    fn nobody_clocked_in_is_said() {
        let gone = shift("sam", 0, Some(1_000));
        let mut f = rogue(json!({"user": "CASH"}));
        attribute(&mut f, &[gone], 1_001, 2_000);
        assert_eq!((f.shift_id, f.staff_id), (None, None));
        assert!(
            f.summary.ends_with(" with nobody clocked in"),
            "{}",
            f.summary
        );
        assert_eq!(f.evidence["on_duty"], json!([]));
    }

    #[test]
    fn only_unattributed_rogue_findings_need_a_lookup() {
        let mut f = rogue(json!({}));
        assert!(needs_duty(&f));
        f.staff_id = Some(Uuid::new_v4());
        assert!(!needs_duty(&f));
        f.staff_id = None;
        f.kind = AlertKind::TamperedToken;
        assert!(!needs_duty(&f));
    }
}
