//! What must hold at the end of a day: the routers, the ledger, the usage figures and the cash
//! agree, and nothing is open. Each check returns what differs, so the test can wait for the
//! routers and the server to converge and then report every difference at once.

use std::collections::{HashMap, HashSet};

use mtm_control_plane::store::{every_token, LogTable, Store, Token, TokenFilter, TokenState};

use super::Day;

/// Tokens that mtm itself took off the router (removed by a command). A voucher whose validity
/// ended stays on the router, disabled, with its counters.
fn gone_from_router(t: &Token) -> bool {
    t.state == TokenState::Removed
}

/// Routers against the database: every voucher sold exists once in the database and, unless
/// mtm removed it, once on its router with its package's profile and exactly the router's usage
/// counters; nothing on a router that the ledger does not know; no open command.
pub async fn routers_match(day: &Day, store: &dyn Store) -> Vec<String> {
    let mut diffs = Vec::new();
    let tokens = every_token(store, &TokenFilter::default()).await.unwrap();
    let by_id: HashMap<String, &Token> = tokens.iter().map(|t| (t.id.to_string(), t)).collect();
    let sold = day.sold.lock().unwrap().clone();
    if tokens.len() != sold.len() {
        diffs.push(format!(
            "{} vouchers sold, {} in the database",
            sold.len(),
            tokens.len()
        ));
    }
    let codes: HashSet<&str> = tokens.iter().map(|t| t.code.as_str()).collect();
    for sale in &sold {
        let Some(t) = by_id.get(&sale.token_id) else {
            diffs.push(format!("sold {} missing from the database", sale.code));
            continue;
        };
        let on_router: Vec<_> = day.sites[sale.site]
            .sim
            .users()
            .into_iter()
            .filter(|u| u.name == sale.code)
            .collect();
        match (gone_from_router(t), on_router.as_slice()) {
            (true, []) => {}
            (true, _) => diffs.push(format!(
                "{} is {:?} but still on its router",
                t.code, t.state
            )),
            (false, [u]) => {
                let want = mtm_common::profile_name(&t.package_slug);
                if (t.state == TokenState::Expired) != u.disabled {
                    diffs.push(format!(
                        "{} (site {}) is {:?}, disabled on the router: {}",
                        t.code, sale.site, t.state, u.disabled
                    ));
                }
                if u.profile.as_deref() != Some(want.as_str()) {
                    diffs.push(format!(
                        "{} has profile {:?}, not {want}",
                        t.code, u.profile
                    ));
                }
                let router = (u.uptime.as_secs(), u.bytes_in, u.bytes_out);
                let db = (t.uptime_s, t.bytes_in, t.bytes_out);
                if router != db {
                    diffs.push(format!(
                        "{} (site {}, {:?}) usage (uptime s, in, out): router {router:?}, \
                         database {db:?}",
                        t.code, sale.site, t.state
                    ));
                }
            }
            (false, found) => diffs.push(format!(
                "{} ({:?}) is on its router {} times",
                t.code,
                t.state,
                found.len()
            )),
        }
    }
    for (i, site) in day.sites.iter().enumerate() {
        for u in site.sim.users() {
            let ours = u.comment.as_deref().is_some_and(|c| c.starts_with("mtm:"));
            if ours && !codes.contains(u.name.as_str()) {
                diffs.push(format!(
                    "router {i} holds {} that the ledger does not know",
                    u.name
                ));
            }
        }
        let open = store.open_commands(&site.agent_id).await.unwrap();
        if !open.is_empty() {
            diffs.push(format!("{}: {} open commands", site.agent_id, open.len()));
        }
    }
    diffs
}

/// The ledger: one `issued` row per voucher, at most one `applied` and one `first_use`; and
/// the chains verify.
pub async fn ledger_sound(day: &Day, store: &dyn Store) -> Vec<String> {
    let mut diffs = Vec::new();
    let mut seen: HashMap<(String, String), usize> = HashMap::new();
    let mut offset = 0u32;
    loop {
        let page = store
            .list_log(LogTable::Ledger, 10_000, offset)
            .await
            .unwrap();
        for row in &page {
            if ["issued", "applied", "first_use"].contains(&row.action.as_str()) {
                *seen
                    .entry((row.target.clone(), row.action.clone()))
                    .or_default() += 1;
            }
        }
        if page.is_empty() {
            break;
        }
        offset += u32::try_from(page.len()).unwrap();
    }
    for ((token, event), n) in seen {
        if n > 1 {
            diffs.push(format!("token {token}: {n} `{event}` ledger rows"));
        }
    }
    let (ok, text) = day.audit_verify();
    if !ok {
        diffs.push(format!("audit verify failed: {text}"));
    }
    diffs
}

/// Cash: revenue in the database equals what was sold, and every shift closed with the drawer
/// the test counted, so its expected cash is the float plus its sales.
pub async fn cash_matches(day: &Day, store: &dyn Store) -> Vec<String> {
    let mut diffs = Vec::new();
    let tokens = every_token(store, &TokenFilter::default()).await.unwrap();
    let sold: i64 = day.sold.lock().unwrap().iter().map(|s| s.price_minor).sum();
    let stored: i64 = tokens.iter().map(|t| t.price_minor).sum();
    if sold != stored {
        diffs.push(format!("revenue: sold {sold}, database {stored}"));
    }
    let shifts = store.list_shifts(&Default::default()).await.unwrap();
    for s in shifts {
        let sales: i64 = tokens
            .iter()
            .filter(|t| t.shift_id == Some(s.id))
            .map(|t| t.price_minor)
            .sum();
        if s.closed_at.is_none() {
            diffs.push(format!("shift {} still open", s.id));
        } else if s.expected_cash_minor != Some(s.opening_float_minor + sales) {
            diffs.push(format!(
                "shift {}: expected cash {:?}, float + sales {}",
                s.id,
                s.expected_cash_minor,
                s.opening_float_minor + sales
            ));
        }
    }
    diffs
}
