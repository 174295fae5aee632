//! Row readers for PostgreSQL rows (the mapping itself is in `store/rows.rs`).

crate::store::rows::row_readers!(sqlx::postgres::PgRow);
