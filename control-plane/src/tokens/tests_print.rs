//! A voucher's QR codes and print view through the whole app.

use crate::testutil::test_app;
use axum::http::StatusCode;

#[tokio::test]
async fn voucher_qr_and_print_views() {
    let app = test_app().await;
    let (token, _) = app.f.issue().await;
    let (staff, _) = app.login("staff").await;
    let qr = app
        .page(
            "GET",
            &format!("/tokens/{}/qr.svg", token.id),
            Some(&staff),
            None,
        )
        .await;
    assert_eq!(qr.status, StatusCode::OK);
    assert_eq!(qr.headers["content-type"], "image/svg+xml");
    assert!(qr.body.contains("<svg"));
    for size in ["58", "80", "a4"] {
        let p = format!("/tokens/{}/print?size={size}", token.id);
        let r = app.page("GET", &p, Some(&staff), None).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.body.contains(&format!("print-{size}")));
        assert!(r.body.contains(&token.code));
    }
    // Another staff member's voucher is not there for them.
    let (admin, _) = app.login("admin").await;
    let r = app
        .page(
            "GET",
            &format!("/tokens/{}/print", token.id),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
}
