//! Reading rows back into records; a value that does not parse or does not fit is a `Corrupt`
//! error, not a panic or a silently wrapped number.

use crate::store::*;
use sqlx::any::AnyRow;
use sqlx::Row;

/// A stored count, size or sequence number as `u64`: a negative value is `Corrupt`, never a
/// wrapped 18-quintillion.
pub(crate) fn stored_u64(what: &str, v: i64) -> StoreResult<u64> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("{what}: {v} is negative")))
}

/// A small stored count (shared users, attempts, sessions) as `u32`: out of range is `Corrupt`.
pub(crate) fn stored_u32(what: &str, v: i64) -> StoreResult<u32> {
    u32::try_from(v).map_err(|_| StoreError::Corrupt(format!("{what}: {v} is out of range")))
}

/// A stored id column as a `Uuid`.
pub(crate) fn uuid_col(row: &AnyRow, col: &str) -> StoreResult<Uuid> {
    let s: String = row.try_get(col)?;
    Uuid::parse_str(&s).map_err(|_| StoreError::Corrupt(format!("{col}: not a uuid")))
}

/// A nullable stored id column.
pub(crate) fn opt_uuid_col(row: &AnyRow, col: &str) -> StoreResult<Option<Uuid>> {
    let s: Option<String> = row.try_get(col)?;
    s.map(|s| Uuid::parse_str(&s).map_err(|_| StoreError::Corrupt(format!("{col}: not a uuid"))))
        .transpose()
}

/// A stored count column (see [`stored_u64`]).
pub(crate) fn u64_col(row: &AnyRow, col: &str) -> StoreResult<u64> {
    stored_u64(col, row.try_get(col)?)
}

/// A nullable stored count column.
pub(crate) fn opt_u64(row: &AnyRow, col: &str) -> StoreResult<Option<u64>> {
    let v: Option<i64> = row.try_get(col)?;
    v.map(|v| stored_u64(col, v)).transpose()
}

/// A small stored count column (see [`stored_u32`]).
pub(crate) fn u32_col(row: &AnyRow, col: &str) -> StoreResult<u32> {
    stored_u32(col, row.try_get(col)?)
}

pub(crate) fn router_from_row(r: &AnyRow) -> StoreResult<Router> {
    Ok(Router {
        id: uuid_col(r, "id")?,
        location_id: uuid_col(r, "location_id")?,
        name: r.try_get("name")?,
        agent_id: r.try_get("agent_id")?,
        public_key_hex: r.try_get("public_key_hex")?,
        created_at: r.try_get("created_at")?,
        last_seen: r.try_get("last_seen")?,
        online: r.try_get::<i64, _>("online")? != 0,
        last_seq: u64_col(r, "last_seq")?,
        catalog_version: opt_u64(r, "catalog_version")?,
        agent_version: r.try_get("agent_version")?,
    })
}

pub(crate) fn package_from_row(r: &AnyRow) -> StoreResult<Package> {
    Ok(Package {
        id: uuid_col(r, "id")?,
        slug: r.try_get("slug")?,
        name: r.try_get("name")?,
        price_minor: r.try_get("price_minor")?,
        currency: r.try_get("currency")?,
        limit_uptime_s: opt_u64(r, "limit_uptime_s")?,
        limit_bytes_total: opt_u64(r, "limit_bytes_total")?,
        rate_limit: r.try_get("rate_limit")?,
        shared_users: u32_col(r, "shared_users")?,
        validity_s: opt_u64(r, "validity_s")?,
        uses_password: r.try_get::<i64, _>("uses_password")? != 0,
        lock_to_mac: r.try_get::<i64, _>("lock_to_mac")? != 0,
        active: r.try_get::<i64, _>("active")? != 0,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

pub(crate) fn shift_from_row(r: &AnyRow) -> StoreResult<Shift> {
    Ok(Shift {
        id: uuid_col(r, "id")?,
        staff_id: uuid_col(r, "staff_id")?,
        location_id: uuid_col(r, "location_id")?,
        opened_at: r.try_get("opened_at")?,
        opening_float_minor: r.try_get("opening_float_minor")?,
        closed_at: r.try_get("closed_at")?,
        declared_cash_minor: r.try_get("declared_cash_minor")?,
        expected_cash_minor: r.try_get("expected_cash_minor")?,
        variance_minor: r.try_get("variance_minor")?,
    })
}

/// Tokens are always read with their package slug.
pub(crate) const TOKEN_SELECT: &str =
    "SELECT t.*, p.slug AS package_slug FROM tokens t JOIN packages p ON p.id = t.package_id";

pub(crate) fn token_from_row(r: &AnyRow) -> StoreResult<Token> {
    let state: String = r.try_get("state")?;
    Ok(Token {
        id: uuid_col(r, "id")?,
        code: r.try_get("code")?,
        password: r.try_get("password")?,
        package_id: uuid_col(r, "package_id")?,
        package_slug: r.try_get("package_slug")?,
        staff_id: uuid_col(r, "staff_id")?,
        location_id: uuid_col(r, "location_id")?,
        router_id: uuid_col(r, "router_id")?,
        shift_id: opt_uuid_col(r, "shift_id")?,
        price_minor: r.try_get("price_minor")?,
        currency: r.try_get("currency")?,
        state: TokenState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("token state {state}")))?,
        created_at: r.try_get("created_at")?,
        applied_at: r.try_get("applied_at")?,
        first_login_at: r.try_get("first_login_at")?,
        expired_at: r.try_get("expired_at")?,
        uptime_s: u64_col(r, "uptime_s")?,
        bytes_in: u64_col(r, "bytes_in")?,
        bytes_out: u64_col(r, "bytes_out")?,
        extra_uptime_s: u64_col(r, "extra_uptime_s")?,
        extra_bytes_total: u64_col(r, "extra_bytes_total")?,
        reprints: u32_col(r, "reprints")?,
        replaces: opt_uuid_col(r, "replaces")?,
        lock_to_mac: r.try_get::<i64, _>("lock_to_mac")? != 0,
        bound_mac: r.try_get("bound_mac")?,
        mac_bound_at: r.try_get("mac_bound_at")?,
    })
}

pub(crate) fn command_from_row(r: &AnyRow) -> StoreResult<StoredCommand> {
    let payload: Vec<u8> = r.try_get("payload")?;
    let kind = mtm_common::envelope::from_cbor(&payload)
        .map_err(|e| StoreError::Corrupt(format!("command payload: {e}")))?;
    Ok(StoredCommand {
        id: uuid_col(r, "id")?,
        agent_id: r.try_get("agent_id")?,
        issued_at: r.try_get("issued_at")?,
        kind,
        state: r.try_get("state")?,
        attempts: u32_col(r, "attempts")?,
    })
}
