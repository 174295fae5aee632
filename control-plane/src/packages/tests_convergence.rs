//! The catalog convergence route: which routers carry the catalog on sale, for managers only.

use crate::testutil::test_app;
use axum::http::StatusCode;

#[tokio::test]
async fn convergence_flags_routers_behind_the_current_catalog() {
    let app = test_app().await;
    let (manager, _) = app.login("manager").await;
    let r = app
        .json("GET", "/api/catalog/convergence", Some(&manager), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = r.json();
    let current = crate::catalog::current_catalog(&*app.f.store)
        .await
        .unwrap()
        .version;
    assert_eq!(v["catalog_version"], current);
    assert!(current > 0);
    assert_eq!(
        v["stragglers"], 1,
        "the fixture router reported nothing yet"
    );
    assert_eq!(v["routers"][0]["agent_id"], "agent-1");
    assert_eq!(v["routers"][0]["converged"], false);
    let (staff, _) = app.login("staff").await;
    let r = app
        .json("GET", "/api/catalog/convergence", Some(&staff), None)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}
