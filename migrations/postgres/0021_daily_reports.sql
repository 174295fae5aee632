-- Daily reconciliation reports (issue #7): one per location and business day, never changed.
-- `body` is the exact JSON the SHA-256 covers; a sign-off is a row of its own, at most one.
CREATE TABLE daily_reports (
    id TEXT PRIMARY KEY,
    location_id TEXT NOT NULL REFERENCES locations(id),
    business_date TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    window_end BIGINT NOT NULL,
    body TEXT NOT NULL,
    content_sha256 TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (location_id, business_date)
);
CREATE TABLE daily_report_signoffs (
    report_id TEXT PRIMARY KEY REFERENCES daily_reports(id),
    signed_by TEXT NOT NULL,
    note TEXT NOT NULL,
    signed_at BIGINT NOT NULL
);
CREATE TRIGGER daily_reports_no_update BEFORE UPDATE OR DELETE ON daily_reports
    FOR EACH ROW EXECUTE FUNCTION mtm_refuse_change();
CREATE TRIGGER daily_reports_no_truncate BEFORE TRUNCATE ON daily_reports
    FOR EACH STATEMENT EXECUTE FUNCTION mtm_refuse_change();
CREATE TRIGGER daily_report_signoffs_no_update BEFORE UPDATE OR DELETE ON daily_report_signoffs
    FOR EACH ROW EXECUTE FUNCTION mtm_refuse_change();
CREATE TRIGGER daily_report_signoffs_no_truncate BEFORE TRUNCATE ON daily_report_signoffs
    FOR EACH STATEMENT EXECUTE FUNCTION mtm_refuse_change();
