//! Carrying out one verified command on the router. Every command is idempotent: a voucher is
//! found by its `mtm:{token_id}` comment before anything is added.

use std::collections::HashSet;
use std::time::Duration;

use mtm_common::{
    profile_name, router_comment, token_id_from_comment, Catalog, Command, CommandDone,
    CommandKind, CreateToken, TokenApplied, UpMessage,
};
use mtm_routeros::{Client, Error, HotspotUser, NewHotspotUser};
use uuid::Uuid;

use crate::batch::create_tokens;
use crate::hotspot::{inventory, logout_user, remove_session, user_profile};
use crate::store::{MacLock, StoreError, Txn, Validity};
use crate::telemetry::{usage_diff, PLAUSIBLE_CLOCK_MS};

/// Store changes that go in the same transaction as the command's result.
#[derive(Debug, Default)]
pub struct Effects {
    /// Validity windows to start tracking (each kept if already tracked).
    pub validities: Vec<(Uuid, Validity)>,
    /// A token removed: its validity window and MAC lock are forgotten.
    pub forget_validity: Option<Uuid>,
    /// Lock-to-first-device vouchers to watch (each kept, binding and all, if already watched).
    pub mac_locks: Vec<(Uuid, MacLock)>,
    /// The catalog version now on the router.
    pub catalog_version: Option<u64>,
    /// Further messages to send with the result (an inventory for `Resync`).
    pub extra: Vec<UpMessage>,
    /// A hotspot user just removed, with its counters read after its sessions ended: the usage
    /// since the last poll is reported before the result, since no later poll will see it.
    pub final_usage: Option<HotspotUser>,
}

impl Effects {
    /// What must be reported before the command's result: the usage of a removed user since
    /// its last report (its baseline goes with it).
    pub fn before_result(&self, t: &mut Txn<'_>) -> Result<(), StoreError> {
        let Some(u) = &self.final_usage else {
            return Ok(());
        };
        let mut baselines = std::collections::HashMap::new();
        if let Some(b) = t.baseline(&u.name)? {
            baselines.insert(u.name.clone(), b);
        }
        let now = t.now_ms();
        let clock = (now >= PLAUSIBLE_CLOCK_MS).then_some(now);
        let changes = usage_diff(std::slice::from_ref(u), &HashSet::new(), &baselines, clock);
        if !changes.is_empty() {
            let report = t.usage_report(changes.into_iter().map(|(u, _)| u).collect())?;
            t.enqueue(&UpMessage::Usage(report))?;
        }
        t.remove_baseline(&u.name)
    }

    /// Apply these effects inside `t`.
    pub fn apply(self, t: &mut Txn<'_>) -> Result<(), StoreError> {
        for (token, v) in &self.validities {
            t.set_validity_if_absent(*token, v)?;
        }
        for (token, lock) in &self.mac_locks {
            t.set_mac_lock_if_absent(*token, lock)?;
        }
        if let Some(token) = self.forget_validity {
            t.remove_validity(token)?;
            t.remove_mac_lock(token)?;
        }
        if let Some(v) = self.catalog_version {
            t.set_catalog_version(v)?;
        }
        for mut m in self.extra {
            if let UpMessage::Inventory(inv) = &mut m {
                t.vouch_inventory(inv)?;
            }
            t.enqueue(&m)?;
        }
        Ok(())
    }
}

/// What carrying out a command came to.
// One value per command, moved once: boxing the common variant would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Outcome {
    /// Finished: the result to send and the store changes that go with it.
    Done(UpMessage, Effects),
    /// Cannot be done right yet and must not be done wrong: try again later, after the
    /// commands queued behind it (a voucher whose package profile is not on the router and
    /// whose command does not describe it waits for the catalog).
    Wait(String),
}

fn done(cmd: &Command, detail: impl Into<String>) -> UpMessage {
    UpMessage::CommandDone(CommandDone {
        command_id: cmd.id,
        detail: detail.into(),
    })
}

/// Carry out `cmd`. `Err` means the router did not do it: a connection error (retry later) or
/// a trap (report it).
pub async fn apply(client: &Client, cmd: &Command) -> Result<Outcome, Error> {
    let mut fx = Effects::default();
    let msg = match &cmd.kind {
        CommandKind::CreateToken(ct) => match create_token(client, cmd, ct, &mut fx).await? {
            Some(m) => m,
            None => {
                return Ok(Outcome::Wait(format!(
                    "profile {} is not on the router yet",
                    profile_name(&ct.package_slug)
                )))
            }
        },
        CommandKind::CreateTokens(batch) => match create_tokens(client, cmd, batch).await? {
            Some(done) => {
                // Every voucher on the router is watched like a single one.
                let made: HashSet<Uuid> = done.applied.iter().map(|a| a.token_id).collect();
                for ct in batch.tokens.iter().filter(|ct| made.contains(&ct.token_id)) {
                    fx.validities.extend(validity(ct));
                    fx.mac_locks.extend(mac_lock(ct));
                }
                UpMessage::TokensApplied(done)
            }
            None => {
                return Ok(Outcome::Wait(
                    "a package profile of the batch is not on the router yet".into(),
                ))
            }
        },
        CommandKind::DisableToken { token_id } => match user_of(client, *token_id).await? {
            Some(u) => {
                client.set_hotspot_user_disabled(&u.id, true).await?;
                let n = logout_user(client, &u.name).await?;
                done(
                    cmd,
                    format!("disabled {}, {n} session(s) logged out", u.name),
                )
            }
            None => return Err(no_user(*token_id)),
        },
        CommandKind::EnableToken { token_id } => match user_of(client, *token_id).await? {
            Some(u) => {
                client.set_hotspot_user_disabled(&u.id, false).await?;
                done(cmd, format!("enabled {}", u.name))
            }
            None => return Err(no_user(*token_id)),
        },
        CommandKind::RemoveToken { token_id } => {
            fx.forget_validity = Some(*token_id);
            match user_of(client, *token_id).await? {
                Some(u) => {
                    logout_user(client, &u.name).await?;
                    // Read again: a session's traffic reaches the user's counters as it ends.
                    let last = user_of(client, *token_id).await?.unwrap_or(u);
                    client.remove_hotspot_user(&last.id).await?;
                    let detail = format!("removed {}", last.name);
                    fx.final_usage = Some(last);
                    done(cmd, detail)
                }
                None => done(cmd, "already absent"),
            }
        }
        CommandKind::ExtendToken(ext) => match user_of(client, ext.token_id).await? {
            Some(u) => {
                let limits = NewHotspotUser {
                    limit_uptime: ext.limit_uptime_s.map(Duration::from_secs),
                    limit_bytes_total: ext.limit_bytes_total,
                    ..NewHotspotUser::default()
                };
                client.set_hotspot_user(&u.id, &limits).await?;
                done(cmd, format!("limits of {} raised", u.name))
            }
            None => return Err(no_user(ext.token_id)),
        },
        CommandKind::LogoutToken { token_id } => match user_of(client, *token_id).await? {
            Some(u) => {
                let n = logout_user(client, &u.name).await?;
                done(cmd, format!("{n} session(s) of {} logged out", u.name))
            }
            None => return Err(no_user(*token_id)),
        },
        CommandKind::LogoutAll => {
            let sessions = client.active_sessions().await?;
            for s in &sessions {
                remove_session(client, &s.id).await?;
            }
            done(cmd, format!("{} session(s) logged out", sessions.len()))
        }
        CommandKind::DisableAll => {
            let users = client.hotspot_users().await?;
            let mut names = HashSet::new();
            for u in users.iter().filter(|u| is_mtm(u)) {
                if !u.disabled {
                    client.set_hotspot_user_disabled(&u.id, true).await?;
                }
                names.insert(u.name.clone());
            }
            for s in client.active_sessions().await? {
                if names.contains(&s.user) {
                    remove_session(client, &s.id).await?;
                }
            }
            done(cmd, format!("{} mtm user(s) disabled", names.len()))
        }
        CommandKind::ApplyCatalog(cat) => {
            let detail = apply_catalog(client, cat).await?;
            fx.catalog_version = Some(cat.version);
            done(cmd, detail)
        }
        CommandKind::UpdateAgent(_) => {
            // The runtime carries updates out before any router session is needed.
            return Err(Error::Trap {
                message: "agent updates are not router commands".into(),
                category: None,
            });
        }
        CommandKind::TrackValidity(t) => {
            fx.validities.extend(t.windows.iter().map(|w| {
                (
                    w.token_id,
                    Validity {
                        username: w.code.clone(),
                        validity_s: w.validity_s,
                        first_login_at: w.first_login_at,
                        expired_at: None,
                    },
                )
            }));
            done(
                cmd,
                format!("{} validity window(s) tracked", t.windows.len()),
            )
        }
        CommandKind::Resync => {
            fx.extra
                .push(UpMessage::Inventory(inventory(client).await?));
            done(cmd, "inventory sent")
        }
    };
    Ok(Outcome::Done(msg, fx))
}

fn no_user(token_id: Uuid) -> Error {
    Error::Trap {
        message: format!("no hotspot user for token {token_id}"),
        category: None,
    }
}

fn is_mtm(u: &HotspotUser) -> bool {
    u.comment
        .as_deref()
        .and_then(token_id_from_comment)
        .is_some()
}

async fn user_of(client: &Client, token_id: Uuid) -> Result<Option<HotspotUser>, Error> {
    client
        .hotspot_user_by_comment(&router_comment(token_id))
        .await
}

// `None`: the package's profile is not on the router and the command does not describe it, so
// the voucher waits rather than being made with another profile (wrong speed and limits for the
// customer, and a true "tampered" finding against whoever sold it).
async fn create_token(
    client: &Client,
    cmd: &Command,
    ct: &CreateToken,
    fx: &mut Effects,
) -> Result<Option<UpMessage>, Error> {
    let applied = |router_user_id: String, already_present: bool| {
        UpMessage::TokenApplied(TokenApplied {
            command_id: cmd.id,
            token_id: ct.token_id,
            router_user_id,
            already_present,
        })
    };
    let comment = router_comment(ct.token_id);
    if let Some(u) = client.hotspot_user_by_comment(&comment).await? {
        fx.validities.extend(validity(ct));
        fx.mac_locks.extend(mac_lock(ct));
        return Ok(Some(applied(u.id, true)));
    }
    let wanted = profile_name(&ct.package_slug);
    let profiles = client.user_profiles().await?;
    if !profiles.iter().any(|p| p.name == wanted) {
        match ct.profile.as_ref().filter(|p| p.slug == ct.package_slug) {
            Some(spec) => {
                tracing::info!(profile = %wanted, token_id = %ct.token_id,
                    "profile not on the router yet; made from the command");
                client.upsert_user_profile(&user_profile(spec)).await?;
            }
            None => return Ok(None),
        }
    }
    let id = client
        .add_hotspot_user(&NewHotspotUser {
            name: ct.code.clone(),
            password: ct.password.clone(),
            profile: Some(wanted),
            comment: Some(comment),
            limit_uptime: ct.limit_uptime_s.map(Duration::from_secs),
            limit_bytes_total: ct.limit_bytes_total,
        })
        .await?;
    fx.validities.extend(validity(ct));
    fx.mac_locks.extend(mac_lock(ct));
    Ok(Some(applied(id, false)))
}

fn mac_lock(ct: &CreateToken) -> Option<(Uuid, MacLock)> {
    ct.lock_to_mac.then(|| {
        (
            ct.token_id,
            MacLock {
                username: ct.code.clone(),
                bound_mac: None,
            },
        )
    })
}

fn validity(ct: &CreateToken) -> Option<(Uuid, Validity)> {
    ct.validity_s.map(|v| {
        (
            ct.token_id,
            Validity {
                username: ct.code.clone(),
                validity_s: v,
                first_login_at: None,
                expired_at: None,
            },
        )
    })
}

async fn apply_catalog(client: &Client, cat: &Catalog) -> Result<String, Error> {
    let mut wanted = HashSet::new();
    for p in &cat.packages {
        let name = profile_name(&p.slug);
        client.upsert_user_profile(&user_profile(p)).await?;
        wanted.insert(name);
    }
    // A retired package's profile stays while vouchers still use it: they keep working until
    // they run out, and a later catalog removes it.
    let in_use: HashSet<String> = client
        .hotspot_users()
        .await?
        .into_iter()
        .filter_map(|u| u.profile)
        .collect();
    let (mut removed, mut kept) = (0, 0);
    for p in client.user_profiles().await? {
        if p.name.starts_with("mtm-") && !wanted.contains(&p.name) {
            if in_use.contains(&p.name) {
                kept += 1;
            } else {
                client.remove_user_profile(&p.id).await?;
                removed += 1;
            }
        }
    }
    Ok(format!(
        "catalog v{}: {} profile(s) set, {removed} removed, {kept} retired but still in use",
        cat.version,
        wanted.len()
    ))
}
