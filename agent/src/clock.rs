//! Noticing that the wall clock jumped (NTP fixing a Raspberry Pi that booted in 1970, an
//! operator setting the date), by comparing it with the monotonic clock.
//!
//! Control-plane envelopes outside the command window around the agent clock are refused, so
//! while the clock was wrong every command was dropped; the control plane resends open
//! commands when the agent says `Hello`, so after a jump the agent says it again.

use std::time::Instant;

/// A disagreement larger than this between the two clocks counts as a jump. NTP slews small
/// errors; anything this large is a step.
pub const JUMP_MS: i64 = 60_000;

/// The last reading of both clocks.
#[derive(Debug, Clone, Copy)]
pub struct ClockWatch {
    wall_ms: i64,
    mono: Instant,
}

impl ClockWatch {
    /// Start watching from these readings.
    pub fn new(wall_ms: i64, mono: Instant) -> Self {
        ClockWatch { wall_ms, mono }
    }

    /// Take new readings; returns how far the wall clock jumped (ms, negative when it went
    /// back) if it moved more than [`JUMP_MS`] away from the monotonic clock.
    pub fn check(&mut self, wall_ms: i64, mono: Instant) -> Option<i64> {
        let elapsed = mono.saturating_duration_since(self.mono).as_millis();
        let elapsed = i64::try_from(elapsed).unwrap_or(i64::MAX);
        let jump = wall_ms.saturating_sub(self.wall_ms).saturating_sub(elapsed);
        *self = ClockWatch { wall_ms, mono };
        (jump.saturating_abs() > JUMP_MS).then_some(jump)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn steady_clocks_pass_and_steps_either_way_are_caught() {
        let t0 = Instant::now();
        // A Pi without RTC: 1970 plus a minute of uptime.
        let mut w = ClockWatch::new(60_000, t0);
        let t1 = t0 + Duration::from_secs(5);
        assert_eq!(w.check(65_000, t1), None);
        // Small drift is not a jump.
        let t2 = t1 + Duration::from_secs(5);
        assert_eq!(w.check(70_900, t2), None);
        // NTP answers: 2026.
        let t3 = t2 + Duration::from_secs(5);
        let now = 1_800_000_000_000;
        assert_eq!(w.check(now, t3), Some(now - 75_900));
        // And a step back by two days.
        let t4 = t3 + Duration::from_secs(5);
        let back = now + 5_000 - 2 * 86_400_000;
        assert_eq!(w.check(back, t4), Some(-2 * 86_400_000));
        let t5 = t4 + Duration::from_secs(5);
        assert_eq!(w.check(back + 5_000, t5), None);
    }
}
