//! Row readers for SQLite rows (the mapping itself is in `store/rows.rs`).

crate::store::rows::row_readers!(sqlx::sqlite::SqliteRow);
