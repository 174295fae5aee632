//! Ledger and audit chains on PostgreSQL (the logic is in `store/chain.rs`), with a per-chain
//! advisory lock held until commit.

crate::store::chain::chain_fns!(
    conn = sqlx::PgConnection,
    pool = sqlx::PgPool,
    lock = Some("SELECT pg_advisory_xact_lock(hashtext($1))")
);
