//! Rebuilds the server when a migration is added or changed: `sqlx::migrate!` embeds them when
//! the crate compiles, and Cargo does not otherwise know that it reads that folder.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
