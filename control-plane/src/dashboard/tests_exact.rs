//! Exact at any size, on both databases: more vouchers in a shift and a day, and more alerts,
//! than any page or query batch holds. Every figure, report total and export must still count
//! each one, and the pages show the rest behind a next link.

use crate::reconcile::{AlertKind, Finding, Severity};
use crate::store::{now_ms, FigureFilter};
use crate::testutil::{postgres_fixture, sqlite_fixture, test_app_on, TestApp};
use axum::http::StatusCode;

/// Past every cap the code ever had (500 rows a page, 500 a query) and every page size.
const VOUCHERS: usize = 620;
const ALERTS: usize = 610;

async fn busy_day(app: &TestApp) {
    for _ in 0..VOUCHERS {
        app.f.issue().await;
    }
    let now = now_ms();
    for i in 0..ALERTS {
        let finding = Finding {
            kind: AlertKind::RogueToken,
            severity: Severity::Warning,
            agent_id: Some("agent-1".into()),
            router_id: Some(app.f.router.id),
            location_id: Some(app.f.location.id),
            staff_id: None,
            shift_id: None,
            token_id: None,
            dedup_key: format!("exact:{i}"),
            summary: format!("user X{i} on the router was not issued"),
            evidence: serde_json::json!({ "user": format!("X{i}") }),
        };
        app.f
            .store
            .raise_alert(&finding, now)
            .await
            .unwrap()
            .unwrap();
    }
}

/// The CSV's data rows (header dropped) split into cells; no cell here holds a comma.
fn csv_rows(body: &str) -> Vec<Vec<String>> {
    body.lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect()
}

async fn exact_at_any_size(app: TestApp) {
    busy_day(&app).await;
    let f = &app.f;
    let n = i64::try_from(VOUCHERS).unwrap();
    let sold = n * f.package.price_minor;
    let float = 1000;

    // The database's figures.
    let day = FigureFilter::default();
    let figures = f.store.token_figures(&day).await.unwrap();
    assert_eq!(figures.len(), 1);
    assert_eq!(figures[0].issued, VOUCHERS as u64);
    assert_eq!(figures[0].expected_minor, sold);
    assert_eq!(figures[0].confirmed_minor, 0, "the shift is still open");

    // The overview and its export.
    let (manager, _) = app.login("manager").await;
    let live = app.page("GET", "/manager/live", Some(&manager), None).await;
    assert!(
        live.body
            .contains(&format!("id=\"issued-today\">{VOUCHERS}</span>")),
        "{}",
        live.body
    );
    let overview = app
        .page("GET", "/manager?format=csv", Some(&manager), None)
        .await;
    let row = &csv_rows(&overview.body)[0];
    assert_eq!(row[4], VOUCHERS.to_string(), "issued_today");
    assert_eq!(row[7], sold.to_string(), "expected_minor");
    assert_eq!(row[9], ALERTS.to_string(), "open_alerts");

    // The location page shows a page of vouchers and a next link; its export has them all.
    let loc = format!("/manager/locations/{}", f.location.id);
    let page = app.page("GET", &loc, Some(&manager), None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("rel=\"next\""), "next link");
    assert!(
        page.body.contains(&format!("of {VOUCHERS}")),
        "says how many there are"
    );
    let next = app
        .page("GET", &format!("{loc}?offset=600"), Some(&manager), None)
        .await;
    assert!(
        !next.body.contains("rel=\"next\""),
        "the last page has none"
    );
    assert!(next.body.contains("rel=\"prev\""));
    let csv = app
        .page("GET", &format!("{loc}?format=csv"), Some(&manager), None)
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    let rows = csv_rows(&csv.body);
    assert_eq!(rows.len(), VOUCHERS, "every voucher exported");
    let total: i64 = rows.iter().map(|r| r[4].parse::<i64>().unwrap()).sum();
    assert_eq!(total, sold, "the export's prices add up to the takings");
    let codes: std::collections::HashSet<&String> = rows.iter().map(|r| &r[1]).collect();
    assert_eq!(codes.len(), VOUCHERS, "none twice");

    // The alerts page: a page and a next link; the export has every alert.
    let alerts = app
        .page("GET", "/manager/alerts", Some(&manager), None)
        .await;
    assert!(alerts.body.contains("rel=\"next\""), "next link");
    assert!(alerts.body.contains(&format!("of {ALERTS}")));
    let csv = app
        .page("GET", "/manager/alerts?format=csv", Some(&manager), None)
        .await;
    assert_eq!(csv.body.lines().count(), ALERTS + 1, "every alert exported");

    // The daily report's inputs and totals: every voucher and every alert of the day.
    let window = crate::reports::last_closed_day(&*f.store, f.location.id, now_ms() + 86_400_000)
        .await
        .unwrap();
    let inputs = crate::reports::inputs(&*f.store, f.location.id, window)
        .await
        .unwrap();
    let report = crate::reconcile::daily_report(&inputs).unwrap();
    assert_eq!(report.body.totals.tokens.issued, VOUCHERS as u64);
    assert_eq!(report.body.revenue.expected_minor, sold);
    assert_eq!(report.body.alerts.len(), ALERTS);
    assert_eq!(report.body.shifts[0].shift.tokens_sold, VOUCHERS as u64);
    assert_eq!(report.body.shifts[0].expected_cash_minor, float + sold);

    // Clock-out: the expected cash counts every voucher of the shift.
    let shift = f
        .store
        .close_shift(f.staff.id, float + sold, "staff")
        .await
        .unwrap();
    assert_eq!(shift.expected_cash_minor, Some(float + sold));
    assert_eq!(shift.variance_minor, Some(0));
    let figures = f.store.token_figures(&day).await.unwrap();
    assert_eq!(figures[0].confirmed_minor, sold, "counted once closed");
}

#[tokio::test]
async fn exact_at_any_size_on_sqlite() {
    exact_at_any_size(test_app_on(sqlite_fixture().await).await).await;
}

#[tokio::test]
async fn exact_at_any_size_on_postgres() {
    exact_at_any_size(test_app_on(postgres_fixture().await).await).await;
}
