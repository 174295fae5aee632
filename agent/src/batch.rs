//! Carrying out `CreateTokens`: many vouchers made with pipelined `/ip/hotspot/user/add`
//! requests on one RouterOS session (all in flight at once, told apart by their tags) instead of
//! one round trip each. Idempotent like `CreateToken`: a voucher whose `mtm:{token_id}` user is
//! already on the router counts as applied, so a repeated or resumed command adds nothing twice.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use futures::future::join_all;
use mtm_common::{
    profile_name, router_comment, AppliedToken, Command, CreateToken, CreateTokens, FailedToken,
    TokensApplied,
};
use mtm_routeros::{Client, Error, NewHotspotUser};

use crate::hotspot::user_profile;

/// The router user a voucher's name is taken by, as far as a batch needs to know.
struct Existing {
    id: String,
    comment: Option<String>,
}

/// Make every voucher of `batch`. `Ok(None)`: a package's profile is not on the router and no
/// voucher describes it, so the whole command waits for the catalog (see `CreateToken`).
/// `Err` only for a connection error (the command runs again, adding only what is missing);
/// a voucher the router refuses is reported failed, the others still applied.
pub async fn create_tokens(
    client: &Client,
    cmd: &Command,
    batch: &CreateTokens,
) -> Result<Option<TokensApplied>, Error> {
    if !ensure_profiles(client, &batch.tokens).await? {
        return Ok(None);
    }
    let existing = users_by_name(client).await?;
    let mut applied = Vec::with_capacity(batch.tokens.len());
    let mut failed = Vec::new();
    let mut to_add: Vec<&CreateToken> = Vec::new();
    for ct in &batch.tokens {
        match existing.get(&ct.code) {
            Some(u) if u.comment.as_deref() == Some(router_comment(ct.token_id).as_str()) => {
                applied.push(AppliedToken {
                    token_id: ct.token_id,
                    router_user_id: u.id.clone(),
                    already_present: true,
                });
            }
            Some(_) => failed.push(FailedToken {
                token_id: ct.token_id,
                reason: format!("the name {} is taken by another hotspot user", ct.code),
            }),
            None => to_add.push(ct),
        }
    }
    let users: Vec<NewHotspotUser> = to_add.iter().map(|ct| new_user(ct)).collect();
    let adds = users.iter().map(|u| client.add_hotspot_user(u));
    for (ct, res) in to_add.iter().zip(join_all(adds).await) {
        match res {
            Ok(id) => applied.push(AppliedToken {
                token_id: ct.token_id,
                router_user_id: id,
                already_present: false,
            }),
            Err(e @ Error::Trap { .. }) => {
                // Made meanwhile under the same comment (a resent command racing this one)?
                match client.hotspot_user_by_name(&ct.code).await? {
                    Some(u)
                        if u.comment.as_deref() == Some(router_comment(ct.token_id).as_str()) =>
                    {
                        applied.push(AppliedToken {
                            token_id: ct.token_id,
                            router_user_id: u.id,
                            already_present: true,
                        })
                    }
                    _ => failed.push(FailedToken {
                        token_id: ct.token_id,
                        reason: e.to_string(),
                    }),
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(Some(TokensApplied {
        command_id: cmd.id,
        applied,
        failed,
    }))
}

fn new_user(ct: &CreateToken) -> NewHotspotUser {
    NewHotspotUser {
        name: ct.code.clone(),
        password: ct.password.clone(),
        profile: Some(profile_name(&ct.package_slug)),
        comment: Some(router_comment(ct.token_id)),
        limit_uptime: ct.limit_uptime_s.map(Duration::from_secs),
        limit_bytes_total: ct.limit_bytes_total,
    }
}

/// Make each package profile the batch needs that the router lacks, from a voucher that
/// describes it; false if one is missing and none does.
async fn ensure_profiles(client: &Client, tokens: &[CreateToken]) -> Result<bool, Error> {
    let on_router: HashSet<String> = client
        .user_profiles()
        .await?
        .into_iter()
        .map(|p| p.name)
        .collect();
    let mut wanted: HashMap<&str, Option<&mtm_common::PackageSpec>> = HashMap::new();
    for ct in tokens {
        let spec = ct.profile.as_deref().filter(|p| p.slug == ct.package_slug);
        let slot = wanted.entry(ct.package_slug.as_str()).or_default();
        if slot.is_none() {
            *slot = spec;
        }
    }
    for (slug, spec) in wanted {
        let name = profile_name(slug);
        if on_router.contains(&name) {
            continue;
        }
        match spec {
            Some(spec) => {
                tracing::info!(profile = %name, "profile not on the router yet; made from the command");
                client.upsert_user_profile(&user_profile(spec)).await?;
            }
            None => return Ok(false),
        }
    }
    Ok(true)
}

/// Every hotspot user's id and comment by name: one listing instead of a look-up per voucher.
async fn users_by_name(client: &Client) -> Result<HashMap<String, Existing>, Error> {
    let reply = client
        .command(&["/ip/hotspot/user/print", "=.proplist=.id,name,comment"])
        .await?;
    Ok(reply
        .rows
        .iter()
        .filter_map(|r| {
            let name = r.get("name")?.to_string();
            let id = r.get(".id")?.to_string();
            let comment = r.get("comment").cloned();
            Some((name, Existing { id, comment }))
        })
        .collect())
}
