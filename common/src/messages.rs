//! The typed messages carried in an [`crate::Envelope`] body.
//!
//! `UpMessage` goes from an agent to the control plane on `up/{agent_id}`; `DownMessage` goes the
//! other way on `down/{agent_id}`; a [`Catalog`] is published retained on `packages`.
//! Times are unix milliseconds (UTC), durations seconds, byte counts bytes.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Prefix of the router comment that ties a hotspot user to the token that made it.
pub const COMMENT_PREFIX: &str = "mtm:";

/// The comment an agent writes on every hotspot user it creates: `mtm:{token_id}`.
pub fn router_comment(token_id: Uuid) -> String {
    format!("{COMMENT_PREFIX}{token_id}")
}

/// The token id in a router comment, if it is a well-formed `mtm:` comment.
pub fn token_id_from_comment(comment: &str) -> Option<Uuid> {
    comment
        .strip_prefix(COMMENT_PREFIX)
        .and_then(|id| Uuid::parse_str(id).ok())
}

/// The hotspot user profile name a package becomes on every router.
pub fn profile_name(package_slug: &str) -> String {
    format!("mtm-{package_slug}")
}

// ---------------------------------------------------------------- up: agent -> control plane

/// Everything an agent sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "t", content = "c")]
pub enum UpMessage {
    /// First message after every connect.
    Hello(Hello),
    /// Periodic router and agent health.
    Health(Health),
    /// Usage changes since the previous report.
    Usage(UsageReport),
    /// Every hotspot user and active session on the router, for reconciliation.
    Inventory(Inventory),
    /// A `CreateToken` command was applied (or found already applied).
    TokenApplied(TokenApplied),
    /// Any other command finished.
    CommandDone(CommandDone),
    /// A command could not be carried out.
    CommandFailed(CommandFailed),
    /// The agent disabled a token whose validity window ran out.
    TokenExpired(TokenExpired),
    /// Every chain checkpoint the agent keeps, oldest first: the answer to
    /// `DownMessage::SendCheckpoints`. Added after the first release, at the end of the enum.
    Checkpoints(Checkpoints),
    /// The agent bound a lock-to-MAC token to the device of its first login (set the hotspot
    /// user's `mac-address`). Added after the first release; a server that predates it cannot
    /// read it, so servers are upgraded before agents.
    MacBound(MacBound),
    /// What a `CreateTokens` command came to, voucher by voucher. Added after `MacBound`, at
    /// the end of the enum; a server that predates it cannot read it (it never sends
    /// `CreateTokens` either).
    TokensApplied(crate::batch::TokensApplied),
}

/// A token sold with "lock to first device" is now bound to one MAC address on the router.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MacBound {
    /// The token.
    pub token_id: Uuid,
    /// Hotspot user name (the voucher code).
    pub username: String,
    /// The MAC address the agent set on the user, as [`normalize_mac`] writes it.
    pub mac_address: String,
    /// When the agent set it (agent clock, unix ms).
    pub bound_at: i64,
}

/// A MAC address written the way RouterOS prints it (upper case, colon-separated), or `None`
/// for anything that is not one, and for `00:00:00:00:00:00`, which RouterOS reads as "any
/// device" on a hotspot user.
pub fn normalize_mac(mac: &str) -> Option<String> {
    let parts: Vec<&str> = mac.trim().split([':', '-']).collect();
    let well_formed = parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_hexdigit()));
    if !well_formed {
        return None;
    }
    let out = parts.join(":").to_ascii_uppercase();
    (out != "00:00:00:00:00:00").then_some(out)
}

/// Signed chain checkpoints (see [`crate::checkpoint`]), in either direction.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoints {
    /// At most [`crate::checkpoint::MAX_CHECKPOINTS_PER_MESSAGE`].
    pub checkpoints: Vec<crate::Checkpoint>,
}

/// Sent after every connect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// The agent's own version.
    pub agent_version: String,
    /// Highest control-plane `seq` the agent has seen, so the control plane can resend the rest.
    pub last_cp_seq: u64,
    /// Package catalog version the router carries, if any.
    pub catalog_version: Option<u64>,
}

/// Router and agent health.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Health {
    /// Whether the agent can talk to its router right now.
    pub router_reachable: bool,
    /// `cpu-load`, percent.
    pub cpu_load: Option<u8>,
    /// Bytes free.
    pub free_memory: Option<u64>,
    /// Bytes total.
    pub total_memory: Option<u64>,
    /// Router uptime, seconds.
    pub uptime_s: Option<u64>,
    /// RouterOS version string, e.g. `7.15.3 (stable)`.
    pub routeros_version: Option<String>,
    /// Board name, e.g. `hAP ax^3`.
    pub board_name: Option<String>,
    /// Messages waiting in the agent's outbox.
    pub outbox_len: u64,
    /// Active hotspot sessions now.
    pub active_sessions: u32,
    /// Lowest `seq` still in the agent's outbox when this report was made (the report's own
    /// `seq` if the outbox was empty). Every lower `seq` is either acknowledged or was
    /// superseded before it was ever sent (an unsent usage report absorbed by a later one, an
    /// unsent inventory or health report replaced), so it will never arrive: the control plane
    /// may treat every `seq` below it as settled. 0 from agents that predate the field.
    #[serde(default)]
    pub outbox_low_seq: u64,
    /// Store operations that failed since the agent started (a full disk, an I/O error that
    /// made it reopen its database). Nonzero means the agent's disk needs a look even if it
    /// healed; 0 from agents that predate the field.
    #[serde(default)]
    pub store_errors: u64,
    /// Wall time (agent clock, ms) since which the agent has run without a break, measured on
    /// its monotonic clock so a clock set by NTP meanwhile does not stretch it. With the report's
    /// own `at` it says how long the agent has watched its router without a gap: a router silent
    /// for less than that was cut off from the broker, not left unwatched. `None` from agents
    /// that predate the field.
    #[serde(default)]
    pub watching_since: Option<i64>,
}

/// Usage changes for the tokens whose counters moved since the last report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct UsageReport {
    /// One entry per hotspot user that changed.
    pub entries: Vec<Usage>,
    /// The entries' vouchers this agent made under commands the control plane signed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub issued_here: Vec<IssuedHere>,
}

/// A voucher this agent made on its router under a command the control plane signed: the
/// agent's word, as trustworthy as its word that the user exists at all, that the voucher is
/// mtm's own. A database restored from an older backup (or cut short) no longer knows such a
/// voucher; with this the control plane says so instead of calling it rogue and blaming the
/// staff on duty. Absent from agents that predate it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct IssuedHere {
    /// The token id of the `CreateToken` command (also in the user's `mtm:` comment).
    pub token_id: Uuid,
    /// The voucher code (hotspot user name).
    pub code: String,
    /// When the control plane issued it (the command's `issued_at`, control-plane clock).
    pub issued_at: i64,
}

/// One hotspot user's counters, as cumulative router values plus the change since last report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Usage {
    /// From the user's `mtm:` comment; `None` for a user mtm did not make.
    pub token_id: Option<Uuid>,
    /// Hotspot user name (the voucher code).
    pub username: String,
    /// Has an active session now.
    pub active: bool,
    /// When the agent first saw this user logged in.
    pub first_login_at: Option<i64>,
    /// Cumulative uptime on the router.
    pub uptime_s: u64,
    /// Cumulative bytes from the client (upload).
    pub bytes_in: u64,
    /// Cumulative bytes to the client (download).
    pub bytes_out: u64,
    /// Uptime added since the last report.
    pub delta_uptime_s: u64,
    /// Upload added since the last report.
    pub delta_bytes_in: u64,
    /// Download added since the last report.
    pub delta_bytes_out: u64,
    /// A counter went backwards (reset on the router): reported, never hidden.
    pub counters_reset: bool,
}

/// A full picture of the router's hotspot, sent periodically and on `Resync`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Inventory {
    /// Every hotspot user.
    pub users: Vec<RouterUser>,
    /// Every active session.
    pub sessions: Vec<ActiveSession>,
    /// Hotspot logins and logouts the router's log shows since the previous inventory, so a
    /// user made, used and removed between two inventories (or while the agent was down) is
    /// still seen. Absent from agents that predate it.
    #[serde(default)]
    pub logins: Vec<LoggedLogin>,
    /// The vouchers among the users and logins that this agent made under commands the
    /// control plane signed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub issued_here: Vec<IssuedHere>,
}

/// A hotspot session line from the router's log (`->: USER (IP): logged in`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct LoggedLogin {
    /// Hotspot user name.
    pub user: String,
    /// Client address, as the line shows it.
    pub address: Option<String>,
    /// What happened: `logged in`, `logged out: keepalive timeout`, ...
    pub event: String,
    /// The line's time as the router printed it (`12:00:00`, `2024-05-17 12:00:00`, ...).
    pub router_time: String,
}

impl LoggedLogin {
    /// Reads a hotspot log message: `->: USER (IP): EVENT`, or with a server name in place of
    /// `->`. Only session events (`logged in`, `logged out: ...`) count: an attempt or a failed
    /// login proves no use. `None` for anything else.
    pub fn parse(message: &str, router_time: &str) -> Option<LoggedLogin> {
        let split = message.find("): ")?;
        let (head, event) = (&message[..split], &message[split + 3..]);
        let open = head.rfind(" (")?;
        let (who, address) = (&head[..open], &head[open + 2..]);
        // Drop the `->: ` (or `server: `) in front of the user name.
        let user = match who.find(": ") {
            Some(i) => &who[i + 2..],
            None => who,
        };
        let session = event == "logged in" || event.starts_with("logged out");
        if user.is_empty() || !session {
            return None;
        }
        Some(LoggedLogin {
            user: user.to_string(),
            address: (!address.is_empty()).then(|| address.to_string()),
            event: event.to_string(),
            router_time: router_time.to_string(),
        })
    }
}

/// A hotspot user as the router shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct RouterUser {
    /// Router item id, `*1A`.
    pub router_id: String,
    /// User name.
    pub name: String,
    /// Profile name.
    pub profile: Option<String>,
    /// Comment (an mtm token carries `mtm:{token_id}`).
    pub comment: Option<String>,
    /// `limit-uptime`, seconds.
    pub limit_uptime_s: Option<u64>,
    /// `limit-bytes-total`.
    pub limit_bytes_total: Option<u64>,
    /// Cumulative uptime.
    pub uptime_s: u64,
    /// Cumulative upload.
    pub bytes_in: u64,
    /// Cumulative download.
    pub bytes_out: u64,
    /// Disabled on the router.
    pub disabled: bool,
    /// SHA-256 hex of the password, so tampering shows without the password travelling.
    pub password_sha256: Option<String>,
    /// The only device allowed to log in as this user (`mac-address`, upper case); `None` when
    /// any may (unset, or `00:00:00:00:00:00`). Absent from agents that predate it.
    #[serde(default)]
    pub mac_address: Option<String>,
}

/// An active hotspot session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ActiveSession {
    /// Router item id.
    pub router_id: String,
    /// Hotspot user name.
    pub user: String,
    /// Client IP address.
    pub address: Option<String>,
    /// Client MAC address.
    pub mac_address: Option<String>,
    /// Session uptime.
    pub uptime_s: u64,
    /// Session upload.
    pub bytes_in: u64,
    /// Session download.
    pub bytes_out: u64,
}

/// A `CreateToken` was carried out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenApplied {
    /// The command this answers.
    pub command_id: Uuid,
    /// The token now on the router.
    pub token_id: Uuid,
    /// The router's `.id` for the hotspot user.
    pub router_user_id: String,
    /// True when the user already existed (a repeated command), so nothing was added.
    pub already_present: bool,
}

/// A command other than `CreateToken` finished.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandDone {
    /// The command this answers.
    pub command_id: Uuid,
    /// What was done, for the event log.
    pub detail: String,
}

/// A command could not be carried out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandFailed {
    /// The command this answers.
    pub command_id: Uuid,
    /// Why, in words (RouterOS trap text, verification failure, ...).
    pub reason: String,
    /// The agent will try again by itself (e.g. router unreachable).
    pub retryable: bool,
}

/// The agent disabled a token and logged its session out when its validity window ran out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenExpired {
    /// The token.
    pub token_id: Uuid,
    /// When it expired.
    pub expired_at: i64,
}

// ---------------------------------------------------------------- down: control plane -> agent

/// Everything the control plane sends to one agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "t", content = "c")]
pub enum DownMessage {
    /// Every `UpMessage` with `seq <= up_to_seq` is committed; the agent may drop them.
    Ack {
        /// Highest committed sequence number.
        up_to_seq: u64,
    },
    /// Something to do on the router.
    Command(Command),
    /// Exactly these `seq`s are committed (or already were): the agent drops them. What ingest
    /// sends: control-plane replicas that share ingest each acknowledge only what they
    /// themselves committed, so no message is dropped that another replica has not yet stored,
    /// and gaps in an agent's `seq`s (coalesced reports) never stall acknowledgement.
    AckSeqs {
        /// Committed sequence numbers.
        seqs: Vec<u64>,
        /// Highest `seq` the control plane holds for this agent, so an agent whose store was
        /// wiped moves its counter past it instead of sending duplicates forever.
        highest_seen: u64,
    },
    /// Publish again every unacknowledged outbox message with `seq >= from_seq`, oldest first,
    /// now rather than when its retransmission timer runs out. The control plane sends it when
    /// it could not store a batch it received, or after its own restart. Messages that are no
    /// longer in the outbox (acknowledged, or superseded before they were sent) are not sent,
    /// and an agent answers nothing else. Added after the first release (tagged by name, so
    /// older messages decode unchanged); an agent that predates it refuses it, logged once.
    Resend {
        /// Lowest `seq` to publish again.
        from_seq: u64,
    },
    /// Keep these signed chain checkpoints as a witness (the agent keeps the newest few per
    /// chain and one per day; see `docs/mqtt-api.md`). Nothing answers it. Added after the
    /// first release; an agent that predates it refuses it, logged once.
    Checkpoints(Checkpoints),
    /// Answer with `UpMessage::Checkpoints`: every checkpoint kept. Added with `Checkpoints`.
    SendCheckpoints,
}

/// A command with a stable id: resending it never applies it twice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Command {
    /// Stable across resends; the agent's inbox is keyed by it.
    pub id: Uuid,
    /// When the control plane first issued it (unix ms); the agent refuses commands older than
    /// its window.
    pub issued_at: i64,
    /// What to do.
    pub kind: CommandKind,
}

/// The things an agent can be told to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "t", content = "c")]
pub enum CommandKind {
    /// Add a hotspot user for a token (idempotent by its `mtm:{token_id}` comment).
    CreateToken(CreateToken),
    /// Disable a token's hotspot user.
    DisableToken {
        /// The token.
        token_id: Uuid,
    },
    /// Enable a token's hotspot user.
    EnableToken {
        /// The token.
        token_id: Uuid,
    },
    /// Remove a token's hotspot user.
    RemoveToken {
        /// The token.
        token_id: Uuid,
    },
    /// Log out the token's active sessions.
    LogoutToken {
        /// The token.
        token_id: Uuid,
    },
    /// Log out every active session on the router (emergency override).
    LogoutAll,
    /// Disable every mtm hotspot user on the router (emergency override).
    DisableAll,
    /// Make the router's `mtm-*` profiles match this catalog.
    ApplyCatalog(Catalog),
    /// Send a full inventory now.
    Resync,
    /// Download, verify and install a signed agent release, then restart into it. Added after
    /// the first release; serde tags variants by name, so older messages still decode.
    UpdateAgent(AgentUpdate),
    /// Give a sold token more time or data (after-sales): set its user's limits to these
    /// totals. The values are absolute, so carrying it out twice changes nothing. Added after
    /// the first release; an agent that predates it refuses it.
    ExtendToken(ExtendToken),
    /// Make many vouchers at once (pipelined on the router): a large batch is a few of these
    /// instead of one `CreateToken` round trip per voucher. Answered by
    /// `UpMessage::TokensApplied`. Added after `ExtendToken`, at the end of the enum; an agent
    /// that predates it refuses it.
    CreateTokens(crate::batch::CreateTokens),
    /// Enforce the validity windows of vouchers sold before this device came (a replaced or
    /// reinstalled agent, whose store starts empty). Windows already tracked are kept. Added
    /// after `CreateTokens`, at the end of the enum; an agent that predates it refuses it.
    TrackValidity(crate::batch::TrackValidity),
}

/// The limits a token's hotspot user must carry after an extension; `None` leaves one as is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtendToken {
    /// The token.
    pub token_id: Uuid,
    /// New `limit-uptime`, seconds.
    pub limit_uptime_s: Option<u64>,
    /// New `limit-bytes-total`.
    pub limit_bytes_total: Option<u64>,
}

/// A signed agent release to install. The agent checks target, version, size,
/// SHA-256 and the release-key signature (over exactly these fields) before installing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentUpdate {
    /// Version, `MAJOR.MINOR.PATCH`.
    pub version: String,
    /// Target, e.g. `aarch64-linux`.
    pub target: String,
    /// Path on the control plane's HTTP server to download the binary from, e.g.
    /// `/api/releases/{id}/download`.
    pub url_path: String,
    /// Binary size, bytes.
    pub size: u64,
    /// SHA-256 of the binary, hex.
    pub sha256_hex: String,
    /// Release-key signature, hex (see the agent's `update::Release`).
    pub signature_hex: String,
}

/// Everything the router needs to make one voucher.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateToken {
    /// The token's id; written to the router as the comment `mtm:{token_id}`.
    pub token_id: Uuid,
    /// Hotspot user name (the voucher code).
    pub code: String,
    /// Hotspot password, if the package uses one.
    pub password: Option<String>,
    /// Package slug; the router profile is `mtm-{slug}`.
    pub package_slug: String,
    /// `limit-uptime`, seconds.
    pub limit_uptime_s: Option<u64>,
    /// `limit-bytes-total`.
    pub limit_bytes_total: Option<u64>,
    /// Valid this long after first login; the agent enforces it.
    pub validity_s: Option<u64>,
    /// The package's profile as the catalog describes it, so an agent whose router does not
    /// carry `mtm-{slug}` yet (a sale racing the catalog) makes that profile itself instead of
    /// creating the user with another one. Absent in commands from servers that predate it.
    /// Boxed: it would make every `CommandKind` as large as this variant.
    #[serde(default)]
    pub profile: Option<Box<PackageSpec>>,
    /// Bind the voucher to the first device that logs in with it (the package's "lock to
    /// first device" when it was sold). `false` in commands from servers that predate it.
    #[serde(default)]
    pub lock_to_mac: bool,
}

/// The package catalog every router carries, versioned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Catalog {
    /// Increases with every change.
    pub version: u64,
    /// All active packages.
    pub packages: Vec<PackageSpec>,
}

/// One package as a router profile sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PackageSpec {
    /// Short name; the profile is `mtm-{slug}`.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// RouterOS `rate-limit`, e.g. `2M/5M`.
    pub rate_limit: Option<String>,
    /// `shared-users`.
    pub shared_users: u32,
    /// `session-timeout`, seconds.
    pub session_timeout_s: Option<u64>,
    /// Vouchers of this package are bound to the first device that logs in with them. For
    /// display on the agent side: what binds a voucher is `CreateToken::lock_to_mac`, fixed at
    /// sale. `false` in catalogs from servers that predate it.
    #[serde(default)]
    pub lock_to_mac: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::{from_cbor, to_cbor};

    #[test]
    fn comments_round_trip() {
        let id = Uuid::new_v4();
        assert_eq!(token_id_from_comment(&router_comment(id)), Some(id));
        assert_eq!(token_id_from_comment("mtm:not-a-uuid"), None);
        assert_eq!(token_id_from_comment("batch42"), None);
        assert_eq!(profile_name("1h"), "mtm-1h");
    }

    #[test]
    fn hotspot_log_lines_are_read() {
        let l = LoggedLogin::parse("->: ROGUE1 (10.5.50.12): logged in", "12:00:01").unwrap();
        assert_eq!(l.user, "ROGUE1");
        assert_eq!(l.address.as_deref(), Some("10.5.50.12"));
        assert_eq!(l.event, "logged in");
        assert_eq!(l.router_time, "12:00:01");
        let out = LoggedLogin::parse(
            "hotspot1: V 2 (10.5.50.13): logged out: keepalive timeout",
            "x",
        )
        .unwrap();
        assert_eq!(
            (out.user.as_str(), out.event.as_str()),
            ("V 2", "logged out: keepalive timeout")
        );
        assert!(
            LoggedLogin::parse("->: A (10.5.50.12): trying to log in by http-chap", "").is_none()
        );
        assert!(LoggedLogin::parse(
            "->: A (10.5.50.12): login failed: invalid username or password",
            ""
        )
        .is_none());
        assert!(LoggedLogin::parse("user admin logged in from 10.0.0.1 via api", "").is_none());
    }

    #[test]
    fn every_message_round_trips_through_cbor() {
        let id = Uuid::new_v4();
        let downs = vec![
            DownMessage::Ack { up_to_seq: 9 },
            DownMessage::Resend { from_seq: 4 },
            DownMessage::AckSeqs {
                seqs: vec![3, 5],
                highest_seen: 5,
            },
            DownMessage::Command(Command {
                id,
                issued_at: 5,
                kind: CommandKind::CreateToken(CreateToken {
                    token_id: id,
                    code: "ABCD2345".into(),
                    password: None,
                    package_slug: "1h".into(),
                    limit_uptime_s: Some(3600),
                    limit_bytes_total: None,
                    validity_s: Some(86400),
                    profile: Some(Box::new(PackageSpec {
                        slug: "1h".into(),
                        name: "One hour".into(),
                        rate_limit: Some("2M/5M".into()),
                        shared_users: 1,
                        session_timeout_s: None,
                        lock_to_mac: true,
                    })),
                    lock_to_mac: true,
                }),
            }),
            DownMessage::Command(Command {
                id,
                issued_at: 5,
                kind: CommandKind::ApplyCatalog(Catalog {
                    version: 3,
                    packages: vec![PackageSpec {
                        slug: "1h".into(),
                        name: "One hour".into(),
                        rate_limit: Some("2M/5M".into()),
                        shared_users: 1,
                        session_timeout_s: None,
                        lock_to_mac: false,
                    }],
                }),
            }),
            DownMessage::Command(Command {
                id,
                issued_at: 5,
                kind: CommandKind::Resync,
            }),
            DownMessage::Command(Command {
                id,
                issued_at: 5,
                kind: CommandKind::ExtendToken(ExtendToken {
                    token_id: id,
                    limit_uptime_s: Some(7200),
                    limit_bytes_total: None,
                }),
            }),
            DownMessage::Command(Command {
                id,
                issued_at: 5,
                kind: CommandKind::UpdateAgent(AgentUpdate {
                    version: "0.2.0".into(),
                    target: "aarch64-linux".into(),
                    url_path: format!("/api/releases/{id}/download"),
                    size: 5_000_000,
                    sha256_hex: "ab".repeat(32),
                    signature_hex: "cd".repeat(64),
                }),
            }),
        ];
        for m in downs {
            assert_eq!(from_cbor::<DownMessage>(&to_cbor(&m).unwrap()).unwrap(), m);
        }
        let ups = vec![
            UpMessage::Hello(Hello {
                agent_version: "0.1.0".into(),
                last_cp_seq: 3,
                catalog_version: None,
            }),
            UpMessage::Health(Health::default()),
            UpMessage::Health(Health {
                outbox_low_seq: 12,
                store_errors: 3,
                ..Default::default()
            }),
            UpMessage::Inventory(Inventory::default()),
            UpMessage::Inventory(Inventory {
                users: vec![RouterUser {
                    name: "ABCD2345".into(),
                    mac_address: Some("34:12:F9:8A:21:4C".into()),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            UpMessage::MacBound(MacBound {
                token_id: id,
                username: "ABCD2345".into(),
                mac_address: "34:12:F9:8A:21:4C".into(),
                bound_at: 7,
            }),
            UpMessage::TokenApplied(TokenApplied {
                command_id: id,
                token_id: id,
                router_user_id: "*1A".into(),
                already_present: false,
            }),
            UpMessage::CommandFailed(CommandFailed {
                command_id: id,
                reason: "no such item".into(),
                retryable: false,
            }),
        ];
        for m in ups {
            assert_eq!(from_cbor::<UpMessage>(&to_cbor(&m).unwrap()).unwrap(), m);
        }
    }

    /// A `Health` from an agent that predates the store fields still decodes, with them 0.
    #[test]
    fn an_older_health_report_decodes() {
        #[derive(Serialize)]
        struct OldHealth {
            router_reachable: bool,
            cpu_load: Option<u8>,
            free_memory: Option<u64>,
            total_memory: Option<u64>,
            uptime_s: Option<u64>,
            routeros_version: Option<String>,
            board_name: Option<String>,
            outbox_len: u64,
            active_sessions: u32,
        }
        #[derive(Serialize)]
        #[serde(tag = "t", content = "c")]
        enum OldUp {
            Health(OldHealth),
        }
        let old = OldUp::Health(OldHealth {
            router_reachable: true,
            cpu_load: Some(3),
            free_memory: None,
            total_memory: None,
            uptime_s: None,
            routeros_version: None,
            board_name: None,
            outbox_len: 7,
            active_sessions: 2,
        });
        let want = UpMessage::Health(Health {
            router_reachable: true,
            cpu_load: Some(3),
            outbox_len: 7,
            active_sessions: 2,
            ..Default::default()
        });
        assert_eq!(
            from_cbor::<UpMessage>(&to_cbor(&old).unwrap()).unwrap(),
            want
        );
    }

    #[test]
    fn macs_are_written_as_routeros_prints_them() {
        assert_eq!(
            normalize_mac("34:12:f9:8a:21:4c").as_deref(),
            Some("34:12:F9:8A:21:4C")
        );
        assert_eq!(
            normalize_mac("34-12-F9-8A-21-4C").as_deref(),
            Some("34:12:F9:8A:21:4C")
        );
        assert_eq!(normalize_mac("00:00:00:00:00:00"), None);
        assert_eq!(normalize_mac(""), None);
        assert_eq!(normalize_mac("34:12:F9:8A:21"), None);
        assert_eq!(normalize_mac("34:12:F9:8A:21:4G"), None);
        assert_eq!(normalize_mac("341:2:F9:8A:21:4C"), None);
    }

    /// A catalog entry and a router user from before lock-to-MAC still decode,
    /// unlocked and with no MAC.
    #[test]
    fn messages_from_before_lock_to_mac_decode() {
        #[derive(Serialize)]
        struct OldSpec {
            slug: String,
            name: String,
            rate_limit: Option<String>,
            shared_users: u32,
            session_timeout_s: Option<u64>,
        }
        #[derive(Serialize)]
        struct OldUser {
            router_id: String,
            name: String,
            profile: Option<String>,
            comment: Option<String>,
            limit_uptime_s: Option<u64>,
            limit_bytes_total: Option<u64>,
            uptime_s: u64,
            bytes_in: u64,
            bytes_out: u64,
            disabled: bool,
            password_sha256: Option<String>,
        }
        let spec: PackageSpec = from_cbor(
            &to_cbor(&OldSpec {
                slug: "1h".into(),
                name: "Hour".into(),
                rate_limit: None,
                shared_users: 1,
                session_timeout_s: None,
            })
            .unwrap(),
        )
        .unwrap();
        assert!(!spec.lock_to_mac);
        let user: RouterUser = from_cbor(
            &to_cbor(&OldUser {
                router_id: "*1".into(),
                name: "A".into(),
                profile: None,
                comment: None,
                limit_uptime_s: None,
                limit_bytes_total: None,
                uptime_s: 0,
                bytes_in: 0,
                bytes_out: 0,
                disabled: false,
                password_sha256: None,
            })
            .unwrap(),
        )
        .unwrap();
        assert_eq!(user.mac_address, None);
    }
}
