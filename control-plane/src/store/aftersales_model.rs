//! Records for after-sales on a sold token (void, replace, extend, reprint, disable, enable).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What is done to a sold token.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    PartialOrd,
    Ord,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum AfterSaleKind {
    /// Taken off the router for good; the cash handed back (if any) is recorded as a refund.
    Void,
    /// Voided, and a new token of the same package made in its place; the sale moves to it.
    Replace,
    /// More time or data.
    Extend,
    /// The same code printed again, marked as a reprint.
    Reprint,
    /// Disabled on the router (and its sessions logged out) until enabled.
    Disable,
    /// Enabled again after a disable.
    Enable,
}

impl AfterSaleKind {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            AfterSaleKind::Void => "void",
            AfterSaleKind::Replace => "replace",
            AfterSaleKind::Extend => "extend",
            AfterSaleKind::Reprint => "reprint",
            AfterSaleKind::Disable => "disable",
            AfterSaleKind::Enable => "enable",
        }
    }

    /// From the stored name.
    pub fn parse(s: &str) -> Option<AfterSaleKind> {
        Some(match s {
            "void" => AfterSaleKind::Void,
            "replace" => AfterSaleKind::Replace,
            "extend" => AfterSaleKind::Extend,
            "reprint" => AfterSaleKind::Reprint,
            "disable" => AfterSaleKind::Disable,
            "enable" => AfterSaleKind::Enable,
            _ => return None,
        })
    }
}

/// Where an after-sale stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AfterSaleState {
    /// A refund above the location's threshold, waiting for a manager.
    Requested,
    /// Carried out (commands queued for the router).
    Done,
    /// A manager refused the request; nothing was done.
    Rejected,
}

impl AfterSaleState {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            AfterSaleState::Requested => "requested",
            AfterSaleState::Done => "done",
            AfterSaleState::Rejected => "rejected",
        }
    }

    /// From the stored name.
    pub fn parse(s: &str) -> Option<AfterSaleState> {
        Some(match s {
            "requested" => AfterSaleState::Requested,
            "done" => AfterSaleState::Done,
            "rejected" => AfterSaleState::Rejected,
            _ => return None,
        })
    }
}

/// The new token a replacement makes.
#[derive(Debug, Clone)]
pub struct ReplacementCode {
    /// Its id.
    pub id: Uuid,
    /// Its code (made by the caller, like any dispense).
    pub code: String,
    /// Its password, used only when the package uses one.
    pub password: Option<String>,
}

/// One after-sale to record and carry out.
#[derive(Debug, Clone)]
pub struct AfterSaleRequest {
    /// Id of the record.
    pub id: Uuid,
    /// The sold token.
    pub token_id: Uuid,
    /// What to do.
    pub kind: AfterSaleKind,
    /// Why, as the person typed it (required, bounded).
    pub reason: String,
    /// Cash handed back, minor units (void only).
    pub refund_minor: i64,
    /// Seconds of connection time to add (extend).
    pub extra_uptime_s: u64,
    /// Bytes to add (extend).
    pub extra_bytes_total: u64,
    /// Who asks.
    pub actor_id: Uuid,
    /// Their username, for the ledger and audit log.
    pub actor_name: String,
    /// A manager or admin: refunds above the threshold are carried out, not requested.
    pub approver: bool,
    /// The new token of a replacement.
    pub replacement: Option<ReplacementCode>,
}

/// A manager's answer to a requested refund.
#[derive(Debug, Clone)]
pub struct AfterSaleDecision {
    /// The request.
    pub id: Uuid,
    /// Carry it out, or refuse it.
    pub approve: bool,
    /// Why (optional, bounded).
    pub note: String,
    /// The manager's username.
    pub actor_name: String,
}

/// An after-sale as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AfterSale {
    /// Id.
    pub id: Uuid,
    /// The sold token.
    pub token_id: Uuid,
    /// Its code, for people.
    pub code: String,
    /// Location of the token.
    pub location_id: Uuid,
    /// What was (or is asked to be) done.
    pub kind: AfterSaleKind,
    /// Why.
    pub reason: String,
    /// Where it stands.
    pub state: AfterSaleState,
    /// Refund, minor units.
    pub refund_minor: i64,
    /// Currency of the refund.
    pub currency: String,
    /// The shift whose till paid the refund.
    pub shift_id: Option<Uuid>,
    /// Time added, seconds.
    pub extra_uptime_s: u64,
    /// Data added, bytes.
    pub extra_bytes_total: u64,
    /// The replacement token.
    pub new_token_id: Option<Uuid>,
    /// Who asked.
    pub requested_by: Uuid,
    /// Their username.
    pub requested_by_name: String,
    /// Who approved or refused a request.
    pub decided_by_name: Option<String>,
    /// The manager's note.
    pub decision_note: Option<String>,
    /// Asked at.
    pub created_at: i64,
    /// Approved or refused at.
    pub decided_at: Option<i64>,
}

/// What an after-sale came to: the record and the router commands to send now.
#[derive(Debug, Clone)]
pub struct AfterSaleOutcome {
    /// The record.
    pub sale: AfterSale,
    /// Commands stored for the router, to publish at once.
    pub commands: Vec<super::StoredCommand>,
}

/// Filters for listing after-sales; all optional.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AfterSaleFilter {
    /// Only this location.
    pub location_id: Option<Uuid>,
    /// Only this token.
    pub token_id: Option<Uuid>,
    /// Only this state.
    pub state: Option<AfterSaleState>,
    /// Asked at or after (unix ms).
    pub from: Option<i64>,
    /// Asked before (unix ms).
    pub to: Option<i64>,
    /// At most this many (default 100, at most 500).
    pub limit: Option<u32>,
    /// Rows to skip (the next page).
    pub offset: Option<u32>,
}
