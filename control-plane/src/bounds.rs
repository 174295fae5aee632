//! Upper bounds for every number that comes from outside (JSON, forms), and the checked sums of
//! money.
//!
//! Money stays in minor units everywhere; bounding each amount at [`MAX_MONEY_MINOR`] (10^15,
//! ten trillion in a two-decimal currency) keeps any realistic sum far from `i64::MAX`, and the
//! sums themselves are checked so that even an unrealistic one is a clear error, never a panic
//! (debug) or a silent wrap (release). Each refusal is a message of the locales, so a page shows
//! it in its reader's language and the API in English.

use crate::refusal::Refusal;

/// Largest amount of money accepted, minor units.
pub const MAX_MONEY_MINOR: i64 = 1_000_000_000_000_000;
/// Longest duration accepted for package limits and validity: ten years, seconds.
pub const MAX_DURATION_S: u64 = 10 * 366 * 24 * 3600;
/// Largest data quota accepted: one petabyte.
pub const MAX_BYTES: u64 = 1_000_000_000_000_000;
/// Most vouchers one batch may issue (what one router takes in well under ten seconds, and
/// the largest batch common controllers offer).
pub const MAX_BATCH: u32 = 5000;
/// Most users sharing one voucher.
pub const MAX_SHARED_USERS: u32 = 1000;
/// Largest page of a list.
pub const MAX_PAGE: u32 = 500;

/// `v` as money: refused (under the form field labelled `field`, a key of the locales) unless
/// `0 <= v <= MAX_MONEY_MINOR`.
pub fn money(field: &'static str, v: i64) -> Result<i64, Refusal> {
    if (0..=MAX_MONEY_MINOR).contains(&v) {
        Ok(v)
    } else {
        Err(Refusal::new("err-amount-range")
            .arg("max", MAX_MONEY_MINOR)
            .in_field(field))
    }
}

/// A duration in seconds: refused above [`MAX_DURATION_S`].
pub fn duration_s(field: &'static str, v: u64) -> Result<u64, Refusal> {
    if v <= MAX_DURATION_S {
        Ok(v)
    } else {
        Err(Refusal::new("err-duration-range").in_field(field))
    }
}

/// A byte quota: refused above [`MAX_BYTES`].
pub fn bytes(field: &'static str, v: u64) -> Result<u64, Refusal> {
    if v <= MAX_BYTES {
        Ok(v)
    } else {
        Err(Refusal::new("err-data-range").in_field(field))
    }
}

/// `a + b` for money, or a clear refusal instead of an overflow.
pub fn add(a: i64, b: i64) -> Result<i64, Refusal> {
    a.checked_add(b)
        .ok_or_else(|| Refusal::new("err-amounts-overflow"))
}

/// `a - b` for money, or a clear refusal instead of an overflow.
pub fn sub(a: i64, b: i64) -> Result<i64, Refusal> {
    a.checked_sub(b)
        .ok_or_else(|| Refusal::new("err-amounts-overflow"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_bounded_and_sums_are_checked() {
        assert_eq!(money("col-price", 0), Ok(0));
        assert_eq!(money("col-price", MAX_MONEY_MINOR), Ok(MAX_MONEY_MINOR));
        assert!(money("col-price", MAX_MONEY_MINOR + 1).is_err());
        assert!(money("col-price", -1).is_err());
        assert!(money("col-price", i64::MAX).is_err());
        assert!(add(i64::MAX, 1).is_err());
        assert!(sub(i64::MIN, 1).is_err());
        assert_eq!(add(2, 3), Ok(5));
        assert!(duration_s("pk-valid-for", u64::MAX).is_err());
        assert!(bytes("pk-data-limit", u64::MAX).is_err());
    }
}

/// Amounts stored before the bounds existed (or written by hand) must not break a close or a
/// page: the close refuses clearly, the manager pages saturate.
#[cfg(test)]
mod legacy_amounts {
    use crate::store::sql::SqlStore;
    use crate::store::{Store, StoreError};
    use crate::testutil::{seed, test_app};
    use axum::http::StatusCode;
    use std::sync::Arc;

    #[tokio::test]
    async fn an_i64_max_float_or_declared_cash_neither_panics_nor_breaks_pages() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/mtm.db", dir.path().display());
        let sqlite = Arc::new(SqlStore::open(&url).await.unwrap());
        let store: Arc<dyn Store> = sqlite.clone();
        let mut app = test_app().await;
        app.f = seed(store.clone()).await;
        app.state.store = store.clone();
        let (staff, location) = (app.f.staff.id, app.f.location.id);
        let shift = store
            .open_shift(staff, location, 100, "staff")
            .await
            .unwrap();
        sqlx::query("UPDATE shifts SET opening_float_minor = $1 WHERE id = $2")
            .bind(i64::MAX)
            .bind(shift.id.to_string())
            .execute(sqlite.pool())
            .await
            .unwrap();
        // One sale, so the expected cash is float + revenue: beyond i64.
        app.f.issue().await;
        let closed = store.close_shift(staff, 0, "staff").await;
        assert!(matches!(closed, Err(StoreError::Refused(_))), "{closed:?}");
        // A closed shift with absurd stored figures, as a manager page reads them.
        sqlx::query(
            "UPDATE shifts SET closed_at = opened_at + 1, declared_cash_minor = $1,
               expected_cash_minor = $1, variance_minor = $1 WHERE id = $2",
        )
        .bind(i64::MAX)
        .bind(shift.id.to_string())
        .execute(sqlite.pool())
        .await
        .unwrap();
        let (manager, _) = app.login("manager").await;
        for path in ["/manager", "/manager/live", "/manager?format=csv"] {
            let r = app.page("GET", path, Some(&manager), None).await;
            assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
        }
        let loc = format!("/manager/locations/{location}");
        let r = app.page("GET", &loc, Some(&manager), None).await;
        assert_ne!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{loc}");
    }
}
