//! The admin console: its home (settings, database counts, the chain check), the audit and
//! event logs, and the routers page, where routers, locations and packages are listed and their
//! forms sit (the forms post to their own features).

mod home;
mod logs;
mod routers;

pub(crate) use routers::{routers_page, NewCode, NewLogin, Shown};

use crate::app::AppState;
use axum::Router;

/// The console's routes.
pub fn router() -> Router<AppState> {
    home::router()
        .merge(logs::router())
        .merge(routers::router())
}

#[cfg(test)]
mod tests;
