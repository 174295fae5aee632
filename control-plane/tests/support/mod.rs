//! Helpers for tests that drive the real binaries: find them, spawn them, read the address lines
//! they print, wait for conditions, and talk to the JSON API.
#![allow(dead_code)]

use std::future::Future;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

/// Path of a workspace binary, next to this package's own `mtm-server`. Panics (the test fails)
/// with the command to run when it has not been built.
pub fn bin(name: &str) -> PathBuf {
    let server = PathBuf::from(env!("CARGO_BIN_EXE_mtm-server"));
    let path = server.with_file_name(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --workspace --bins` first",
        path.display()
    );
    path
}

/// The version stamped into [`next_agent_bin`]'s build.
pub const NEXT_AGENT_VERSION: &str = "0.1.1";

/// A second, really different build of `mtm-agent`: compiled with `MTM_AGENT_VERSION` =
/// [`NEXT_AGENT_VERSION`] into its own target dir (`<target>/agent-next`, so it never
/// invalidates the shared build), as a release is built. Runs cargo, which is a no-op when that
/// build is current (`scripts/test.sh` builds it before the tests).
pub fn next_agent_bin() -> PathBuf {
    let server = PathBuf::from(env!("CARGO_BIN_EXE_mtm-server"));
    // <target>/<profile>/mtm-server
    let profile_dir = server.parent().expect("profile dir");
    let target = profile_dir.parent().expect("target dir");
    let next = target.join("agent-next");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = std::process::Command::new(cargo)
        .args([
            "build",
            "-p",
            "mtm-agent",
            "--bin",
            "mtm-agent",
            "--target-dir",
        ])
        .arg(&next)
        .env("MTM_AGENT_VERSION", NEXT_AGENT_VERSION)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("run cargo to build the second agent");
    assert!(status.success(), "building the second agent failed");
    let path = next.join("debug").join("mtm-agent");
    assert!(path.exists(), "{} is missing", path.display());
    path
}

/// A spawned binary whose stdout lines are collected, killed on drop.
pub struct Proc {
    child: Child,
    lines: mpsc::UnboundedReceiver<String>,
    name: String,
}

impl Proc {
    /// Spawn `path` with `args`; stderr is inherited so its logs show in test output.
    pub async fn spawn(path: PathBuf, args: &[&str]) -> Proc {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let mut child = Command::new(&path)
            .args(args)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", path.display()));
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Proc {
            child,
            lines: rx,
            name,
        }
    }

    /// The rest of the first stdout line that starts with `prefix` (e.g. an address).
    pub async fn line_after(&mut self, prefix: &str) -> String {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let line = tokio::time::timeout_at(deadline, self.lines.recv())
                .await
                .unwrap_or_else(|_| panic!("{} printed no `{prefix}` line in time", self.name))
                .unwrap_or_else(|| panic!("{} exited before printing `{prefix}`", self.name));
            if let Some(rest) = line.strip_prefix(prefix) {
                return rest.trim().to_string();
            }
        }
    }

    /// SIGKILL and reap.
    pub async fn kill(&mut self) {
        let _ = self.child.kill().await;
    }

    /// The OS process id.
    pub fn pid(&self) -> u32 {
        self.child.id().unwrap_or(0)
    }
}

/// Poll `check` until it is true, failing the test with `what` after `limit`.
pub async fn wait_for<F, Fut>(what: &str, limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if check().await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// GET a URL and parse JSON (Null on any failure, so it can be polled).
pub async fn http_get_json(url: &str) -> Value {
    match reqwest::get(url).await {
        Ok(r) => r.json().await.unwrap_or(Value::Null),
        Err(_) => Value::Null,
    }
}

/// A JSON API client with bearer tokens.
pub struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    /// Talk to the server at `base` (`http://127.0.0.1:PORT`).
    pub fn new(base: &str) -> Api {
        let base = if base.starts_with("http") {
            base.to_string()
        } else {
            format!("http://{base}")
        };
        Api {
            base,
            http: reqwest::Client::new(),
        }
    }

    /// Log in and return the bearer token.
    pub async fn login(&self, username: &str, password: &str) -> String {
        let r = self
            .http
            .post(format!("{}/api/auth/login", self.base))
            .json(&json!({"username": username, "password": password}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "login {username}: {}", r.status());
        let v: Value = r.json().await.unwrap();
        v["token"]
            .as_str()
            .expect("token in login reply")
            .to_string()
    }

    /// POST JSON, asserting success.
    pub async fn post<T: DeserializeOwned>(&self, token: &str, path: &str, body: Value) -> T {
        self.send(reqwest::Method::POST, token, path, body).await
    }

    /// PUT JSON, asserting success.
    pub async fn put<T: DeserializeOwned>(&self, token: &str, path: &str, body: Value) -> T {
        self.send(reqwest::Method::PUT, token, path, body).await
    }

    async fn send<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        token: &str,
        path: &str,
        body: Value,
    ) -> T {
        let r = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let text = r.text().await.unwrap();
        assert!(status.is_success(), "{method} {path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{method} {path}: {e}: {text}"))
    }

    /// GET JSON, asserting success.
    pub async fn get<T: DeserializeOwned>(&self, token: &str, path: &str) -> T {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let text = r.text().await.unwrap();
        assert!(status.is_success(), "GET {path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("GET {path}: {e}: {text}"))
    }
}
pub mod browser;
pub mod faults;
pub mod pages;
pub mod private_pg;
pub mod stack;

/// The one-site demo (server, a simulated router and its agent, in this process) that the
/// browser tests drive, in `dir/site`.
pub async fn demo_site(dir: &std::path::Path) -> mtm_control_plane::demo::Demo {
    demo_site_on(dir, None).await
}

/// [`demo_site`] on the database at `database_url` (`None`: SQLite in `dir`).
pub async fn demo_site_on(
    dir: &std::path::Path,
    database_url: Option<String>,
) -> mtm_control_plane::demo::Demo {
    mtm_control_plane::demo::Demo::start(mtm_control_plane::demo::DemoOptions {
        data_dir: dir.join("site"),
        http_port: 0,
        sites: 1,
        customers: false,
        usage_poll_s: 1,
        inventory_s: 60,
        database_url,
    })
    .await
    .expect("the demo site starts")
}

/// Password of the super admin [`embedded_server`] makes.
pub const ROOT_PASSWORD: &str = "admin-pass-123";

/// A server in this process on `data_dir` (SQLite, embedded broker, loopback ports) with a
/// super admin `root`, its API client and `root`'s token.
pub async fn embedded_server(
    data_dir: &std::path::Path,
) -> (mtm_control_plane::ServerHandle, Api, String) {
    let server = mtm_control_plane::start(mtm_control_plane::ServerConfig {
        data_dir: data_dir.to_owned(),
        http_bind: "127.0.0.1:0".parse().unwrap(),
        mqtt: mtm_control_plane::MqttConfig::Embedded {
            bind: "127.0.0.1:0".parse().unwrap(),
        },
        ..Default::default()
    })
    .await
    .expect("the server starts");
    let (api, root) = root_on(&server).await;
    (server, api, root)
}

/// Make the super admin `root` ([`ROOT_PASSWORD`]) on `server`; its API client and token.
pub async fn root_on(server: &mtm_control_plane::ServerHandle) -> (Api, String) {
    use mtm_control_plane::store::{NewUser, Role};
    server
        .store()
        .create_user(NewUser {
            username: "root".into(),
            password: ROOT_PASSWORD.into(),
            role: Role::SuperAdmin,
            location_ids: vec![],
        })
        .await
        .unwrap();
    let api = Api::new(&server.http_addr().to_string());
    let token = api.login("root", ROOT_PASSWORD).await;
    (api, token)
}

/// An admin's first steps for a new device: a router record without a key at `location_id`,
/// then a one-time enrollment code for it. Returns (router id, code).
pub async fn router_awaiting_enrollment(
    api: &Api,
    admin: &str,
    location_id: &Value,
    agent_id: &str,
) -> (String, String) {
    let created: Value = api
        .post(
            admin,
            "/api/routers",
            json!({"location_id": location_id, "name": format!("{agent_id} router"),
                   "agent_id": agent_id}),
        )
        .await;
    let router_id = created["router"]["id"].as_str().unwrap().to_owned();
    let issued: Value = api
        .post(
            admin,
            &format!("/api/routers/{router_id}/enrollment-code"),
            json!({}),
        )
        .await;
    (router_id, issued["code"].as_str().unwrap().to_owned())
}

/// One café as an admin sets it up through the API: location `Cafe` (UTC), package `1h`
/// (5.00 USD, one hour), staff `sam` (`staff-pass-123`) and router `R1` with agent id `r1`
/// and the agent's public key.
pub struct Cafe {
    pub location: Value,
    pub package: Value,
    pub router: Value,
}

/// Set up [`Cafe`] as `admin`.
pub async fn one_cafe(api: &Api, admin: &str, agent_public_key_hex: &str) -> Cafe {
    let location: Value = api
        .post(
            admin,
            "/api/locations",
            json!({"name": "Cafe", "timezone": "UTC"}),
        )
        .await;
    let package: Value = api
        .post(
            admin,
            "/api/packages",
            json!({"slug": "1h", "name": "One hour", "price_minor": 500, "currency": "USD",
                   "limit_uptime_s": 3600, "shared_users": 1, "uses_password": false}),
        )
        .await;
    api.post::<Value>(
        admin,
        "/api/auth/register",
        json!({"username": "sam", "password": "staff-pass-123", "role": "staff",
               "location_ids": [location["id"]]}),
    )
    .await;
    let router: Value = api
        .post(
            admin,
            "/api/routers",
            json!({"location_id": location["id"], "name": "R1", "agent_id": "r1",
                   "public_key_hex": agent_public_key_hex}),
        )
        .await;
    Cafe {
        location,
        package,
        router,
    }
}

/// The embedded broker alone (rumqttd behind its filter) on a loopback port, checking logins
/// against a SQLite store in `dir` that holds a router for each `(agent_id, mqtt_password)`;
/// listening when this returns. The store, the public address and the server's own login.
pub async fn embedded_broker_with(
    dir: &std::path::Path,
    agents: &[(String, String)],
) -> (
    std::sync::Arc<dyn mtm_control_plane::store::Store>,
    std::net::SocketAddr,
    mtm_control_plane::broker::InternalCredentials,
) {
    use mtm_control_plane::store::{self, NewLocation, NewRouter};
    let url = format!("sqlite://{}", dir.join("mtm.db").display());
    let store = store::open(&url).await.unwrap();
    let loc = store
        .create_location(NewLocation {
            name: "L".into(),
            timezone: "UTC".into(),
        })
        .await
        .unwrap();
    for (agent_id, password) in agents {
        let key = mtm_common::keys::generate_signing_key();
        store
            .create_router(NewRouter {
                location_id: loc.id,
                name: agent_id.clone(),
                agent_id: agent_id.clone(),
                public_key_hex: mtm_common::keys::public_key_hex(&key.verifying_key()),
                mqtt_password: password.clone(),
            })
            .await
            .unwrap();
    }
    let internal = mtm_control_plane::broker::InternalCredentials::generate();
    let addrs = mtm_control_plane::broker::start_embedded(
        "127.0.0.1:0".parse().unwrap(),
        store.clone(),
        internal.clone(),
        None,
    )
    .unwrap();
    let addr = addrs.public;
    wait_for(
        "the broker filter listening",
        Duration::from_secs(20),
        || async move { tokio::net::TcpStream::connect(addr).await.is_ok() },
    )
    .await;
    (store, addr, internal)
}
