//! A client for Mosquitto's Dynamic Security plugin: JSON commands published on
//! `$CONTROL/dynamic-security/v1`, answers read from `.../response`, matched by `correlationData`.
//!
//! Mosquitto 2.0 substitutes neither `%u` nor `%c` in dynsec ACLs (that comes with 2.1), so each
//! agent gets its own role naming its own topics; what every agent shares (reading the catalog)
//! is the role `mtm-agent`. The server's own account needs `mtm-server` besides the `admin` role
//! that `mosquitto_ctrl dynsec init` gives it, since `admin` may not publish on normal topics;
//! the server grants it to itself at start.

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

/// Where dynsec commands go.
pub const COMMAND_TOPIC: &str = "$CONTROL/dynamic-security/v1";
/// Where dynsec answers come from.
pub const RESPONSE_TOPIC: &str = "$CONTROL/dynamic-security/v1/response";
/// Role every agent has: read the retained catalog.
pub const AGENT_ROLE: &str = "mtm-agent";
/// Role the server's own account needs to publish commands and the catalog.
pub const SERVER_ROLE: &str = "mtm-server";

/// How long to wait for the answer to the server granting itself [`SERVER_ROLE`].
const GRANT_WAIT: Duration = Duration::from_secs(2);

/// Why a dynsec command failed.
#[derive(Debug, thiserror::Error)]
pub enum DynsecError {
    /// No answer in time (broker down, or the account may not administer dynsec).
    #[error("no answer to {command} within {timeout_s} s (is the broker up, and may the server's MQTT user administer dynamic security?)")]
    Timeout {
        /// The command(s) sent.
        command: String,
        /// How long it waited.
        timeout_s: u64,
    },
    /// The plugin answered with an error.
    #[error("{command} {subject}: {message}")]
    Refused {
        /// The command.
        command: String,
        /// Its username or role name.
        subject: String,
        /// The plugin's reason.
        message: String,
    },
    /// The command could not be queued.
    #[error("sending {command}: {message}")]
    Send {
        /// The command(s).
        command: String,
        /// The client's error.
        message: String,
    },
}

/// One command's answer.
#[derive(Debug, Clone)]
struct Reply {
    error: Option<String>,
    data: Value,
}

type Pending = Arc<Mutex<HashMap<String, oneshot::Sender<Reply>>>>;

/// A long-lived connection to the broker as the server's (dynsec admin) account.
pub struct DynsecClient {
    client: AsyncClient,
    pending: Pending,
    ready: watch::Receiver<bool>,
    username: String,
    timeout: Duration,
    ensured: AtomicBool,
    task: JoinHandle<()>,
}

impl Drop for DynsecClient {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The role naming `agent_id`'s own topics.
pub fn agent_role(agent_id: &str) -> String {
    format!("mtm-agent-{agent_id}")
}

fn acl(acltype: &str, topic: &str) -> Value {
    json!({ "acltype": acltype, "topic": topic, "allow": true })
}

/// What an agent may do beyond [`AGENT_ROLE`] (docs/mqtt-api.md): publish its up and status
/// topics (status is also its last will) and subscribe to its down topic, literally.
fn agent_acls(agent_id: &str) -> Value {
    use mtm_common::topics;
    json!([
        acl("publishClientSend", &topics::up(agent_id)),
        acl("publishClientSend", &topics::status(agent_id)),
        acl("subscribeLiteral", &topics::down(agent_id)),
    ])
}

impl DynsecClient {
    /// Connect to `host:port` as `username` (which must hold dynsec's admin role) and keep the
    /// connection up in the background; every command waits at most `timeout` for its answer.
    pub fn connect(
        host: &str,
        port: u16,
        username: &str,
        password: &str,
        timeout: Duration,
    ) -> Arc<DynsecClient> {
        let id = format!("mtm-cp-dynsec-{}", uuid::Uuid::new_v4().simple());
        let mut opts = MqttOptions::new(id, host, port);
        opts.set_keep_alive(Duration::from_secs(15));
        opts.set_clean_session(true);
        opts.set_credentials(username, password);
        let (client, eventloop) = AsyncClient::new(opts, 64);
        let pending: Pending = Arc::default();
        let (ready_tx, ready) = watch::channel(false);
        let task = tokio::spawn(run_loop(
            eventloop,
            client.clone(),
            pending.clone(),
            ready_tx,
        ));
        Arc::new(DynsecClient {
            client,
            pending,
            ready,
            username: username.to_owned(),
            timeout,
            ensured: AtomicBool::new(false),
            task,
        })
    }

    /// Send `commands` in one message and wait for every answer, in order, at most `wait`.
    async fn run(
        &self,
        mut commands: Vec<Value>,
        wait: Duration,
    ) -> Result<Vec<Reply>, DynsecError> {
        let names = commands
            .iter()
            .map(|c| c["command"].as_str().unwrap_or("?"))
            .collect::<Vec<_>>()
            .join(",");
        let deadline = tokio::time::Instant::now() + wait;
        let timeout = || DynsecError::Timeout {
            command: names.clone(),
            timeout_s: wait.as_secs(),
        };
        // Answers published before our subscription is in place would be lost.
        let mut ready = self.ready.clone();
        tokio::time::timeout_at(deadline, ready.wait_for(|r| *r))
            .await
            .map_err(|_| timeout())?
            .map_err(|_| timeout())?;
        let mut waits = Vec::with_capacity(commands.len());
        let mut ids = Vec::with_capacity(commands.len());
        for c in &mut commands {
            let id = uuid::Uuid::new_v4().simple().to_string();
            let (tx, rx) = oneshot::channel();
            self.lock().insert(id.clone(), tx);
            c["correlationData"] = Value::String(id.clone());
            ids.push(id);
            waits.push(rx);
        }
        // The payload may hold a password: it goes to the broker only, never to a log.
        let payload = json!({ "commands": commands }).to_string();
        let sent = self
            .client
            .publish(COMMAND_TOPIC, QoS::AtLeastOnce, false, payload)
            .await;
        let result = match sent {
            Err(e) => Err(DynsecError::Send {
                command: names.clone(),
                message: e.to_string(),
            }),
            Ok(()) => {
                let mut replies = Vec::with_capacity(waits.len());
                let mut result = Ok(());
                for rx in waits {
                    match tokio::time::timeout_at(deadline, rx).await {
                        Ok(Ok(r)) => replies.push(r),
                        _ => {
                            result = Err(timeout());
                            break;
                        }
                    }
                }
                result.map(|_| replies)
            }
        };
        if result.is_err() {
            let mut pending = self.lock();
            for id in &ids {
                pending.remove(id);
            }
        }
        result
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, oneshot::Sender<Reply>>> {
        // A poisoned map still holds valid senders; a panic elsewhere must not stop enrollment.
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Run `commands`; every answer must be success or one of the `tolerated` errors (such as
    /// "Client not found" when deleting), in order.
    async fn run_checked(
        &self,
        commands: Vec<Value>,
        tolerated: &[&str],
        wait: Duration,
    ) -> Result<Vec<Reply>, DynsecError> {
        let described: Vec<(String, String)> = commands
            .iter()
            .map(|c| {
                let subject = c["username"].as_str().or(c["rolename"].as_str());
                (
                    c["command"].as_str().unwrap_or("?").to_owned(),
                    subject.unwrap_or("").to_owned(),
                )
            })
            .collect();
        let replies = self.run(commands, wait).await?;
        for ((command, subject), r) in described.into_iter().zip(&replies) {
            if let Some(message) = &r.error {
                if !tolerated.contains(&message.as_str()) {
                    return Err(DynsecError::Refused {
                        command,
                        subject,
                        message: message.clone(),
                    });
                }
            }
        }
        Ok(replies)
    }

    /// Make sure the shared agent role and the server's own role exist and that the server's
    /// account holds the latter. Granting a role makes Mosquitto drop the account's connections,
    /// so its answer may be lost; the grant is checked again after reconnecting.
    pub async fn ensure(&self) -> Result<(), DynsecError> {
        if self.ensured.load(Ordering::Acquire) {
            return Ok(());
        }
        use mtm_common::topics;
        let setup = || {
            vec![
                json!({"command": "createRole", "rolename": AGENT_ROLE,
                       "textdescription": "mtm agents: read the package catalog",
                       "acls": [acl("subscribeLiteral", topics::PACKAGES)]}),
                json!({"command": "createRole", "rolename": SERVER_ROLE,
                       "textdescription": "mtm-server: publish commands and the catalog",
                       "acls": [acl("publishClientSend", "mtm/v1/#"),
                                acl("subscribePattern", "mtm/v1/#"),
                                acl("subscribeLiteral", topics::UP_SHARED)]}),
                json!({"command": "getClient", "username": self.username}),
            ]
        };
        let mut last = None;
        for _ in 0..4 {
            let replies = match self
                .run_checked(setup(), &["Role already exists"], self.timeout)
                .await
            {
                Ok(r) => r,
                Err(e @ DynsecError::Timeout { .. }) => {
                    last = Some(e);
                    continue;
                }
                Err(e) => return Err(e),
            };
            let has_role = replies
                .get(2)
                .and_then(|r| r.data["client"]["roles"].as_array())
                .is_some_and(|roles| roles.iter().any(|r| r["rolename"] == SERVER_ROLE));
            if has_role {
                self.ensured.store(true, Ordering::Release);
                return Ok(());
            }
            let grant = json!({"command": "addClientRole", "username": self.username,
                               "rolename": SERVER_ROLE});
            // Mosquitto drops this account's connections when it gains a role, often before the
            // answer is sent: wait briefly, then look again after reconnecting.
            match self.run_checked(vec![grant], &[], GRANT_WAIT).await {
                Ok(_) => {}
                Err(e @ DynsecError::Timeout { .. }) => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or(DynsecError::Refused {
            command: "addClientRole".into(),
            subject: self.username.clone(),
            message: "the role did not stay granted".into(),
        }))
    }

    /// Create (or re-create) `agent_id`'s client with `password`, its own role and
    /// [`AGENT_ROLE`]. Deleting first ends a session made with an older password.
    pub async fn issue_agent(&self, agent_id: &str, password: &str) -> Result<(), DynsecError> {
        self.ensure().await?;
        let role = agent_role(agent_id);
        let commands = vec![
            json!({"command": "deleteClient", "username": agent_id}),
            json!({"command": "deleteRole", "rolename": role}),
            json!({"command": "createRole", "rolename": role,
                   "textdescription": "this agent's own topics", "acls": agent_acls(agent_id)}),
            json!({"command": "createClient", "username": agent_id, "password": password,
                   "clientid": mtm_common::topics::client_id(agent_id),
                   "roles": [{"rolename": AGENT_ROLE}, {"rolename": role}]}),
        ];
        self.run_checked(
            commands,
            &["Client not found", "Role not found"],
            self.timeout,
        )
        .await?;
        Ok(())
    }

    /// Delete `agent_id`'s client and role; Mosquitto drops its open session at once. An agent
    /// that has none (never enrolled, or revoked before) is fine.
    pub async fn remove_agent(&self, agent_id: &str) -> Result<(), DynsecError> {
        let commands = vec![
            json!({"command": "deleteClient", "username": agent_id}),
            json!({"command": "deleteRole", "rolename": agent_role(agent_id)}),
        ];
        self.run_checked(
            commands,
            &["Client not found", "Role not found"],
            self.timeout,
        )
        .await?;
        Ok(())
    }
}

/// Keep the connection: subscribe to answers after every connect, hand each answer to its
/// waiter, and retry with a growing pause after errors.
async fn run_loop(
    mut eventloop: rumqttc::EventLoop,
    client: AsyncClient,
    pending: Pending,
    ready: watch::Sender<bool>,
) {
    let mut failures = 0u32;
    loop {
        match eventloop.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                failures = 0;
                if let Err(e) = client.try_subscribe(RESPONSE_TOPIC, QoS::AtLeastOnce) {
                    tracing::error!(error = %e, "dynsec: subscribing to answers failed");
                }
            }
            Ok(Event::Incoming(Packet::SubAck(a))) => {
                let ok = a
                    .return_codes
                    .iter()
                    .all(|c| matches!(c, rumqttc::SubscribeReasonCode::Success(_)));
                if !ok {
                    tracing::error!("dynsec: the broker refused the answer topic; is the server's MQTT user a dynsec admin?");
                }
                ready.send_replace(ok);
            }
            Ok(Event::Incoming(Packet::Publish(p))) if p.topic == RESPONSE_TOPIC => {
                dispatch(&pending, &p.payload);
            }
            Ok(_) => {}
            Err(e) => {
                ready.send_replace(false);
                failures = failures.saturating_add(1);
                if failures == 1 || failures.is_multiple_of(30) {
                    tracing::warn!(error = %e, failures, "dynsec: MQTT connection error; retrying");
                }
                tokio::time::sleep(Duration::from_millis(200 * u64::from(failures.min(10)))).await;
            }
        }
    }
}

/// Hand each answer in `payload` to the command waiting for its correlation id; answers to
/// other replicas' commands (all admins get all answers) are ignored.
fn dispatch(pending: &Pending, payload: &[u8]) {
    let Ok(v) = serde_json::from_slice::<Value>(payload) else {
        tracing::warn!("dynsec: an answer that is not JSON");
        return;
    };
    let Some(responses) = v["responses"].as_array() else {
        return;
    };
    let mut pending = pending.lock().unwrap_or_else(|e| e.into_inner());
    for r in responses {
        let Some(id) = r["correlationData"].as_str() else {
            continue;
        };
        if let Some(tx) = pending.remove(id) {
            let _ = tx.send(Reply {
                error: r["error"].as_str().map(str::to_owned),
                data: r["data"].clone(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_acls_name_only_its_own_topics() {
        let acls = agent_acls("cafe-1");
        let topics: Vec<&str> = acls
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["topic"].as_str().unwrap())
            .collect();
        assert_eq!(
            topics,
            [
                "mtm/v1/up/cafe-1",
                "mtm/v1/status/cafe-1",
                "mtm/v1/down/cafe-1"
            ]
        );
    }

    #[tokio::test]
    async fn answers_reach_their_waiters_only() {
        let pending: Pending = Arc::default();
        let (tx, rx) = oneshot::channel();
        pending.lock().unwrap().insert("a".into(), tx);
        dispatch(
            &pending,
            br#"{"responses":[{"command":"x","correlationData":"other"},
                {"command":"createClient","error":"Client already exists","correlationData":"a"}]}"#,
        );
        let r = rx.await.unwrap();
        assert_eq!(r.error.as_deref(), Some("Client already exists"));
        assert!(pending.lock().unwrap().is_empty());
    }
}
