//! Ledger and audit chains on SQLite (the logic is in `store/chain.rs`); the store's write lock
//! serialises appends.

crate::store::chain::chain_fns!(
    conn = sqlx::SqliteConnection,
    pool = sqlx::SqlitePool,
    lock = None
);
