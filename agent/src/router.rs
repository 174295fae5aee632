//! The RouterOS session: connected lazily, dropped on a connection error and made again on the
//! next call, so an unreachable router is reported, never fatal.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use mtm_routeros::{Client, ClientConfig, Error, Tls};

use crate::config::RouterConfig;

/// True when an error means "try again later" (the router or the path to it is down) rather
/// than "the router refused this".
pub fn is_retryable(e: &Error) -> bool {
    e.is_connection() || matches!(e, Error::Login(_))
}

/// Build the client settings from the agent configuration.
pub fn client_config(cfg: &RouterConfig) -> Result<ClientConfig, String> {
    let mut cc = ClientConfig::plain(&cfg.addr, &cfg.username, &cfg.password);
    if cfg.tls {
        cc.tls = if cfg.insecure_self_signed {
            Tls::InsecureSelfSigned
        } else {
            let ca_pem = match &cfg.ca_file {
                Some(p) => Some(
                    std::fs::read(p).map_err(|e| format!("router.ca_file {}: {e}", p.display()))?,
                ),
                None => None,
            };
            let host = cfg
                .addr
                .rsplit_once(':')
                .map(|(h, _)| h.trim_start_matches('[').trim_end_matches(']'))
                .unwrap_or(&cfg.addr);
            Tls::Verified {
                ca_pem,
                server_name: host.to_owned(),
            }
        };
    }
    cc.connect_timeout = Duration::from_secs(5);
    cc.command_timeout = Duration::from_secs(15);
    Ok(cc)
}

/// One router connection shared by the command runner and telemetry (behind a mutex).
pub struct RouterLink {
    cfg: ClientConfig,
    client: Option<Client>,
    reachable: Arc<AtomicBool>,
}

impl RouterLink {
    /// A link that connects on first use; `reachable` mirrors the last outcome.
    pub fn new(cfg: ClientConfig, reachable: Arc<AtomicBool>) -> Self {
        RouterLink {
            cfg,
            client: None,
            reachable,
        }
    }

    /// The connected client, connecting first if needed.
    pub async fn client(&mut self) -> Result<&Client, Error> {
        if self.client.as_ref().is_some_and(|c| c.is_closed()) {
            self.client = None;
        }
        if self.client.is_none() {
            match Client::connect(&self.cfg).await {
                Ok(c) => {
                    if !self.reachable.swap(true, Ordering::Relaxed) {
                        tracing::info!(addr = %self.cfg.addr, "router connected");
                    }
                    self.client = Some(c);
                }
                Err(e) => {
                    self.mark_down(&e);
                    return Err(e);
                }
            }
        }
        self.client.as_ref().ok_or(Error::Closed)
    }

    /// Record the outcome of a call: a connection error drops the session.
    pub fn observe<T>(&mut self, r: &Result<T, Error>) {
        self.note(r.as_ref().err());
    }

    /// Record a call's error (or `None` for success).
    pub fn note(&mut self, err: Option<&Error>) {
        match err {
            Some(e) if is_retryable(e) => {
                self.client = None;
                self.mark_down(e);
            }
            _ => {
                self.reachable.store(true, Ordering::Relaxed);
            }
        }
    }

    fn mark_down(&self, e: &Error) {
        if self.reachable.swap(false, Ordering::Relaxed) {
            tracing::warn!(addr = %self.cfg.addr, error = %e, "router unreachable");
        }
    }

    /// Whether the last call reached the router.
    pub fn is_reachable(&self) -> bool {
        self.reachable.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_config_follows_the_tls_settings() {
        let mut cfg = RouterConfig {
            addr: "10.0.0.1:8729".into(),
            password: "x".into(),
            ..Default::default()
        };
        assert!(matches!(client_config(&cfg).unwrap().tls, Tls::Plain));
        cfg.tls = true;
        match client_config(&cfg).unwrap().tls {
            Tls::Verified {
                ca_pem: None,
                server_name,
            } => assert_eq!(server_name, "10.0.0.1"),
            other => panic!("{other:?}"),
        }
        cfg.insecure_self_signed = true;
        assert!(matches!(
            client_config(&cfg).unwrap().tls,
            Tls::InsecureSelfSigned
        ));
        cfg.insecure_self_signed = false;
        cfg.ca_file = Some("/nonexistent/ca.pem".into());
        assert!(client_config(&cfg).unwrap_err().contains("router.ca_file"));
    }

    #[test]
    fn traps_are_final_and_connection_errors_retry() {
        assert!(is_retryable(&Error::Closed));
        assert!(is_retryable(&Error::Login("bad".into())));
        assert!(!is_retryable(&Error::Trap {
            message: "failure: already have user with this name".into(),
            category: None,
        }));
    }
}
