//! Records of the admin console's store calls: account changes, log rows, database figures.

use serde::Serialize;
use uuid::Uuid;

/// A change to a user's account; `None` leaves that part as it is.
#[derive(Debug, Clone, Default)]
pub struct UserChange {
    /// Disable (true) or enable (false); disabling also ends every session of the user.
    pub disabled: Option<bool>,
    /// A new password (hashed by the store, never logged or audited).
    pub password: Option<String>,
    /// The user's locations, replacing the old ones.
    pub location_ids: Option<Vec<Uuid>>,
    /// Their language: `Some(None)` to follow the browser again.
    pub language: Option<Option<String>>,
}

/// Which append-only log to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogTable {
    /// What people did (`audit_log`).
    Audit,
    /// What happened to tokens (`token_ledger`).
    Ledger,
}

/// One row of the audit log or token ledger, in one shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogRow {
    /// Row id (position in the chain).
    pub id: i64,
    /// When, unix ms.
    pub at: i64,
    /// Who.
    pub actor: String,
    /// Audit action, or ledger event.
    pub action: String,
    /// Audit target, or the token id.
    pub target: String,
    /// Details, JSON text.
    pub detail: String,
}

/// Rows in one table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableCount {
    /// Table name.
    pub name: String,
    /// Rows.
    pub rows: u64,
}

/// What the database view shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableStats {
    /// Database size on disk, bytes.
    pub size_bytes: u64,
    /// Open connections (PostgreSQL: to this database; SQLite: in the pool).
    pub connections: u64,
    /// Rows per table.
    pub tables: Vec<TableCount>,
}

/// The tables the database view counts (a fixed list: names are put into SQL).
pub const COUNTED_TABLES: &[&str] = &[
    "users",
    "sessions",
    "locations",
    "routers",
    "packages",
    "shifts",
    "tokens",
    "token_ledger",
    "usage",
    "revenue_records",
    "alerts",
    "audit_log",
    "agent_commands",
];

/// Which shifts to list.
#[derive(Debug, Clone, Default)]
pub struct ShiftFilter {
    /// At this location.
    pub location_id: Option<Uuid>,
    /// Of this staff member.
    pub staff_id: Option<Uuid>,
    /// Opened at or after (unix ms).
    pub from: Option<i64>,
    /// At most this many (default 200).
    pub limit: Option<u32>,
    /// Rows to skip (the next page).
    pub offset: Option<u32>,
}

/// A location where dispensing is frozen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LocationFreeze {
    /// The location.
    pub location_id: Uuid,
    /// Since when, unix ms.
    pub frozen_at: i64,
    /// Who froze it.
    pub frozen_by: String,
    /// Why.
    pub reason: String,
}
