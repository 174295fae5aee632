//! The embedded broker: rumqttd on a loopback port, and the filter in front of it where agents
//! log in.

use crate::mqtt::MqttError;
use crate::store::Store;
use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

/// The server's own broker credentials in embedded mode; made fresh at every start.
#[derive(Clone)]
pub struct InternalCredentials {
    /// Username (not an agent id pattern agents could register: it contains a dot).
    pub username: String,
    /// Random password.
    pub password: String,
}

impl InternalCredentials {
    /// Fresh random credentials.
    pub fn generate() -> Self {
        InternalCredentials {
            username: "mtm.control-plane".into(),
            password: hex::encode(rand::random::<[u8; 32]>()),
        }
    }
}

/// Where a started embedded broker listens.
#[derive(Debug, Clone, Copy)]
pub struct EmbeddedAddrs {
    /// The filter in front of rumqttd, where agents connect.
    pub public: SocketAddr,
    /// rumqttd itself, on loopback, taking only the server's own login.
    pub internal: SocketAddr,
}

/// Start rumqttd on a loopback port and the filter in front of it on `bind`
/// (`broker::filter`): agents log in there with their agent id and MQTT password, checked
/// against the store, and may use their own topics and client id only.
///
/// With `tls`, the filter's listener speaks TLS only.
///
/// rumqttd runs on its own threads and cannot be stopped; it lives as long as the process. The
/// filter runs on the caller's runtime.
pub fn start_embedded(
    bind: SocketAddr,
    store: Arc<dyn Store>,
    internal: InternalCredentials,
    tls: Option<tokio_rustls::TlsAcceptor>,
) -> Result<EmbeddedAddrs, MqttError> {
    let broker_err = |e: std::io::Error| MqttError::Broker(e.to_string());
    let public = TcpListener::bind(bind).map_err(broker_err)?;
    public.set_nonblocking(true).map_err(broker_err)?;
    let public_addr = public.local_addr().map_err(broker_err)?;
    let public = tokio::net::TcpListener::from_std(public).map_err(broker_err)?;
    let internal_addr = {
        // rumqttd does not report the port it bound, so find a free one first.
        let l = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).map_err(broker_err)?;
        l.local_addr().map_err(broker_err)?
    };
    let max_packet = mtm_common::MAX_ENVELOPE_BYTES + 4096;
    let mut connections = rumqttd::ConnectionSettings {
        connection_timeout_ms: 10_000,
        max_payload_size: max_packet,
        max_inflight_count: 200,
        auth: None,
        external_auth: None,
        dynamic_filters: true,
    };
    // Only the server's own login: the filter replaces every agent's login by it, so nothing
    // reaches rumqttd around the filter's rules (not even from this machine).
    let expected = internal.clone();
    connections.set_auth_handler(move |_client_id: String, user: String, pass: String| {
        let ok = user == expected.username
            && super::filter::constant_eq(pass.as_bytes(), expected.password.as_bytes());
        async move { ok }
    });
    let server = rumqttd::ServerSettings {
        name: "mtm-v4".into(),
        listen: internal_addr,
        tls: None,
        next_connection_delay_ms: 1,
        connections,
    };
    let config = rumqttd::Config {
        id: 0,
        router: rumqttd::RouterConfig {
            max_connections: 10_000,
            max_outgoing_packet_count: 200,
            // rumqttd keeps every filter's messages in memory up to this (a reader left behind
            // jumps ahead). Nothing is lost past it: agents publish again what the server has
            // not acknowledged, and the server its commands. 10 × 100 MiB let the server grow
            // past 2 GiB under a backlog; the ingest queue behind it holds 64 MiB.
            max_segment_size: 16 * 1024 * 1024,
            max_segment_count: 4,
            ..Default::default()
        },
        v4: Some(HashMap::from([("1".to_string(), server)])),
        ..Default::default()
    };
    let mut broker = rumqttd::Broker::new(config);
    std::thread::Builder::new()
        .name("mtm-broker".into())
        .spawn(move || {
            if let Err(e) = broker.start() {
                tracing::error!(error = %e, "embedded broker stopped");
            }
        })
        .map_err(|e| MqttError::Broker(e.to_string()))?;
    let filter = super::filter::Filter::new(store, internal, internal_addr, max_packet, tls);
    tokio::spawn(Arc::new(filter).serve(public));
    Ok(EmbeddedAddrs {
        public: public_addr,
        internal: internal_addr,
    })
}
