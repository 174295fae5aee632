//! Debian's chromium, headless, behind a chromedriver this test starts on a free port.

use std::process::Stdio;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder};
use tokio::process::{Child, Command};

/// A chromedriver process and a WebDriver session on it.
pub struct Browser {
    /// The WebDriver session.
    pub client: Client,
    driver: Child,
    shots: Option<std::path::PathBuf>,
    _profile: tempfile::TempDir,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Browser {
    /// Start chromedriver and a headless Chromium session. Fails (never skips) when either is
    /// missing: `scripts/test.sh` installs them.
    pub async fn start() -> Browser {
        Browser::start_in(None).await
    }

    /// [`Browser::start`] for a person whose browser asks for `languages` (an
    /// `Accept-Language` list such as `fr` or `sw,en`); `None` keeps Chromium's own.
    pub async fn start_in(languages: Option<&str>) -> Browser {
        for bin in ["/usr/bin/chromium", "/usr/bin/chromedriver"] {
            assert!(
                std::path::Path::new(bin).exists(),
                "{bin} is missing: apt-get install chromium chromium-driver (scripts/test.sh does)"
            );
        }
        let port = free_port();
        let driver = Command::new("/usr/bin/chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn chromedriver");
        let url = format!("http://127.0.0.1:{port}");
        let profile = tempfile::tempdir().unwrap();
        let mut caps = serde_json::Map::new();
        let mut options = serde_json::json!({
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-quic", "--no-first-run",
                "--window-size=420,900",
                format!("--user-data-dir={}", profile.path().display()),
            ],
        });
        if let Some(langs) = languages {
            options["prefs"] = serde_json::json!({ "intl": { "accept_languages": langs } });
            if let Some(args) = options["args"].as_array_mut() {
                args.push(format!("--lang={langs}").into());
                args.push(format!("--accept-lang={langs}").into());
            }
        }
        caps.insert("goog:chromeOptions".into(), options);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(c) => break c,
                Err(e) => {
                    assert!(
                        tokio::time::Instant::now() < deadline,
                        "chromedriver session: {e}"
                    );
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        };
        Browser {
            client,
            driver,
            shots: std::env::var_os("MTM_SCREENSHOTS").map(Into::into),
            _profile: profile,
        }
    }

    /// Save a screenshot as `{name}.png` when `MTM_SCREENSHOTS` names a folder.
    pub async fn shot(&self, name: &str) {
        if let Some(dir) = &self.shots {
            std::fs::create_dir_all(dir).unwrap();
            let png = self.client.screenshot().await.unwrap();
            std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
        }
    }

    /// The browser's cookies as one `Cookie:` header value.
    pub async fn cookie(&self, c: &Client) -> String {
        c.get_all_cookies()
            .await
            .unwrap()
            .iter()
            .map(|k| format!("{}={}", k.name(), k.value()))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// End the session and the driver.
    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill().await;
    }
}
