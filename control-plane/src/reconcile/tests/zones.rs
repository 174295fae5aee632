//! IANA zones from TZif bytes: transitions, the footer rule, and business days across DST.

use super::*;
use time::{macros::date, macros::time as hm, UtcOffset};

/// A TZif v2 file with these transitions (unix s, type index), types (offset, abbreviation; the
/// first is standard time, the others daylight time) and footer.
fn tzif(transitions: &[(i64, u8)], types: &[(i32, &str)], footer: &str) -> Vec<u8> {
    let mut chars = Vec::new();
    let mut at = Vec::new();
    for (_, name) in types {
        at.push(u8::try_from(chars.len()).unwrap());
        chars.extend(name.bytes());
        chars.push(0);
    }
    let header = |timecnt: usize, typecnt: usize, charcnt: usize| {
        let mut h = b"TZif2".to_vec();
        h.extend([0u8; 15]);
        for c in [0, 0, 0, timecnt, typecnt, charcnt] {
            h.extend(u32::try_from(c).unwrap().to_be_bytes());
        }
        h
    };
    // A minimal version-1 block (one type), then the 64-bit block that counts.
    let mut b = header(0, 1, 1);
    b.extend([0, 0, 0, 0, 0, 0, 0]);
    b.extend(header(transitions.len(), types.len(), chars.len()));
    for (at, _) in transitions {
        b.extend(at.to_be_bytes());
    }
    b.extend(transitions.iter().map(|(_, i)| *i));
    for (i, (off, _)) in types.iter().enumerate() {
        b.extend(off.to_be_bytes());
        b.extend([u8::from(i != 0), at[i]]);
    }
    b.extend(&chars);
    b.extend(format!("\n{footer}\n").bytes());
    b
}

fn offset(zone: &TzifZone, unix_s: i64) -> i32 {
    zone.offset_at(unix_s).whole_seconds()
}

#[test]
fn transitions_then_the_footer_rule() {
    // +01:00 until 2026-03-29 01:00 UTC, +02:00 until 2026-10-25 01:00 UTC, then the rule.
    let zone = TzifZone::parse(&tzif(
        &[(1_774_746_000, 1), (1_792_890_000, 0)],
        &[(3600, "CET"), (7200, "CEST")],
        "CET-1CEST,M3.5.0,M10.5.0/3",
    ))
    .unwrap();
    assert_eq!(offset(&zone, 1_774_745_999), 3600);
    assert_eq!(offset(&zone, 1_774_746_000), 7200);
    assert_eq!(offset(&zone, 1_792_890_000), 3600);
    // 2027-07-01 is after the last transition: the footer says summer time.
    assert_eq!(offset(&zone, 1_814_400_000), 7200);
    // 2027-03-28 01:00 UTC is the rule's switch.
    assert_eq!(offset(&zone, 1_806_195_599), 3600);
    assert_eq!(offset(&zone, 1_806_195_600), 7200);
    let spring = DayWindow::new(date!(2027 - 03 - 28), hm!(00:00), &zone).unwrap();
    assert_eq!(spring.end_ms - spring.start_ms, 23 * 3_600_000);
    let autumn = DayWindow::new(date!(2027 - 10 - 31), hm!(00:00), &zone).unwrap();
    assert_eq!(autumn.end_ms - autumn.start_ms, 25 * 3_600_000);
}

#[test]
fn southern_and_fixed_rules() {
    let sydney = TzifZone::parse(&tzif(
        &[],
        &[(36000, "AEST")],
        "AEST-10AEDT,M10.1.0,M4.1.0/3",
    ))
    .unwrap();
    assert_eq!(offset(&sydney, 1_799_020_800), 39600); // 2027-01-04: summer
    assert_eq!(offset(&sydney, 1_814_400_000), 36000); // 2027-07-01: winter
    let tehran = TzifZone::parse(&tzif(&[], &[(12600, "+0330")], "<+0330>-3:30")).unwrap();
    assert_eq!(offset(&tehran, 0), 12600);
    let lagos = TzifZone::parse(&tzif(&[], &[(3600, "WAT")], "WAT-1")).unwrap();
    let w = DayWindow::parse("2026-11-25", "02:00", &lagos).unwrap();
    assert_eq!(
        w,
        DayWindow::parse("2026-11-25", "02:00", &parse_fixed_zone("+01:00").unwrap()).unwrap()
    );
}

#[test]
fn bad_tzif_is_an_error_not_a_panic() {
    let good = tzif(
        &[(1_774_746_000, 1)],
        &[(3600, "CET"), (7200, "CEST")],
        "CET-1CEST,M3.5.0,M10.5.0/3",
    );
    for cut in [0, 3, 10, 44, 60, 80, good.len() - 40] {
        assert!(TzifZone::parse(&good[..cut]).is_err(), "cut at {cut}");
    }
    assert!(TzifZone::parse(b"not a zone file at all, just some text here....").is_err());
    // A type index past the types.
    let bad_index = tzif(&[(0, 7)], &[(3600, "X")], "");
    assert!(TzifZone::parse(&bad_index).is_err());
}

#[test]
fn julian_day_rules_in_the_footer() {
    // `Jn` counts 1..=365 without 29 February, `n` counts 0..=365 with it. Summer time from
    // day 60 (1 March either way in 1970) at 02:00 local to day 300 at 02:00 local.
    for footer in ["XYZ-1ABC,J60,J300", "XYZ-1ABC,59,299"] {
        let zone =
            TzifZone::parse(&tzif(&[(0, 0)], &[(3600, "XYZ"), (7200, "ABC")], footer)).unwrap();
        assert_eq!(offset(&zone, 1_000_000), 3600, "{footer}: January");
        // 1970-03-01 02:00 standard time (01:00 UTC, unix 5_101_200) is the switch.
        assert_eq!(offset(&zone, 5_101_199), 3600, "{footer}");
        assert_eq!(offset(&zone, 5_101_200), 7200, "{footer}");
        assert_eq!(offset(&zone, 100 * 86_400), 7200, "{footer}: April");
        assert_eq!(offset(&zone, 330 * 86_400), 3600, "{footer}: late November");
    }
}

#[test]
fn the_systems_zoneinfo_if_present() {
    // The control plane reads these files; where tzdata is not installed there is nothing to test.
    let Ok(berlin) = std::fs::read("/usr/share/zoneinfo/Europe/Berlin") else {
        return;
    };
    let berlin = TzifZone::parse(&berlin).unwrap();
    let day = DayWindow::new(date!(2026 - 03 - 29), hm!(00:00), &berlin).unwrap();
    assert_eq!(day.end_ms - day.start_ms, 23 * 3_600_000);
    assert_eq!(berlin.offset_at(2_225_000_000).whole_seconds(), 7200); // July 2040, footer rule
    if let Ok(lagos) = std::fs::read("/usr/share/zoneinfo/Africa/Lagos") {
        let lagos = TzifZone::parse(&lagos).unwrap();
        assert_eq!(
            lagos.offset_at(1_795_597_200),
            UtcOffset::from_hms(1, 0, 0).unwrap()
        );
    }
}
