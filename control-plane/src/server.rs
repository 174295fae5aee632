//! Starting and stopping the whole server: store, keys, broker, ingest, dispatcher and HTTP.

use crate::app::{AppState, Settings};
use crate::auth::{JwtKeys, LimitPolicy, RateLimiter};
use crate::broker::{self, InternalCredentials};
use crate::broker::{BrokerAccounts, DynsecClient};
use crate::commands::Dispatcher;
use crate::config::ServerConfig;
use crate::ingest::Ingest;
use crate::link::{ClientSettings, MqttLink};
use crate::metrics::Metrics;
use crate::mqtt::MqttConfig;
use crate::store::{self, Store};
use anyhow::Context;
use ed25519_dalek::SigningKey;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A running server.
pub struct ServerHandle {
    http_addr: SocketAddr,
    mqtt_addr: SocketAddr,
    cp_public_key_hex: String,
    store: Arc<dyn Store>,
    link: Arc<MqttLink>,
    stop_http: oneshot::Sender<()>,
    tasks: Vec<JoinHandle<()>>,
}

impl ServerHandle {
    /// Where HTTP listens.
    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    /// Where agents reach the broker.
    pub fn mqtt_addr(&self) -> SocketAddr {
        self.mqtt_addr
    }

    /// The control plane's public key, hex (agents pin it).
    pub fn control_plane_public_key_hex(&self) -> String {
        self.cp_public_key_hex.clone()
    }

    /// The store.
    pub fn store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }

    /// Stop HTTP, ingest and the MQTT client. The embedded broker's threads cannot be stopped
    /// by rumqttd and end with the process.
    pub async fn shutdown(self) {
        let _ = self.stop_http.send(());
        self.link.shutdown();
        for t in self.tasks {
            t.abort();
        }
    }
}

/// Read a 32-byte secret stored as hex in `path`, or make one (file mode 0600).
fn load_or_create_secret(path: &Path) -> anyhow::Result<[u8; 32]> {
    if path.exists() {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let bytes =
            hex::decode(text.trim()).with_context(|| format!("{} is not hex", path.display()))?;
        return bytes
            .try_into()
            .map_err(|_| anyhow::anyhow!("{} must hold 32 bytes of hex", path.display()));
    }
    let secret: [u8; 32] = rand::random();
    write_private(path, &hex::encode(secret))?;
    Ok(secret)
}

/// Create `path` (which must not exist) holding `text`, readable by its owner only.
pub fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(text.as_bytes())?;
    Ok(())
}

/// The control plane's signing key from `DATA/cp.key`, made on first start.
pub fn load_or_create_cp_key(data_dir: &Path) -> anyhow::Result<SigningKey> {
    let seed = load_or_create_secret(&data_dir.join("cp.key"))?;
    Ok(SigningKey::from_bytes(&seed))
}

/// Open the store the config names (creating the data folder), running migrations.
pub async fn open_store(cfg: &ServerConfig) -> anyhow::Result<Arc<dyn Store>> {
    std::fs::create_dir_all(&cfg.data_dir)
        .with_context(|| format!("creating {}", cfg.data_dir.display()))?;
    store::open(&cfg.effective_database_url())
        .await
        .context("opening the database")
}

/// Start everything; returns once HTTP listens and the MQTT client has connected (or, for an
/// external broker that is down, after a grace period while it keeps retrying).
pub async fn start(cfg: ServerConfig) -> anyhow::Result<ServerHandle> {
    if let Some(a) = &cfg.mqtt_public_addr {
        if crate::enrollment::split_host_port(a).is_none() {
            anyhow::bail!("mqtt_public_addr {a:?} must be host:port");
        }
    }
    cfg.validate()?;
    let mailer = cfg.mailer()?;
    if cfg.mqtt_tls && !matches!(cfg.mqtt, MqttConfig::Embedded { .. }) {
        anyhow::bail!("mqtt_tls is for the embedded broker; an external broker's TLS is set in its own configuration");
    }
    let store = open_store(&cfg).await?;
    let cp_key = load_or_create_cp_key(&cfg.data_dir)?;
    let jwt_secret = load_or_create_secret(&cfg.data_dir.join("jwt.secret"))?;
    let cp_public_key_hex = mtm_common::keys::public_key_hex(&cp_key.verifying_key());
    let metrics = Arc::new(Metrics::default());

    let mut tls_pin = None;
    let (client_settings, mqtt_addr) = match &cfg.mqtt {
        MqttConfig::Embedded { bind } => {
            let internal = InternalCredentials::generate();
            let tls = if cfg.mqtt_tls {
                let tls = crate::broker::tls::load_or_create(&cfg.data_dir, tls_names(&cfg))?;
                tls_pin = Some(tls.pin_sha256);
                Some(tls.acceptor)
            } else {
                None
            };
            let addrs = broker::start_embedded(*bind, store.clone(), internal.clone(), tls)?;
            // The server's own client goes straight to rumqttd; agents come through the filter.
            let settings = ClientSettings::new(
                addrs.internal.ip().to_string(),
                addrs.internal.port(),
                Some((internal.username, internal.password)),
                false,
            );
            (settings, addrs.public)
        }
        MqttConfig::External {
            host,
            port,
            username,
            password,
        } => {
            let addr = tokio::net::lookup_host((host.as_str(), *port))
                .await
                .with_context(|| format!("resolving {host}"))?
                .next()
                .with_context(|| format!("{host} has no address"))?;
            let mut settings = ClientSettings::new(
                host.clone(),
                *port,
                username
                    .clone()
                    .map(|u| (u, password.clone().unwrap_or_default())),
                true,
            );
            settings.client_id = cfg.mqtt_client_id.clone();
            (settings, addr)
        }
    };
    let (broker, ensure_task) = broker_accounts(&cfg, &client_settings).await?;
    let (tx, rx) = crate::link::ingest_queue(client_settings.ingest_budget_bytes, metrics.clone());
    let heard = tx.heard();
    let link = MqttLink::start(client_settings, tx, metrics.clone());
    if matches!(cfg.mqtt, MqttConfig::Embedded { .. }) {
        wait_subscribed(mqtt_addr, link.status().generations()).await?;
    }
    let witness_key = cp_key.clone();
    let dispatcher = Arc::new(Dispatcher::new(
        store.clone(),
        link.clone(),
        cp_key,
        metrics.clone(),
    ));
    let resend_task = tokio::spawn(crate::commands::resend_loop(
        store.clone(),
        dispatcher.clone(),
        link.status(),
        Duration::from_secs(10),
    ));
    let ingest = Arc::new(Ingest::new(
        store.clone(),
        dispatcher.clone(),
        metrics.clone(),
    ));
    let ingest_task = tokio::spawn(ingest.run(rx));
    let silent_task = tokio::spawn(crate::silence::silent_loop(
        store.clone(),
        cfg.router_silent_after_s,
        link.status(),
        heard,
    ));
    let checks_task = tokio::spawn(crate::checks::sweep_loop(
        store.clone(),
        Duration::from_secs(10),
    ));
    let witnessing = Arc::new(crate::witness::Witnessing {
        key: witness_key,
        dir: cfg.checkpoint_dir.clone(),
        dispatcher: dispatcher.clone(),
    });
    let witness_task = (cfg.checkpoint_every_s > 0).then(|| {
        tokio::spawn(crate::witness::witness_loop(
            store.clone(),
            witnessing.clone(),
            Duration::from_secs(cfg.checkpoint_every_s),
        ))
    });
    let report_task = tokio::spawn(crate::reports::report_loop(
        store.clone(),
        Duration::from_secs(60),
        Some(witnessing),
    ));
    let notify_task = tokio::spawn(crate::notify::notifier_loop(store.clone(), mailer));
    let catalog_task = tokio::spawn(crate::catalog::catalog_loop(
        store.clone(),
        dispatcher.clone(),
        Duration::from_secs(10),
    ));

    let state = AppState {
        store: store.clone(),
        dispatcher,
        metrics,
        jwt: Arc::new(JwtKeys::new(&jwt_secret)),
        limiter: Arc::new(RateLimiter::new(LimitPolicy::default(), cfg.trusted_proxy)),
        settings: Arc::new(Settings {
            secure_cookies: cfg.serves_https(),
            token_code_len: cfg.token_code_len,
            public_url: cfg.public_url.clone(),
            external_url: cfg.external_url.clone(),
            mqtt_addr,
            control_plane_public_key: cp_public_key_hex.clone(),
            enrollment: crate::enrollment::EnrollmentSettings {
                mqtt_public_addr: cfg.mqtt_public_addr.clone(),
                mqtt_tls_pin_sha256: tls_pin,
                code_ttl_s: cfg.enrollment_code_ttl_s,
                broker,
                releases_dir: Some(cfg.data_dir.join("releases")),
            },
        }),
    };
    let listener = tokio::net::TcpListener::bind(cfg.http_bind)
        .await
        .with_context(|| format!("binding HTTP on {}", cfg.http_bind))?;
    let http_addr = listener.local_addr()?;
    let (stop_http, stop_rx) = oneshot::channel::<()>();
    let app = crate::app::full_app(state, cfg.data_dir.join("releases"));
    let http_task = tokio::spawn(serve_http(listener, app, HEADER_READ_TIMEOUT, stop_rx));

    let mut subscribed = link.status().generations();
    let wait = tokio::time::timeout(Duration::from_secs(10), subscribed.wait_for(|g| *g > 0)).await;
    if !matches!(wait, Ok(Ok(_))) {
        tracing::warn!("MQTT broker not reachable yet; still retrying in the background");
    }
    Ok(ServerHandle {
        http_addr,
        mqtt_addr,
        cp_public_key_hex,
        store,
        link,
        stop_http,
        tasks: vec![
            resend_task,
            ingest_task,
            catalog_task,
            silent_task,
            checks_task,
            report_task,
            notify_task,
            http_task,
        ]
        .into_iter()
        .chain(ensure_task)
        .chain(witness_task)
        .collect(),
    })
}

/// How long a client may take to send a request's headers (a trickled header is a cheap way to
/// hold connections open); also how long an idle keep-alive connection waits for the next one.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Serve `app` on `listener` until `stop` fires, one HTTP/1.1 connection per task, each
/// request carrying its peer address (`ConnectInfo`). Written out rather than `axum::serve`
/// because that sets no header-read timeout.
pub async fn serve_http(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    header_timeout: Duration,
    stop: oneshot::Receiver<()>,
) {
    use axum::extract::ConnectInfo;
    use hyper_util::rt::{TokioIo, TokioTimer};
    use hyper_util::service::TowerToHyperService;
    use tower::ServiceExt;
    let (closing_tx, closing_rx) = tokio::sync::watch::channel(false);
    let mut stop = std::pin::pin!(stop);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: pause rather than spin.
                    tracing::warn!(error = %e, "accepting an HTTP connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut stop => break,
        };
        send_at_once(&stream, peer);
        let service =
            app.clone()
                .map_request(move |mut req: axum::http::Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(ConnectInfo(peer));
                    req.map(axum::body::Body::new)
                });
        let mut closing = closing_rx.clone();
        tokio::spawn(async move {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout);
            let conn = builder
                .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
                .with_upgrades();
            let mut conn = std::pin::pin!(conn);
            tokio::select! {
                r = conn.as_mut() => {
                    if let Err(e) = r {
                        tracing::debug!(error = %e, %peer, "HTTP connection ended");
                    }
                }
                // Only ever changed to true, when the server stops.
                _ = closing.changed() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
        });
    }
    let _ = closing_tx.send(true);
}

/// Turn off Nagle's algorithm on an accepted connection. A streamed answer (a CSV export) ends
/// with a short write of its own, which otherwise waited for the client's delayed ACK: about
/// 40 ms on every small export (docs/benchmarks.md).
fn send_at_once(stream: &tokio::net::TcpStream, peer: std::net::SocketAddr) {
    if let Err(e) = stream.set_nodelay(true) {
        tracing::debug!(error = %e, %peer, "TCP_NODELAY not set");
    }
}

/// Names for the broker's certificate: the public host agents dial, and loopback. Agents check
/// the pin, not names; the names serve other clients (`mosquitto_sub --cafile`).
fn tls_names(cfg: &ServerConfig) -> Vec<String> {
    let mut names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    if let Some((host, _)) = cfg
        .mqtt_public_addr
        .as_deref()
        .and_then(crate::enrollment::split_host_port)
    {
        if !names.contains(&host) {
            names.push(host);
        }
    }
    names
}

/// How long one Dynamic Security command may take.
const DYNSEC_TIMEOUT: Duration = Duration::from_secs(10);

/// Where agents' broker logins are kept, from the config. With dynsec, the roles are set up
/// before the server's main client connects (granting its own role drops its connections);
/// when the broker does not answer in time, a task returned here keeps trying.
async fn broker_accounts(
    cfg: &ServerConfig,
    client: &ClientSettings,
) -> anyhow::Result<(BrokerAccounts, Option<JoinHandle<()>>)> {
    let dynsec = match (&cfg.mqtt, cfg.mqtt_dynsec) {
        (MqttConfig::Embedded { .. }, true) => {
            anyhow::bail!("mqtt_dynsec needs an external Mosquitto broker (mqtt mode external)")
        }
        (MqttConfig::Embedded { .. }, false) => {
            let login = client
                .credentials
                .clone()
                .context("the embedded broker has no server login")?;
            // Revocation takes over the agent's session on rumqttd itself, behind the filter.
            let addr = SocketAddr::new(
                client
                    .host
                    .parse()
                    .context("the embedded broker's address")?,
                client.port,
            );
            return Ok((BrokerAccounts::Embedded { addr, login }, None));
        }
        (MqttConfig::External { .. }, false) => return Ok((BrokerAccounts::StoreOnly, None)),
        (MqttConfig::External { host, port, .. }, true) => {
            let (user, password) = client.credentials.clone().context(
                "mqtt_dynsec needs the server's MQTT username and password (a dynsec admin)",
            )?;
            DynsecClient::connect(host, *port, &user, &password, DYNSEC_TIMEOUT)
        }
    };
    let first = tokio::time::timeout(2 * DYNSEC_TIMEOUT, dynsec.ensure()).await;
    let retry = match first {
        Ok(Ok(())) => None,
        failed => {
            let why = match failed {
                Ok(Err(e)) => e.to_string(),
                _ => "no answer".to_owned(),
            };
            tracing::error!(error = %why, "dynsec roles not set up yet; retrying in the background");
            let d = dynsec.clone();
            Some(tokio::spawn(async move {
                while let Err(e) = d.ensure().await {
                    tracing::warn!(error = %e, "dynsec roles not set up yet");
                    tokio::time::sleep(Duration::from_secs(5)).await;
                }
                tracing::info!("dynsec roles set up");
            }))
        }
    };
    Ok((BrokerAccounts::Dynsec(dynsec), retry))
}

/// rumqttd binds on its own thread; wait until the server's own client has connected and
/// subscribed through it. Not a bare TCP probe: rumqttd logs a connection closed before its
/// CONNECT as an error, and a clean start should log none.
async fn wait_subscribed(
    addr: SocketAddr,
    mut subscribed: tokio::sync::watch::Receiver<u64>,
) -> anyhow::Result<()> {
    match tokio::time::timeout(Duration::from_secs(10), subscribed.wait_for(|g| *g > 0)).await {
        Ok(Ok(_)) => Ok(()),
        _ => anyhow::bail!("embedded broker did not start listening on {addr}"),
    }
}

#[cfg(test)]
mod tests {
    /// An accepted connection sends each write at once, not after the peer's ACK.
    #[tokio::test]
    async fn an_accepted_connection_sends_at_once() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let _client = tokio::net::TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (stream, peer) = listener.accept().await.unwrap();
        assert!(!stream.nodelay().unwrap());
        super::send_at_once(&stream, peer);
        assert!(stream.nodelay().unwrap());
    }
}
