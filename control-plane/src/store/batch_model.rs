//! Batch dispensing: many vouchers of one package issued together at a staff member's shift,
//! stored in one transaction and sent to the router as a few `CreateTokens` commands.

use super::{StoredCommand, Token};
use uuid::Uuid;

/// One voucher of a batch, its code and password drawn by the caller.
#[derive(Debug, Clone)]
pub struct NewVoucher {
    /// Fresh token id.
    pub id: Uuid,
    /// Voucher code (unique).
    pub code: String,
    /// Password, kept only if the package uses one.
    pub password: Option<String>,
}

/// A batch to issue: every voucher gets exactly what a single sale gets (ledger entry, revenue
/// record, audit row), all in one transaction with the commands that carry them.
#[derive(Debug, Clone)]
pub struct IssueBatch {
    /// Fresh batch id (`tokens.batch_id`).
    pub batch_id: Uuid,
    /// Package of every voucher.
    pub package_id: Uuid,
    /// Staff member issuing it (must have an open shift).
    pub staff_id: Uuid,
    /// Staff member's username, for the ledger and audit.
    pub staff_username: String,
    /// The vouchers, at most [`crate::bounds::MAX_BATCH`].
    pub vouchers: Vec<NewVoucher>,
}

/// What issuing a batch stored.
#[derive(Debug, Clone)]
pub struct IssuedBatch {
    /// The batch id the vouchers share.
    pub batch_id: Uuid,
    /// The vouchers, in the order asked.
    pub tokens: Vec<Token>,
    /// The `CreateTokens` commands carrying them (at most
    /// [`mtm_common::MAX_TOKENS_PER_COMMAND`] vouchers each), to send at once.
    pub commands: Vec<StoredCommand>,
}

/// How far a batch has got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct BatchProgress {
    /// The batch.
    pub batch_id: Uuid,
    /// Staff member who issued it.
    pub staff_id: Uuid,
    /// Vouchers in it.
    pub total: u64,
    /// Vouchers the router has confirmed.
    pub on_router: u64,
}
