//! Ending a revoked agent's open session on the embedded broker, which checks passwords only at
//! login.

use std::net::SocketAddr;

/// Take over `agent_id`'s client id on the embedded broker, which disconnects its session, then
/// leave. A failure is logged: the revoked device can still not log in again or send anything
/// the server accepts.
pub(crate) async fn evict(broker: SocketAddr, agent_id: &str, user: &str, password: &str) {
    let mut opts = rumqttc::MqttOptions::new(
        // MQTT drops an older session when another connects with the same client id.
        mtm_common::topics::client_id(agent_id),
        broker.ip().to_string(),
        broker.port(),
    );
    opts.set_credentials(user, password);
    opts.set_clean_session(true);
    let (client, mut events) = rumqttc::AsyncClient::new(opts, 4);
    let connected = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        loop {
            match events.poll().await {
                Ok(rumqttc::Event::Incoming(rumqttc::Packet::ConnAck(a))) => {
                    return a.code == rumqttc::ConnectReturnCode::Success;
                }
                Ok(_) => {}
                Err(_) => return false,
            }
        }
    })
    .await
    .unwrap_or(false);
    if connected {
        let _ = client.disconnect().await;
        // Drive the event loop until the disconnect is written.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), async {
            while events.poll().await.is_ok() {}
        })
        .await;
    } else {
        tracing::warn!(
            agent = agent_id,
            "could not evict the revoked agent's MQTT session"
        );
    }
}
