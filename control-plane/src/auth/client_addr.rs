//! The client's address as the attempt limits count it.

use super::*;
use axum::extract::ConnectInfo;
use std::net::SocketAddr;

/// The client's address bucket for the attempt limits: the peer, or the address a trusted
/// reverse proxy forwarded (see [`RateLimiter::client`]).
pub struct ClientAddr(pub String);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0);
        Ok(ClientAddr(state.limiter.client(peer, &parts.headers)))
    }
}
