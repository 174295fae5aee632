//! Reading rows back into records: each table's row is a typed `FromRow` struct as stored, and
//! its `TryFrom` makes the record; a value that does not parse or does not fit is a `Corrupt`
//! error, not a panic or a silently wrapped number.

use crate::store::*;
use sqlx::any::AnyRow;
use sqlx::{FromRow, Row};

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

/// A stored id as a `Uuid`.
pub(crate) fn id(what: &str, s: String) -> StoreResult<Uuid> {
    Uuid::parse_str(&s).map_err(|_| StoreError::Corrupt(format!("{what}: not a uuid")))
}

/// A nullable stored id.
pub(crate) fn opt_id(what: &str, s: Option<String>) -> StoreResult<Option<Uuid>> {
    s.map(|s| id(what, s)).transpose()
}

/// A nullable stored count (see [`stored_u64`]).
pub(crate) fn opt_count(what: &str, v: Option<i64>) -> StoreResult<Option<u64>> {
    v.map(|v| stored_u64(what, v)).transpose()
}

/// A stored name of an enum value, parsed by `parse`; an unknown name is `Corrupt`.
pub(crate) fn named<T>(what: &str, s: &str, parse: impl Fn(&str) -> Option<T>) -> StoreResult<T> {
    parse(s).ok_or_else(|| StoreError::Corrupt(format!("{what} {s}")))
}

/// Users are read without their password hash: only `check_password` needs it.
pub(crate) const USER_SELECT: &str =
    "SELECT id, username, role, disabled, language, created_at FROM users";

/// A `users` row as stored (the password hash is never read into a record; the user's
/// locations are a table of their own).
#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    pub(crate) id: String,
    pub(crate) username: String,
    pub(crate) role: String,
    pub(crate) disabled: i64,
    pub(crate) language: Option<String>,
    pub(crate) created_at: i64,
}

/// A `routers` row as stored (booleans are 0/1 integers, counts signed).
#[derive(sqlx::FromRow)]
pub(crate) struct RouterRow {
    id: String,
    location_id: String,
    name: String,
    agent_id: String,
    public_key_hex: String,
    created_at: i64,
    last_seen: Option<i64>,
    online: i64,
    last_seq: i64,
    catalog_version: Option<i64>,
    agent_version: Option<String>,
}

impl TryFrom<RouterRow> for Router {
    type Error = StoreError;

    fn try_from(r: RouterRow) -> StoreResult<Router> {
        Ok(Router {
            id: id("router id", r.id)?,
            location_id: id("router location_id", r.location_id)?,
            name: r.name,
            agent_id: r.agent_id,
            public_key_hex: r.public_key_hex,
            created_at: r.created_at,
            last_seen: r.last_seen,
            online: r.online != 0,
            last_seq: stored_u64("last_seq", r.last_seq)?,
            catalog_version: opt_count("catalog_version", r.catalog_version)?,
            agent_version: r.agent_version,
        })
    }
}

/// A location row.
pub(crate) fn location_from_row(r: &AnyRow) -> StoreResult<Location> {
    Ok(Location {
        id: uuid_col(r, "id")?,
        name: r.try_get("name")?,
        timezone: r.try_get("timezone")?,
        created_at: r.try_get("created_at")?,
    })
}

/// A router read from any query that selects the `routers` columns.
pub(crate) fn router_from_row(r: &AnyRow) -> StoreResult<Router> {
    RouterRow::from_row(r)?.try_into()
}

/// A `packages` row as stored.
#[derive(sqlx::FromRow)]
pub(crate) struct PackageRow {
    id: String,
    slug: String,
    name: String,
    price_minor: i64,
    currency: String,
    limit_uptime_s: Option<i64>,
    limit_bytes_total: Option<i64>,
    rate_limit: Option<String>,
    shared_users: i64,
    validity_s: Option<i64>,
    uses_password: i64,
    lock_to_mac: i64,
    active: i64,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<PackageRow> for Package {
    type Error = StoreError;

    fn try_from(r: PackageRow) -> StoreResult<Package> {
        Ok(Package {
            id: id("package id", r.id)?,
            slug: r.slug,
            name: r.name,
            price_minor: r.price_minor,
            currency: r.currency,
            limit_uptime_s: opt_count("limit_uptime_s", r.limit_uptime_s)?,
            limit_bytes_total: opt_count("limit_bytes_total", r.limit_bytes_total)?,
            rate_limit: r.rate_limit,
            shared_users: stored_u32("shared_users", r.shared_users)?,
            validity_s: opt_count("validity_s", r.validity_s)?,
            uses_password: r.uses_password != 0,
            lock_to_mac: r.lock_to_mac != 0,
            active: r.active != 0,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

/// A package read from any query that selects the `packages` columns.
pub(crate) fn package_from_row(r: &AnyRow) -> StoreResult<Package> {
    PackageRow::from_row(r)?.try_into()
}

/// A `shifts` row as stored.
#[derive(sqlx::FromRow)]
pub(crate) struct ShiftRow {
    id: String,
    staff_id: String,
    location_id: String,
    opened_at: i64,
    opening_float_minor: i64,
    closed_at: Option<i64>,
    declared_cash_minor: Option<i64>,
    expected_cash_minor: Option<i64>,
    variance_minor: Option<i64>,
}

impl TryFrom<ShiftRow> for Shift {
    type Error = StoreError;

    fn try_from(r: ShiftRow) -> StoreResult<Shift> {
        Ok(Shift {
            id: id("shift id", r.id)?,
            staff_id: id("shift staff_id", r.staff_id)?,
            location_id: id("shift location_id", r.location_id)?,
            opened_at: r.opened_at,
            opening_float_minor: r.opening_float_minor,
            closed_at: r.closed_at,
            declared_cash_minor: r.declared_cash_minor,
            expected_cash_minor: r.expected_cash_minor,
            variance_minor: r.variance_minor,
        })
    }
}

/// A shift read from any query that selects the `shifts` columns.
pub(crate) fn shift_from_row(r: &AnyRow) -> StoreResult<Shift> {
    ShiftRow::from_row(r)?.try_into()
}

/// Tokens are always read with their package slug.
pub(crate) const TOKEN_SELECT: &str =
    "SELECT t.*, p.slug AS package_slug FROM tokens t JOIN packages p ON p.id = t.package_id";

/// A `tokens` row as stored, with its package's slug ([`TOKEN_SELECT`]).
#[derive(sqlx::FromRow)]
pub(crate) struct TokenRow {
    id: String,
    code: String,
    password: Option<String>,
    package_id: String,
    package_slug: String,
    staff_id: String,
    location_id: String,
    router_id: String,
    shift_id: Option<String>,
    price_minor: i64,
    currency: String,
    state: String,
    created_at: i64,
    applied_at: Option<i64>,
    first_login_at: Option<i64>,
    expired_at: Option<i64>,
    uptime_s: i64,
    bytes_in: i64,
    bytes_out: i64,
    extra_uptime_s: i64,
    extra_bytes_total: i64,
    reprints: i64,
    replaces: Option<String>,
    lock_to_mac: i64,
    bound_mac: Option<String>,
    mac_bound_at: Option<i64>,
}

impl TryFrom<TokenRow> for Token {
    type Error = StoreError;

    fn try_from(r: TokenRow) -> StoreResult<Token> {
        Ok(Token {
            id: id("token id", r.id)?,
            code: r.code,
            password: r.password,
            package_id: id("token package_id", r.package_id)?,
            package_slug: r.package_slug,
            staff_id: id("token staff_id", r.staff_id)?,
            location_id: id("token location_id", r.location_id)?,
            router_id: id("token router_id", r.router_id)?,
            shift_id: opt_id("token shift_id", r.shift_id)?,
            price_minor: r.price_minor,
            currency: r.currency,
            state: named("token state", &r.state, TokenState::parse)?,
            created_at: r.created_at,
            applied_at: r.applied_at,
            first_login_at: r.first_login_at,
            expired_at: r.expired_at,
            uptime_s: stored_u64("uptime_s", r.uptime_s)?,
            bytes_in: stored_u64("bytes_in", r.bytes_in)?,
            bytes_out: stored_u64("bytes_out", r.bytes_out)?,
            extra_uptime_s: stored_u64("extra_uptime_s", r.extra_uptime_s)?,
            extra_bytes_total: stored_u64("extra_bytes_total", r.extra_bytes_total)?,
            reprints: stored_u32("reprints", r.reprints)?,
            replaces: opt_id("token replaces", r.replaces)?,
            lock_to_mac: r.lock_to_mac != 0,
            bound_mac: r.bound_mac,
            mac_bound_at: r.mac_bound_at,
        })
    }
}

/// A voucher read from a [`TOKEN_SELECT`] row.
pub(crate) fn token_from_row(r: &AnyRow) -> StoreResult<Token> {
    TokenRow::from_row(r)?.try_into()
}

/// A `commands` row as stored: the command's kind is its CBOR payload.
#[derive(sqlx::FromRow)]
pub(crate) struct CommandRow {
    id: String,
    agent_id: String,
    issued_at: i64,
    payload: Vec<u8>,
    state: String,
    attempts: i64,
}

impl TryFrom<CommandRow> for StoredCommand {
    type Error = StoreError;

    fn try_from(r: CommandRow) -> StoreResult<StoredCommand> {
        let kind = mtm_common::envelope::from_cbor(&r.payload)
            .map_err(|e| StoreError::Corrupt(format!("command payload: {e}")))?;
        Ok(StoredCommand {
            id: id("command id", r.id)?,
            agent_id: r.agent_id,
            issued_at: r.issued_at,
            kind,
            state: r.state,
            attempts: stored_u32("attempts", r.attempts)?,
        })
    }
}

/// A command read from any query that selects the `commands` columns.
pub(crate) fn command_from_row(r: &AnyRow) -> StoreResult<StoredCommand> {
    CommandRow::from_row(r)?.try_into()
}
