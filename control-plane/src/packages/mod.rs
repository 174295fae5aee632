//! Token packages: what a voucher is sold as, and the catalog that turns them into router
//! profiles (`mtm-{slug}`) on every router.

mod api;
pub mod convergence;
mod pages;

pub(crate) use api::Doc;

use crate::app::{AppResult, AppState};
use crate::store::{now_ms, AuditEntry, NewPackage, Package, PackageChange};
use axum::Router;
use std::time::Duration;
use uuid::Uuid;

/// Package routes: the JSON API and the admin's edit page.
pub fn router() -> Router<AppState> {
    api::router().merge(pages::router())
}

/// Create a package as admin `cur`, audited, and push the new catalog to every router;
/// `POST /api/packages` and the admin page both come here.
pub(crate) async fn create_package(
    state: &AppState,
    cur: &crate::auth::CurrentUser,
    new: NewPackage,
) -> AppResult<Package> {
    let p = state.store.create_package(new).await?;
    let entry = AuditEntry {
        actor: cur.user.username.clone(),
        action: "package.create".into(),
        target: p.id.to_string(),
        detail: serde_json::json!({"slug": p.slug, "price_minor": p.price_minor,
            "currency": p.currency, "lock_to_mac": p.lock_to_mac}),
    };
    state.store.audit(entry, now_ms()).await?;
    push_catalog(state).await;
    Ok(p)
}

/// Change package `id` as admin `cur` (audited by the store) and push the new catalog to every
/// router; `PUT /api/packages/{id}` and the admin page both come here.
pub(crate) async fn edit_package(
    state: &AppState,
    cur: &crate::auth::CurrentUser,
    id: Uuid,
    change: &PackageChange,
) -> AppResult<Package> {
    let p = state
        .store
        .update_package(id, change, &cur.user.username, now_ms())
        .await?;
    push_catalog(state).await;
    Ok(p)
}

/// How long an edit waits for the new catalog to be queued for every router before it answers.
/// The push carries on past it, and the catalog sweep ([`crate::catalog::catalog_loop`]) sends whatever it did
/// not, so a busy database slows the routers' update, never the admin's page.
pub const PUSH_WAIT: Duration = Duration::from_secs(5);

/// Queue the current catalog for every router that does not carry it (after a package is
/// created or edited), in one transaction, and send it; a router that cannot be reached now
/// gets it when it reconnects. Waits at most [`PUSH_WAIT`]: the push runs in a task of its own,
/// to the end, and a failure is logged, not answered: the package change is already made, and
/// the catalog sweep tries again within its period.
pub async fn push_catalog(state: &AppState) {
    let (store, dispatcher) = (state.store.clone(), state.dispatcher.clone());
    let push =
        tokio::spawn(
            async move { crate::catalog::sync_catalogs(&*store, &dispatcher, false).await },
        );
    match tokio::time::timeout(PUSH_WAIT, push).await {
        Ok(Ok(Ok(n))) => tracing::debug!(routers = n, "catalog queued"),
        Ok(Ok(Err(e))) => {
            tracing::warn!(error = %e, "catalog not queued; the catalog sweep will send it");
        }
        Ok(Err(e)) => tracing::error!(error = %e, "catalog push failed"),
        Err(_) => tracing::warn!(
            wait_s = PUSH_WAIT.as_secs(),
            "catalog still being queued; answering now"
        ),
    }
}

#[cfg(test)]
mod tests {
    use crate::store::{now_ms, NewRouter};
    use crate::testutil::{abandon_after, test_app, test_audit_entry};
    use axum::http::StatusCode;
    use mtm_common::CommandKind;
    use serde_json::json;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    /// A price edit on a busy day, as the soak's: sixty more routers, writers busy all along
    /// (ingest's acks stand for them), and writes whose callers gave up half-way (tills that
    /// timed out). The edit answers, and every router gets the new catalog exactly once, sent.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_catalog_edit_on_a_busy_day_reaches_every_router_once() {
        let app = test_app().await;
        let store = app.f.store.clone();
        let mut agents = vec![app.f.router.agent_id.clone()];
        for i in 0..60 {
            let key = mtm_common::keys::generate_signing_key();
            let r = store
                .create_router(NewRouter {
                    location_id: app.f.location.id,
                    name: format!("R{i}"),
                    agent_id: format!("agent-busy-{i}"),
                    public_key_hex: mtm_common::keys::public_key_hex(&key.verifying_key()),
                    mqtt_password: "agent-secret-password".into(),
                })
                .await
                .unwrap();
            agents.push(r.agent_id);
        }
        for i in 0..300u32 {
            let pause = Duration::from_micros(u64::from(i % 5) * 50);
            abandon_after(store.audit(test_audit_entry(i), now_ms()), 1 + i % 8, pause).await;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let writers: Vec<_> = (0..4)
            .map(|_| {
                let (store, stop) = (store.clone(), stop.clone());
                tokio::spawn(async move {
                    let mut n = 0u32;
                    while !stop.load(Ordering::Relaxed) {
                        store.next_cp_seq().await.unwrap();
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        let path = format!("/api/packages/{}", app.f.package.id);
        let body = json!({"name": "Hour", "price_minor": 650, "limit_uptime_s": 3600,
            "limit_bytes_total": null, "rate_limit": null, "shared_users": 1,
            "validity_s": null, "active": true});
        let (admin, _) = app.login("admin").await;
        let r = tokio::time::timeout(
            super::PUSH_WAIT * 4,
            app.json("PUT", &path, Some(&admin), Some(body)),
        )
        .await
        .expect("the edit answers");
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let version = crate::catalog::current_catalog(&*store)
            .await
            .unwrap()
            .version;
        crate::testutil::wait_until(Duration::from_secs(30), || async {
            let mut all = true;
            for a in &agents {
                let open = store.open_commands(a).await.unwrap();
                let catalogs: Vec<_> = open
                    .iter()
                    .filter(
                        |c| matches!(&c.kind, CommandKind::ApplyCatalog(q) if q.version == version),
                    )
                    .collect();
                assert!(catalogs.len() <= 1, "{a}: {catalogs:?}");
                all &= catalogs.len() == 1 && catalogs[0].state == "sent";
            }
            all
        })
        .await;
        stop.store(true, Ordering::Relaxed);
        for w in writers {
            assert!(w.await.unwrap() > 0, "the other writers went on");
        }
        let down = app.rec.down_to(&agents[30], &app.cp.verifying_key());
        assert!(down
            .iter()
            .any(|(_, m)| matches!(m, mtm_common::DownMessage::Command(c)
                if matches!(&c.kind, CommandKind::ApplyCatalog(q) if q.version == version))));
    }

    #[tokio::test]
    async fn admins_edit_a_package_over_json_and_the_catalog_is_queued() {
        let app = test_app().await;
        let path = format!("/api/packages/{}", app.f.package.id);
        let body = json!({"name": "Hour", "price_minor": 650, "limit_uptime_s": 3600,
            "limit_bytes_total": null, "rate_limit": null, "shared_users": 1,
            "validity_s": null, "active": true});
        let (manager, _) = app.login("manager").await;
        let r = app
            .json("PUT", &path, Some(&manager), Some(body.clone()))
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let (admin, _) = app.login("admin").await;
        let r = app.json("PUT", &path, Some(&admin), Some(body)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.json()["price_minor"], 650);
        let open = app.f.store.open_commands("agent-1").await.unwrap();
        assert!(open
            .iter()
            .any(|c| matches!(c.kind, mtm_common::CommandKind::ApplyCatalog(_))));
    }
}

#[cfg(test)]
mod tests_pages;

#[cfg(test)]
mod tests_convergence;
