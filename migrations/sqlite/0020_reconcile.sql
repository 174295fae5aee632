-- Per-location reconciliation settings (issue #7). A location without a row uses the defaults:
-- any cash difference is alerted, and the business day closes at midnight local time.
CREATE TABLE location_settings (
    location_id TEXT PRIMARY KEY REFERENCES locations(id),
    cash_threshold_minor INTEGER NOT NULL DEFAULT 0 CHECK (cash_threshold_minor >= 0),
    close_time TEXT NOT NULL DEFAULT '00:00',
    updated_at INTEGER NOT NULL
);
