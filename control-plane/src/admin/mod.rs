//! The admin console's pages that span features: the routers page, where routers, locations
//! and packages are listed and their forms sit (the forms post to their own features).

mod routers;

pub(crate) use routers::{routers_page, NewCode, NewLogin, Shown};

use crate::app::AppState;
use axum::Router;

/// The console's routes.
pub fn router() -> Router<AppState> {
    routers::router()
}
