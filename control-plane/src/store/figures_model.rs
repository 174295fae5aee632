//! Figures computed in SQL (counts and sums), and the cursors exports page through: what the
//! dashboards, shift close and CSV exports read so that they are exact however big the data.

use uuid::Uuid;

/// Which vouchers a figure counts: issued in `[from, to)`, optionally at one location or by one
/// staff member.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FigureFilter {
    /// Only this location.
    pub location_id: Option<Uuid>,
    /// Only this staff member.
    pub staff_id: Option<Uuid>,
    /// Issued at or after (unix ms).
    pub from: i64,
    /// Issued before (unix ms); `None`: up to now.
    pub to: Option<i64>,
}

/// The vouchers one staff member issued at one location, summed by the database.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenFigures {
    /// The location.
    pub location_id: Uuid,
    /// The staff member.
    pub staff_id: Uuid,
    /// Vouchers issued.
    pub issued: u64,
    /// Of these, the ones a customer has logged in with.
    pub used: u64,
    /// Their price, minor units.
    pub expected_minor: i64,
    /// The part whose shift is closed (its cash counted), minor units.
    pub confirmed_minor: i64,
}

/// The cash variance of one staff member's closed shifts at one location, summed by the database.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShiftFigures {
    /// The location.
    pub location_id: Uuid,
    /// The staff member.
    pub staff_id: Uuid,
    /// Shifts opened in the window.
    pub shifts: u64,
    /// Declared minus expected cash over those closed (negative: short), minor units.
    pub variance_minor: i64,
}

/// Where a newest-first export stopped: the last row's time and id. The next page holds the
/// rows after it in the same order (`created_at DESC, id`), so rows added meanwhile never shift
/// a page and none is read twice or skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// The last row's `created_at` (unix ms).
    pub created_at: i64,
    /// The last row's id.
    pub id: Uuid,
}
