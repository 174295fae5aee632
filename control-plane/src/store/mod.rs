//! The store: six area traits (`areas/`) that together make [`Store`], one implementation over
//! SQL for SQLite and PostgreSQL (`sql/`), one conformance suite run on both.

mod aftersales_model;
pub mod applied;
mod areas;
mod batch_model;
mod check_model;
pub mod credentials;
mod every;
mod figures_model;
mod model;
mod notify_model;
mod package_model;
mod pages_model;
mod reconcile_model;
pub mod sql;
#[cfg(test)]
pub(crate) mod suite;
#[cfg(test)]
pub(crate) mod suite_aftersales;
#[cfg(test)]
pub(crate) mod suite_batch;
#[cfg(test)]
pub(crate) mod suite_expiry;
#[cfg(test)]
pub(crate) mod suite_location_reads;
#[cfg(test)]
pub(crate) mod suite_login_limits;
#[cfg(test)]
pub(crate) mod suite_mac_lock;
#[cfg(test)]
pub(crate) mod suite_reconcile;
#[cfg(test)]
pub(crate) mod suite_shared_commit;
#[cfg(test)]
pub(crate) mod suite_usage_totals;

pub use aftersales_model::*;
pub use areas::*;
pub use batch_model::*;
pub use check_model::*;
pub use every::{every_after_sale, every_alert, every_shift, every_token};
pub use figures_model::*;
pub use model::*;
pub use notify_model::*;
pub use package_model::*;
pub use pages_model::*;
pub use reconcile_model::*;

use async_trait::async_trait;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use uuid::Uuid;

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The thing asked for does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The change conflicts with what is stored (duplicate name, shift already open, ...).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The request is not allowed in the current state (no open shift, no router, ...).
    #[error("{0}")]
    Invalid(String),
    /// Like [`StoreError::Invalid`], named as a message of the locales so that a page shows
    /// it in its reader's language (English in logs and over the API).
    #[error("{0}")]
    Refused(crate::refusal::Refusal),
    /// Like [`StoreError::Conflict`], named as a message of the locales.
    #[error("conflict: {0}")]
    RefusedConflict(crate::refusal::Refusal),
    /// Messages signed with a key the router no longer has: their seqs are the old device's.
    #[error("signed with a key the router no longer has")]
    KeyReplaced,
    /// A stored value could not be read back (corrupt or foreign data).
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// The database failed.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// Migrations failed.
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Password hashing failed.
    #[error("password hash: {0}")]
    Hash(String),
}

/// Short form of store results.
pub type StoreResult<T> = Result<T, StoreError>;

/// Everything the control plane keeps, each method atomic: the six area traits together.
/// Features hold an `Arc<dyn Store>` and call any area's methods on it; an operation that needs
/// one area can take that trait.
pub trait Store:
    PeopleStore + CatalogStore + SalesStore + IngestStore + AlertStore + AdminStore
{
}

impl<T: PeopleStore + CatalogStore + SalesStore + IngestStore + AlertStore + AdminStore> Store
    for T
{
}

/// Open the store a database URL names (`sqlite://...` or `postgres://...`), running migrations.
pub async fn open(url: &str) -> StoreResult<Arc<dyn Store>> {
    Ok(Arc::new(sql::SqlStore::open(url).await?))
}

/// The hash chained into the next row: sha256(prev_hash || canonical content), hex.
pub fn chain_hash(prev_hash: &str, content: &str) -> String {
    let mut h = Sha256::new();
    h.update(prev_hash.as_bytes());
    h.update(b"\n");
    h.update(content.as_bytes());
    hex::encode(h.finalize())
}

/// The hash before the first row.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Canonical content of a ledger row (JSON array: unambiguous for any field values).
pub fn ledger_content(
    id: i64,
    token_id: &str,
    event: &str,
    detail: &str,
    actor: &str,
    at: i64,
) -> String {
    serde_json::json!([id, token_id, event, detail, actor, at]).to_string()
}

/// Canonical content of an audit row.
pub fn audit_content(
    id: i64,
    at: i64,
    actor: &str,
    action: &str,
    target: &str,
    detail: &str,
) -> String {
    serde_json::json!([id, at, actor, action, target, detail]).to_string()
}

/// SHA-256 hex of an MQTT password. Agent passwords are 32 random bytes, so a fast hash is
/// enough (no dictionary to guard against) and keeps every broker connect cheap.
pub fn mqtt_password_hash(password: &str) -> String {
    hex::encode(Sha256::digest(password.as_bytes()))
}

/// argon2id hash of a user password.
pub fn hash_password(password: &str) -> StoreResult<String> {
    use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
    let salt = SaltString::generate(&mut OsRng);
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| StoreError::Hash(e.to_string()))
}

/// Check a password against an argon2 hash.
pub fn verify_password(password: &str, hash: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(hash)
        .map(|h| {
            argon2::Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Map unique and foreign-key violations to clear errors; anything else stays a database error.
/// `what` names the row (`user`, `router`, ...); the refusal names it in the reader's language.
pub(crate) fn conflict_on_unique(e: sqlx::Error, what: &str) -> StoreError {
    use crate::refusal::Refusal;
    // Each thing has its own sentence: the words around it change with it in French.
    let (exists, noun) = match what {
        "user" => ("err-exists-user", "noun-user"),
        "user location" => ("err-exists-user-location", "noun-user-location"),
        "router" => ("err-exists-router", "noun-router"),
        "package" => ("err-exists-package", "noun-package"),
        "location" => ("err-exists-location", "noun-location"),
        "enrollment code" => ("err-exists-enrollment-code", "noun-enrollment-code"),
        _ => ("", ""),
    };
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            if exists.is_empty() {
                StoreError::Conflict(format!("{what} already exists"))
            } else {
                StoreError::RefusedConflict(Refusal::new(exists))
            }
        }
        sqlx::Error::Database(d) if d.is_foreign_key_violation() => {
            if noun.is_empty() {
                StoreError::Invalid(format!("{what} refers to something that does not exist"))
            } else {
                StoreError::Refused(
                    Refusal::new("err-refers-to-nothing").arg_message("what", Refusal::new(noun)),
                )
            }
        }
        _ => StoreError::Db(e),
    }
}

/// The stored name of a command's kind.
pub fn command_kind_name(kind: &mtm_common::CommandKind) -> &'static str {
    use mtm_common::CommandKind as K;
    match kind {
        K::CreateToken(_) => "create_token",
        K::DisableToken { .. } => "disable_token",
        K::EnableToken { .. } => "enable_token",
        K::RemoveToken { .. } => "remove_token",
        K::LogoutToken { .. } => "logout_token",
        K::LogoutAll => "logout_all",
        K::DisableAll => "disable_all",
        K::ApplyCatalog(_) => "apply_catalog",
        K::Resync => "resync",
        K::UpdateAgent(_) => "update_agent",
        K::ExtendToken(_) => "extend_token",
        K::CreateTokens(_) => "create_tokens",
        K::TrackValidity(_) => "track_validity",
    }
}

/// Unix milliseconds now.
pub fn now_ms() -> i64 {
    let now = time::OffsetDateTime::now_utc();
    i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// What redeeming an enrollment code found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redeemed {
    /// Enrolled: the router now carries the new key and MQTT password.
    Enrolled(Router),
    /// No such code.
    Unknown,
    /// The code was used before.
    Used,
    /// A newer code for the same router (or a revocation) replaced it.
    Replaced,
    /// The code expired.
    Expired,
}

/// Enrollment facts of one router.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct EnrollmentState {
    /// Last enrollment with a code.
    pub enrolled_at: Option<i64>,
    /// Revoked at (cleared by the next enrollment).
    pub revoked_at: Option<i64>,
    /// Expiry of the router's live (unused) code, if it has one.
    pub open_code_expires_at: Option<i64>,
}

/// SHA-256 hex of an enrollment code, as stored. Codes are random and expire within hours, so a
/// fast hash is enough; the code is upper-cased first, since technicians type it.
pub fn enrollment_code_hash(code: &str) -> String {
    let normal: String = code
        .trim()
        .chars()
        .filter(|c| *c != '-' && *c != ' ')
        .collect::<String>()
        .to_uppercase();
    hex::encode(Sha256::digest(format!("mtm-enroll:{normal}").as_bytes()))
}
