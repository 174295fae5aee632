//! `/system/resource` figures for the simulated router.

use std::time::Duration;

use super::state::RouterState;
use super::Row;
use crate::values::format_duration;

impl RouterState {
    /// `/system/resource` figures; cpu load and free memory wander a little on every read.
    pub fn resource_row(&mut self) -> Row {
        let load = self.rand() % 23;
        let total: u64 = 1024 * 1024 * 1024;
        let free =
            total / 2 + (self.rand() % (64 * 1024 * 1024)) - (self.sessions.len() as u64 * 4096);
        let mut row = Row::new();
        row.insert(
            "uptime".into(),
            format_duration(Duration::from_secs(self.uptime().as_secs())),
        );
        row.insert("version".into(), self.version.clone());
        row.insert("build-time".into(), "2024-06-01 10:00:00".into());
        row.insert("factory-software".into(), "7.5".into());
        row.insert("free-memory".into(), free.to_string());
        row.insert("total-memory".into(), total.to_string());
        row.insert("cpu".into(), "ARM64".into());
        row.insert("cpu-count".into(), "4".into());
        row.insert("cpu-frequency".into(), "864".into());
        row.insert("cpu-load".into(), load.to_string());
        row.insert("free-hdd-space".into(), "93577216".into());
        row.insert("total-hdd-space".into(), "134217728".into());
        row.insert("write-sect-since-reboot".into(), "1543".into());
        row.insert("write-sect-total".into(), "93111".into());
        row.insert("architecture-name".into(), "arm64".into());
        row.insert("board-name".into(), self.board_name.clone());
        row.insert("platform".into(), "MikroTik".into());
        row
    }
}
