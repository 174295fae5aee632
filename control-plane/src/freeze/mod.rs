//! Emergency override: an admin freezes dispensing at a location (and thaws it), confirmed
//! twice and audited ([`pages`]); every way of selling a voucher asks [`refuse_frozen`] first.

use crate::app::{AppError, AppResult, AppState};
use uuid::Uuid;

pub mod pages;

/// Refuse to dispense for `staff_id` when their open shift's location is frozen.
pub async fn refuse_frozen(state: &AppState, staff_id: Uuid) -> AppResult<()> {
    let Some(shift) = state.store.open_shift_of(staff_id).await? else {
        return Ok(());
    };
    let frozen = state.store.frozen_locations().await?;
    match frozen.iter().find(|f| f.location_id == shift.location_id) {
        Some(f) => Err(AppError::Refused(
            crate::refusal::Refusal::new("err-frozen").arg("reason", &f.reason),
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests;
