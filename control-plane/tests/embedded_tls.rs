//! TLS on the embedded broker's listener (`mqtt_tls`): the server makes its certificate at the
//! first start and keeps it, enrollment hands out its SHA-256, and the agent's own MQTT options
//! (`mtm_agent::mqtt::options`) connect with that pin; another pin, or plain MQTT, gets nothing.

mod support;

use mtm_agent::config::MqttConfig as AgentMqtt;
use mtm_common::keys;
use mtm_control_plane::{start, MqttConfig, ServerConfig, ServerHandle};
use rumqttc::{AsyncClient, ConnectReturnCode, Event, MqttOptions, Packet};
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(20);

async fn tls_server(data_dir: &Path) -> ServerHandle {
    start(ServerConfig {
        data_dir: data_dir.to_owned(),
        http_bind: "127.0.0.1:0".parse().unwrap(),
        mqtt: MqttConfig::Embedded {
            bind: "127.0.0.1:0".parse().unwrap(),
        },
        mqtt_tls: true,
        ..Default::default()
    })
    .await
    .expect("the server starts with a TLS broker")
}

/// Connect once with `opts`: true if the broker accepted the login.
async fn accepted(opts: MqttOptions) -> bool {
    let (client, mut el) = AsyncClient::new(opts, 4);
    let ok = tokio::time::timeout(LIMIT, async {
        loop {
            match el.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(a))) => {
                    return a.code == ConnectReturnCode::Success
                }
                Ok(_) => {}
                Err(_) => return false,
            }
        }
    })
    .await
    .expect("the connection attempt ends");
    let _ = client.try_disconnect();
    ok
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_reach_the_embedded_broker_only_over_tls_with_the_pinned_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = tls_server(&data).await;
    let (api, admin) = support::root_on(&server).await;
    let loc: Value = api
        .post(
            &admin,
            "/api/locations",
            json!({"name": "Cafe", "timezone": "UTC"}),
        )
        .await;
    let agent_id = "cafe-tls-1";
    let (_router, code) =
        support::router_awaiting_enrollment(&api, &admin, &loc["id"], agent_id).await;
    let key = keys::generate_signing_key();
    let reply = reqwest::Client::new()
        .post(format!("http://{}/api/enroll", server.http_addr()))
        .json(&json!({"code": code, "agent_version": "test",
                      "public_key_hex": keys::public_key_hex(&key.verifying_key())}))
        .send()
        .await
        .unwrap();
    assert!(reply.status().is_success(), "enroll: {}", reply.status());
    let enrolled: Value = reply.json().await.unwrap();
    let pin = enrolled["mqtt_tls_pin_sha256"]
        .as_str()
        .expect("the enrollment carries the broker's pin")
        .to_owned();
    let cert_pem = std::fs::read(data.join("mqtt-tls.crt")).unwrap();
    let cert = {
        use rustls::pki_types::pem::PemObject;
        rustls::pki_types::CertificateDer::from_pem_slice(&cert_pem).unwrap()
    };
    assert_eq!(pin, mtm_control_plane::broker::tls::pin_of(&cert));
    let password = enrolled["mqtt_password"].as_str().unwrap().to_owned();
    let addr = server.mqtt_addr();

    // The agent's own options with the pin: connected.
    let agent_cfg = |pin: Option<String>| AgentMqtt {
        host: addr.ip().to_string(),
        port: addr.port(),
        username: Some(agent_id.into()),
        password: Some(password.clone()),
        tls_pin_sha256: pin,
        ..Default::default()
    };
    let opts = mtm_agent::mqtt::options(&agent_cfg(Some(pin.clone())), agent_id).unwrap();
    assert!(accepted(opts).await, "the pinned broker accepts the agent");

    // Another certificate's pin: the handshake fails, the login is never sent.
    let other = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).unwrap();
    let wrong = mtm_control_plane::broker::tls::pin_of(other.cert.der());
    let opts = mtm_agent::mqtt::options(&agent_cfg(Some(wrong)), agent_id).unwrap();
    assert!(!accepted(opts).await, "a different pin must not connect");

    // Plain MQTT on the TLS listener: nothing.
    let opts = mtm_agent::mqtt::options(&agent_cfg(None), agent_id).unwrap();
    assert!(!accepted(opts).await, "plain MQTT must not connect");
    server.shutdown().await;

    // A restart keeps the certificate, so enrolled agents keep their pin.
    let again = tls_server(&data).await;
    let addr = again.mqtt_addr();
    let cfg = AgentMqtt {
        host: addr.ip().to_string(),
        port: addr.port(),
        username: Some(agent_id.into()),
        password: Some(password.clone()),
        tls_pin_sha256: Some(pin.clone()),
        ..Default::default()
    };
    let opts = mtm_agent::mqtt::options(&cfg, agent_id).unwrap();
    assert!(accepted(opts).await, "the same pin works after a restart");
    again.shutdown().await;
}
