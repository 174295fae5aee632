//! The simulated router behind each fleet agent: `routeros-sim`'s in-process hotspot model
//! ([`RouterState`]: users, profiles, sessions, counters, customers), driven directly instead of
//! over the RouterOS API, so a thousand routers cost a thousand small structs, not a thousand
//! listening sockets. Commands are carried out the way the real agent carries them out
//! (`agent/src/commands.rs`): idempotent by the `mtm:{token_id}` comment.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use mtm_common::{
    profile_name, router_comment, token_id_from_comment, ActiveSession, AppliedToken, Catalog,
    Command, CommandDone, CommandFailed, CommandKind, CreateToken, CreateTokens, FailedToken,
    Health, Inventory, PackageSpec, RouterUser, TokenApplied, TokensApplied, UpMessage, Usage,
};
use mtm_routeros::sim::customers;
use mtm_routeros::sim::state::{fmt_id, props, Profile, RouterState, User};
use mtm_routeros::values::{format_duration, parse_duration};
use mtm_routeros::CustomerProfile;
use sha2::Digest;
use uuid::Uuid;

/// Counters of one hotspot user at the last usage report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Baseline {
    uptime_s: u64,
    bytes_in: u64,
    bytes_out: u64,
}

/// What carrying out a command came to.
#[derive(Debug)]
pub enum Outcome {
    /// Finished: the messages to send, result last.
    Done(Vec<UpMessage>),
    /// The package's profile is not on the router and the command does not describe it: the
    /// voucher waits for the catalog, as the real agent's does.
    Wait,
}

/// One simulated router.
pub struct SimRouter {
    state: RouterState,
    baselines: HashMap<String, Baseline>,
    first_login: HashMap<String, i64>,
    /// The catalog version applied last.
    pub catalog_version: Option<u64>,
}

impl SimRouter {
    /// A fresh router named `identity`, with `extra_users` hotspot users that mtm did not make,
    /// each logged in (their usage is reported with no token id, as a real agent reports it).
    pub fn new(identity: &str, extra_users: usize) -> SimRouter {
        let mut state = RouterState::new(
            identity.to_owned(),
            "7.15.3 (stable)".into(),
            "hAP ax^3".into(),
        );
        for i in 0..extra_users {
            let name = format!("guest{i}");
            let id = state.alloc_id();
            state.users.insert(user(
                id,
                &[("name", &name), ("password", "x"), ("profile", "default")],
            ));
            let [.., hi, lo] = i.to_be_bytes();
            let mac = format!("02:00:00:00:{hi:02X}:{lo:02X}");
            let _ = customers::login(&mut state, &name, "x", &mac, None, "http-chap");
        }
        SimRouter {
            state,
            baselines: HashMap::new(),
            first_login: HashMap::new(),
            catalog_version: None,
        }
    }

    /// Simulated customers: time passes, some unused vouchers get used, sessions move bytes.
    pub fn customers_tick(&mut self, profile: &CustomerProfile) {
        customers::tick(&mut self.state, profile);
    }

    /// The hotspot user made for `token_id`, as (name, profile), if there is one.
    pub fn voucher(&self, token_id: Uuid) -> Option<(String, Option<String>)> {
        let comment = router_comment(token_id);
        self.state
            .users
            .iter()
            .find(|u| u.props.get("comment") == Some(&comment))
            .map(|u| (prop(u, "name").unwrap_or_default(), prop(u, "profile")))
    }

    /// Every voucher (mtm hotspot user) on the router, by token id.
    pub fn vouchers(&self) -> Vec<Uuid> {
        self.state
            .users
            .iter()
            .filter_map(|u| {
                u.props
                    .get("comment")
                    .and_then(|c| token_id_from_comment(c))
            })
            .collect()
    }

    /// Carry out `cmd` at `now_ms`.
    pub fn apply(&mut self, cmd: &Command, now_ms: i64) -> Outcome {
        let done = |detail: String| {
            UpMessage::CommandDone(CommandDone {
                command_id: cmd.id,
                detail,
            })
        };
        let failed = |reason: String| {
            UpMessage::CommandFailed(CommandFailed {
                command_id: cmd.id,
                reason,
                retryable: false,
            })
        };
        let msg = match &cmd.kind {
            CommandKind::CreateToken(ct) => return self.create_token(cmd.id, ct),
            CommandKind::CreateTokens(batch) => return self.create_tokens(cmd.id, batch),
            CommandKind::DisableToken { token_id } | CommandKind::EnableToken { token_id } => {
                let disable = matches!(cmd.kind, CommandKind::DisableToken { .. });
                match self.user_id(*token_id) {
                    Some((id, name)) => {
                        let v = if disable { "true" } else { "false" };
                        self.state.users.set_prop(id, "disabled", v);
                        if disable {
                            customers::logout_user(&mut self.state, &name, "admin");
                        }
                        done(format!(
                            "{} {name}",
                            if disable { "disabled" } else { "enabled" }
                        ))
                    }
                    None => failed(format!("no hotspot user for token {token_id}")),
                }
            }
            CommandKind::RemoveToken { token_id } => match self.user_id(*token_id) {
                Some((id, name)) => {
                    customers::logout_user(&mut self.state, &name, "admin");
                    let mut out = Vec::new();
                    // Its usage since the last report goes before the result, as no later
                    // report will see it.
                    if let Some(u) = self.state.users.get(id).cloned() {
                        if let Some(entry) = self.diff_one(&u, now_ms) {
                            out.push(UpMessage::Usage(mtm_common::UsageReport {
                                entries: vec![entry],
                                issued_here: Vec::new(),
                            }));
                        }
                    }
                    self.state.users.remove(id);
                    self.baselines.remove(&name);
                    out.push(done(format!("removed {name}")));
                    return Outcome::Done(out);
                }
                None => done("already absent".into()),
            },
            CommandKind::LogoutToken { token_id } => match self.user_id(*token_id) {
                Some((_, name)) => {
                    customers::logout_user(&mut self.state, &name, "admin");
                    done(format!("sessions of {name} logged out"))
                }
                None => failed(format!("no hotspot user for token {token_id}")),
            },
            CommandKind::LogoutAll => {
                let n = self.state.sessions.len();
                let ids: Vec<u32> = self.state.sessions.iter().map(|s| s.id).collect();
                for id in ids {
                    customers::logout_session(&mut self.state, id, "admin");
                }
                done(format!("{n} session(s) logged out"))
            }
            CommandKind::DisableAll => {
                let ours: Vec<(u32, String)> = self
                    .state
                    .users
                    .iter()
                    .filter(|u| {
                        u.props
                            .get("comment")
                            .is_some_and(|c| c.starts_with("mtm:"))
                    })
                    .map(|u| (u.id, prop(u, "name").unwrap_or_default()))
                    .collect();
                for (id, name) in &ours {
                    self.state.users.set_prop(*id, "disabled", "true");
                    customers::logout_user(&mut self.state, name, "admin");
                }
                done(format!("{} mtm user(s) disabled", ours.len()))
            }
            CommandKind::ApplyCatalog(cat) => {
                let detail = self.apply_catalog(cat);
                self.catalog_version = Some(cat.version);
                done(detail)
            }
            CommandKind::Resync => {
                return Outcome::Done(vec![
                    UpMessage::Inventory(self.inventory()),
                    done("inventory sent".into()),
                ])
            }
            CommandKind::UpdateAgent(_) => {
                failed("the fleet simulator does not install updates".into())
            }
            // Kinds added after this simulator was written are answered, never left open.
            #[allow(unreachable_patterns)]
            _ => failed("command not supported by this agent".into()),
        };
        Outcome::Done(vec![msg])
    }

    fn user_id(&self, token_id: Uuid) -> Option<(u32, String)> {
        let comment = router_comment(token_id);
        self.state
            .users
            .iter()
            .find(|u| u.props.get("comment") == Some(&comment))
            .map(|u| (u.id, prop(u, "name").unwrap_or_default()))
    }

    fn create_token(&mut self, command_id: Uuid, ct: &CreateToken) -> Outcome {
        if !self.has_profile_for(ct) {
            return Outcome::Wait;
        }
        let (router_user_id, already_present) = self.make_user(ct);
        Outcome::Done(vec![UpMessage::TokenApplied(TokenApplied {
            command_id,
            token_id: ct.token_id,
            router_user_id,
            already_present,
        })])
    }

    /// A batch, as the real agent makes it: every voucher whose user is already there counts
    /// as applied, a name taken by another user fails that voucher alone.
    fn create_tokens(&mut self, command_id: Uuid, batch: &CreateTokens) -> Outcome {
        if !batch.tokens.iter().all(|ct| self.has_profile_for(ct)) {
            return Outcome::Wait;
        }
        let (mut applied, mut failed) = (Vec::new(), Vec::new());
        for ct in &batch.tokens {
            let taken = self.user_id(ct.token_id).is_none()
                && self
                    .state
                    .users
                    .iter()
                    .any(|u| u.props.get("name") == Some(&ct.code));
            if taken {
                failed.push(FailedToken {
                    token_id: ct.token_id,
                    reason: format!("the name {} is taken by another hotspot user", ct.code),
                });
                continue;
            }
            let (router_user_id, already_present) = self.make_user(ct);
            applied.push(AppliedToken {
                token_id: ct.token_id,
                router_user_id,
                already_present,
            });
        }
        Outcome::Done(vec![UpMessage::TokensApplied(TokensApplied {
            command_id,
            applied,
            failed,
        })])
    }

    /// Whether the voucher's profile is on the router, made from its description if need be.
    fn has_profile_for(&mut self, ct: &CreateToken) -> bool {
        if self
            .state
            .profile_by_name(&profile_name(&ct.package_slug))
            .is_some()
        {
            return true;
        }
        match ct.profile.as_deref().filter(|p| p.slug == ct.package_slug) {
            Some(spec) => {
                self.upsert_profile(spec);
                true
            }
            None => false,
        }
    }

    /// The voucher's hotspot user (made unless already there): its id and whether it was there.
    fn make_user(&mut self, ct: &CreateToken) -> (String, bool) {
        if let Some((id, _)) = self.user_id(ct.token_id) {
            return (fmt_id(id), true);
        }
        let wanted = profile_name(&ct.package_slug);
        let id = self.state.alloc_id();
        let comment = router_comment(ct.token_id);
        let uptime = ct
            .limit_uptime_s
            .map(|s| format_duration(Duration::from_secs(s)))
            .unwrap_or_default();
        let bytes = ct
            .limit_bytes_total
            .map(|b| b.to_string())
            .unwrap_or_default();
        let password = ct.password.clone().unwrap_or_default();
        let mut pairs = vec![
            ("name", ct.code.as_str()),
            ("password", password.as_str()),
            ("profile", wanted.as_str()),
            ("comment", comment.as_str()),
        ];
        if !uptime.is_empty() {
            pairs.push(("limit-uptime", uptime.as_str()));
        }
        if !bytes.is_empty() {
            pairs.push(("limit-bytes-total", bytes.as_str()));
        }
        self.state.users.insert(user(id, &pairs));
        (fmt_id(id), false)
    }

    fn upsert_profile(&mut self, p: &PackageSpec) {
        let name = profile_name(&p.slug);
        let shared = p.shared_users.max(1).to_string();
        let timeout = p
            .session_timeout_s
            .map(|s| format_duration(Duration::from_secs(s)))
            .unwrap_or_default();
        let rate = p.rate_limit.clone().unwrap_or_default();
        let pairs = [
            ("name", name.as_str()),
            ("shared-users", shared.as_str()),
            ("session-timeout", timeout.as_str()),
            ("rate-limit", rate.as_str()),
        ];
        match self
            .state
            .profiles
            .iter_mut()
            .find(|x| x.props.get("name") == Some(&name))
        {
            Some(existing) => existing.props = props(&pairs),
            None => {
                let id = self.state.alloc_id();
                self.state.profiles.push(Profile {
                    id,
                    props: props(&pairs),
                    builtin: false,
                });
            }
        }
    }

    fn apply_catalog(&mut self, cat: &Catalog) -> String {
        let wanted: HashSet<String> = cat.packages.iter().map(|p| profile_name(&p.slug)).collect();
        for p in &cat.packages {
            self.upsert_profile(p);
        }
        let in_use: HashSet<String> = self
            .state
            .users
            .iter()
            .filter_map(|u| prop(u, "profile"))
            .collect();
        let before = self.state.profiles.len();
        self.state.profiles.retain(|p| {
            let name = p.props.get("name").cloned().unwrap_or_default();
            p.builtin
                || !name.starts_with("mtm-")
                || wanted.contains(&name)
                || in_use.contains(&name)
        });
        format!(
            "catalog v{}: {} profile(s) set, {} removed",
            cat.version,
            wanted.len(),
            before - self.state.profiles.len()
        )
    }

    /// Usage entries for every user whose counters moved since the last report; moves the
    /// baselines, so each change is reported once.
    pub fn usage(&mut self, now_ms: i64) -> Vec<Usage> {
        let active: HashSet<String> = self.state.sessions.iter().map(|s| s.user.clone()).collect();
        for name in &active {
            self.first_login.entry(name.clone()).or_insert(now_ms);
        }
        let users: Vec<User> = self
            .state
            .users
            .iter()
            .filter(|u| !u.builtin)
            .cloned()
            .collect();
        users
            .iter()
            .filter_map(|u| self.diff_one(u, now_ms))
            .collect()
    }

    fn diff_one(&mut self, u: &User, now_ms: i64) -> Option<Usage> {
        let name = prop(u, "name")?;
        let now = Baseline {
            uptime_s: u.uptime.as_secs(),
            bytes_in: u.bytes_in,
            bytes_out: u.bytes_out,
        };
        let was = self.baselines.get(&name).copied().unwrap_or_default();
        if now == was {
            return None;
        }
        let reset = now.uptime_s < was.uptime_s
            || now.bytes_in < was.bytes_in
            || now.bytes_out < was.bytes_out;
        let delta = |n: u64, w: u64| if reset { n } else { n - w };
        self.baselines.insert(name.clone(), now);
        let active = self.state.sessions.iter().any(|s| s.user == name);
        if active {
            self.first_login.entry(name.clone()).or_insert(now_ms);
        }
        Some(Usage {
            token_id: u
                .props
                .get("comment")
                .and_then(|c| token_id_from_comment(c)),
            first_login_at: self.first_login.get(&name).copied(),
            username: name,
            active,
            uptime_s: now.uptime_s,
            bytes_in: now.bytes_in,
            bytes_out: now.bytes_out,
            delta_uptime_s: delta(now.uptime_s, was.uptime_s),
            delta_bytes_in: delta(now.bytes_in, was.bytes_in),
            delta_bytes_out: delta(now.bytes_out, was.bytes_out),
            counters_reset: reset,
        })
    }

    /// Every hotspot user and active session.
    pub fn inventory(&self) -> Inventory {
        let users = self
            .state
            .users
            .iter()
            .filter(|u| !u.builtin)
            .map(|u| RouterUser {
                router_id: fmt_id(u.id),
                name: prop(u, "name").unwrap_or_default(),
                profile: prop(u, "profile"),
                comment: prop(u, "comment"),
                limit_uptime_s: prop(u, "limit-uptime")
                    .and_then(|v| parse_duration(&v).ok())
                    .map(|d| d.as_secs()),
                limit_bytes_total: prop(u, "limit-bytes-total").and_then(|v| v.parse().ok()),
                uptime_s: u.uptime.as_secs(),
                bytes_in: u.bytes_in,
                bytes_out: u.bytes_out,
                disabled: u.props.get("disabled").is_some_and(|d| d == "true"),
                password_sha256: prop(u, "password")
                    .map(|p| hex::encode(sha2::Sha256::digest(p.as_bytes()))),
                mac_address: prop(u, "mac-address").and_then(|m| mtm_common::normalize_mac(&m)),
            })
            .collect();
        let sessions = self
            .state
            .sessions
            .iter()
            .map(|s| ActiveSession {
                router_id: fmt_id(s.id),
                user: s.user.clone(),
                address: Some(s.address.clone()),
                mac_address: Some(s.mac.clone()),
                uptime_s: s.uptime.as_secs(),
                bytes_in: s.bytes_in,
                bytes_out: s.bytes_out,
            })
            .collect();
        Inventory {
            users,
            sessions,
            logins: Vec::new(),
            issued_here: Vec::new(),
        }
    }

    /// Router health as the agent reports it; the outbox fields are the agent's.
    pub fn health(&self, outbox_len: u64, outbox_low_seq: u64) -> Health {
        Health {
            router_reachable: true,
            cpu_load: Some(3),
            free_memory: Some(200 << 20),
            total_memory: Some(256 << 20),
            uptime_s: Some(self.state.uptime().as_secs()),
            routeros_version: Some(self.state.version.clone()),
            board_name: Some(self.state.board_name.clone()),
            outbox_len,
            active_sessions: u32::try_from(self.state.sessions.len()).unwrap_or(u32::MAX),
            outbox_low_seq,
            store_errors: 0,
            // The simulator makes no claim to have watched through a silence.
            watching_since: None,
        }
    }

    /// Moves simulated time (for restarts that find the router's clock moved).
    pub fn advance(&mut self, d: Duration) {
        customers::advance(&mut self.state, d);
    }
}

fn user(id: u32, pairs: &[(&str, &str)]) -> User {
    User {
        id,
        props: props(pairs),
        uptime: Duration::ZERO,
        bytes_in: 0,
        bytes_out: 0,
        packets_in: 0,
        packets_out: 0,
        builtin: false,
    }
}

fn prop(u: &User, key: &str) -> Option<String> {
    u.props.get(key).filter(|v| !v.is_empty()).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn create(token_id: Uuid, slug: &str, with_profile: bool) -> Command {
        Command {
            id: Uuid::new_v4(),
            issued_at: 0,
            kind: CommandKind::CreateToken(CreateToken {
                token_id,
                code: "ABCD2345".into(),
                password: Some("pw".into()),
                package_slug: slug.into(),
                limit_uptime_s: Some(3600),
                limit_bytes_total: None,
                validity_s: None,
                profile: with_profile.then(|| {
                    Box::new(PackageSpec {
                        slug: slug.into(),
                        name: "One hour".into(),
                        rate_limit: None,
                        shared_users: 1,
                        session_timeout_s: None,
                        lock_to_mac: false,
                    })
                }),
                lock_to_mac: false,
            }),
        }
    }

    #[test]
    fn create_token_is_idempotent_and_waits_for_a_missing_profile() {
        let mut r = SimRouter::new("r", 0);
        let t = Uuid::new_v4();
        assert!(matches!(r.apply(&create(t, "1h", false), 0), Outcome::Wait));
        let first = r.apply(&create(t, "1h", true), 0);
        assert!(matches!(&first, Outcome::Done(m)
            if matches!(&m[0], UpMessage::TokenApplied(a) if !a.already_present)));
        let again = r.apply(&create(t, "1h", false), 0);
        assert!(matches!(&again, Outcome::Done(m)
            if matches!(&m[0], UpMessage::TokenApplied(a) if a.already_present)));
        assert_eq!(r.vouchers(), vec![t]);
        assert_eq!(r.voucher(t).unwrap().1.as_deref(), Some("mtm-1h"));
    }

    #[test]
    fn usage_reports_each_change_once_with_exact_deltas() {
        let mut r = SimRouter::new("r", 2);
        let profile = CustomerProfile {
            tick: Duration::from_secs(1),
            login_chance: 0.0,
            bytes_per_tick: (100, 1000),
        };
        r.customers_tick(&profile);
        let first = r.usage(1);
        assert_eq!(first.len(), 2);
        assert!(first.iter().all(|u| u.token_id.is_none() && u.active));
        assert!(r.usage(2).is_empty(), "nothing moved since");
        r.customers_tick(&profile);
        let second = r.usage(3);
        for u in &second {
            let before = first.iter().find(|f| f.username == u.username).unwrap();
            assert_eq!(u.bytes_out, before.bytes_out + u.delta_bytes_out);
        }
    }
}
