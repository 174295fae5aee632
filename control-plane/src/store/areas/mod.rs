//! The store's methods in six areas, one trait each; [`Store`](super::Store) is all of them.

mod admin;
mod alerts;
mod catalog;
mod ingest;
mod people;
mod sales;

pub use admin::AdminStore;
pub use alerts::AlertStore;
pub use catalog::CatalogStore;
pub use ingest::IngestStore;
pub use people::PeopleStore;
pub use sales::SalesStore;
