-- Daily reconciliation reports (issue #7): one per location and business day, never changed.
-- `body` is the exact JSON the SHA-256 covers; a sign-off is a row of its own, at most one.
CREATE TABLE daily_reports (
    id TEXT PRIMARY KEY,
    location_id TEXT NOT NULL REFERENCES locations(id),
    business_date TEXT NOT NULL,
    window_start INTEGER NOT NULL,
    window_end INTEGER NOT NULL,
    body TEXT NOT NULL,
    content_sha256 TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (location_id, business_date)
);
CREATE TABLE daily_report_signoffs (
    report_id TEXT PRIMARY KEY REFERENCES daily_reports(id),
    signed_by TEXT NOT NULL,
    note TEXT NOT NULL,
    signed_at INTEGER NOT NULL
);
CREATE TRIGGER daily_reports_no_update BEFORE UPDATE ON daily_reports
BEGIN SELECT RAISE(ABORT, 'daily_reports is append-only'); END;
CREATE TRIGGER daily_reports_no_delete BEFORE DELETE ON daily_reports
BEGIN SELECT RAISE(ABORT, 'daily_reports is append-only'); END;
CREATE TRIGGER daily_report_signoffs_no_update BEFORE UPDATE ON daily_report_signoffs
BEGIN SELECT RAISE(ABORT, 'daily_report_signoffs is append-only'); END;
CREATE TRIGGER daily_report_signoffs_no_delete BEFORE DELETE ON daily_report_signoffs
BEGIN SELECT RAISE(ABORT, 'daily_report_signoffs is append-only'); END;
