//! People and their sessions: accounts, passwords, sessions and the login limits.

use crate::store::*;
use async_trait::async_trait;
use uuid::Uuid;

/// People and their sessions: accounts, passwords, sessions and the login limits.
#[async_trait]
pub trait PeopleStore: Send + Sync {
    /// Create a user (argon2id hash).
    async fn create_user(&self, user: NewUser) -> StoreResult<User>;
    /// A user by id.
    async fn user(&self, id: Uuid) -> StoreResult<Option<User>>;
    /// Check a username and password; `None` if wrong or disabled.
    async fn check_password(&self, username: &str, password: &str) -> StoreResult<Option<User>>;
    /// Number of users (to know whether an admin exists).
    async fn count_users(&self) -> StoreResult<u64>;
    /// Store a new session.
    async fn create_session(&self, session: &Session) -> StoreResult<()>;
    /// A live (unexpired) session.
    async fn session(&self, id: &str, now: i64) -> StoreResult<Option<Session>>;
    /// End one session.
    async fn delete_session(&self, id: &str) -> StoreResult<()>;
    /// End every session of a user.
    async fn delete_user_sessions(&self, user_id: Uuid) -> StoreResult<u64>;
    /// Record one failed login or enrollment attempt at `at` (unix ms) under each of `keys`
    /// (`account:<name>`, `address:<ip>`), in one transaction.
    async fn record_login_failure(&self, keys: &[&str], at: i64) -> StoreResult<()>;
    /// Failed attempts under `key` at or after `since` (unix ms).
    async fn login_failures(&self, key: &str, since: i64) -> StoreResult<u64>;
    /// Forget every failed attempt under `key` (a successful login clears its account).
    async fn clear_login_failures(&self, key: &str) -> StoreResult<()>;
    /// Delete failed attempts older than `before` (unix ms); returns how many went.
    async fn prune_login_failures(&self, before: i64) -> StoreResult<u64>;
    /// Atomically (one write transaction, serialised across replicas): read each key's
    /// failures since its window start (`keys`: key, window start in unix ms), ask `decide`,
    /// and if it allows, record the attempt under every key at `now`, tagged `attempt`, before
    /// any password is checked. Returns what `decide` said.
    async fn reserve_login_attempt(
        &self,
        keys: &[(&str, i64)],
        attempt: &str,
        now: i64,
        decide: &(dyn for<'s> Fn(&'s [AttemptStats]) -> bool + Send + Sync),
    ) -> StoreResult<bool>;
    /// Take back the rows of `attempt` (it succeeded, or was never evaluated) and forget every
    /// failure under each of `clear`, in one transaction.
    async fn release_login_attempt(&self, attempt: &str, clear: &[&str]) -> StoreResult<()>;
    /// Every user's id and username, in one query (pages that name staff read all of them).
    async fn user_names(&self) -> StoreResult<Vec<(Uuid, String)>>;
    /// Every user, by username.
    async fn list_users(&self) -> StoreResult<Vec<User>>;
    /// Change an account (disable/enable, new password, locations), audited in the same
    /// transaction; disabling also ends the user's sessions.
    async fn update_user(
        &self,
        id: Uuid,
        change: UserChange,
        actor: &str,
        now: i64,
    ) -> StoreResult<User>;
}
