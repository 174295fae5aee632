//! `/log`: the router's memory log, with the hotspot entries RouterOS writes for logins and
//! logouts (what Mikhmon's log page and the agent's catch-up read).

use std::collections::VecDeque;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::server::version_at_least;
use super::state::{fmt_id, RouterState};
use super::Row;
use crate::values::{date_from_days, format_date};

/// RouterOS's default `memory-lines` for the memory log action.
pub const MEMORY_LINES: usize = 1000;

/// Topics of the hotspot's session lines (`trying to log in by ...`, `logged in`, `logged out:
/// ...`, `login failed: ...`): what Mikhmon's log page asks for with `?topics=hotspot,info,debug`
/// and what routers' syslog streams show.
pub const TOPICS_HOTSPOT: &str = "hotspot,info,debug";

/// One memory-log line.
#[derive(Debug, Clone)]
pub struct LogEntry {
    /// Item id.
    pub id: u32,
    /// When it was written, as the router's clock says (seconds since the epoch).
    pub at: u64,
    /// Comma-separated topics, e.g. `hotspot,account,info,debug`.
    pub topics: String,
    /// The text.
    pub message: String,
}

/// The memory log: the newest [`MEMORY_LINES`] entries, oldest first.
pub type Log = VecDeque<LogEntry>;

/// The router clock now (host clock plus simulated advances), seconds since the epoch.
pub fn clock_secs(st: &RouterState) -> u64 {
    (SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        + st.advanced)
        .as_secs()
}

impl RouterState {
    /// Appends a line to the memory log, dropping the oldest beyond [`MEMORY_LINES`].
    pub fn log(&mut self, topics: &str, message: String) {
        let id = self.alloc_id();
        let at = clock_secs(self);
        self.log.push_back(LogEntry {
            id,
            at,
            topics: topics.to_string(),
            message,
        });
        while self.log.len() > MEMORY_LINES {
            self.log.pop_front();
        }
    }

    /// The hotspot's `->: USER (IP): ...` line for a session event.
    pub fn log_hotspot(&mut self, topics: &str, user: &str, address: &str, what: &str) {
        self.log(topics, format!("->: {user} ({address}): {what}"));
    }

    /// `/log/print` rows.
    pub fn log_rows(&self) -> Vec<Row> {
        let now = clock_secs(self);
        let iso = version_at_least(&self.version, 7, 10);
        self.log
            .iter()
            .map(|e| {
                let mut row = Row::new();
                row.insert(".id".into(), fmt_id(e.id));
                row.insert("time".into(), log_time(e.at, now, iso));
                row.insert("topics".into(), e.topics.clone());
                row.insert("message".into(), e.message.clone());
                row
            })
            .collect()
    }
}

/// The `time` column: the time of day for today's lines, with the date before it for older
/// ones (`2024-05-17 12:00:00` from 7.10 on, `may/17 12:00:00` before).
fn log_time(at: u64, now: u64, iso: bool) -> String {
    let t = Duration::from_secs(at % 86_400).as_secs();
    let clock = format!("{:02}:{:02}:{:02}", t / 3600, (t / 60) % 60, t % 60);
    let day = at / 86_400;
    if day == now / 86_400 {
        return clock;
    }
    let d = date_from_days(day as i64);
    if iso {
        format!("{} {clock}", format_date(d))
    } else {
        const MONTHS: [&str; 12] = [
            "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
        ];
        let m = MONTHS
            .get(usize::from(d.month.max(1)) - 1)
            .unwrap_or(&"jan");
        format!("{m}/{:02} {clock}", d.day)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_show_the_date_only_for_older_days() {
        let now = 1_715_968_800; // 2024-05-17 18:00:00 UTC
        assert_eq!(log_time(now - 60, now, true), "17:59:00");
        assert_eq!(log_time(now - 86_400, now, true), "2024-05-16 18:00:00");
        assert_eq!(log_time(now - 86_400, now, false), "may/16 18:00:00");
    }

    #[test]
    fn the_memory_log_keeps_the_newest_lines() {
        let mut st = RouterState::new("r".into(), "7.15.3".into(), "b".into());
        for i in 0..(MEMORY_LINES + 5) {
            st.log("system,info", format!("line {i}"));
        }
        assert_eq!(st.log.len(), MEMORY_LINES);
        assert_eq!(st.log.front().map(|e| e.message.as_str()), Some("line 5"));
    }
}
