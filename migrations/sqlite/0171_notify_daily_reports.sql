-- A channel may also take each day's report summary of its location(s) (`daily_reports`, 1 or 0).
-- Those go through the same delivery queue as alerts: `subject` says whether a delivery's
-- `alert_id` names an alert or a daily report.
ALTER TABLE notification_channels ADD COLUMN daily_reports INTEGER NOT NULL DEFAULT 0;
ALTER TABLE notification_deliveries ADD COLUMN subject TEXT NOT NULL DEFAULT 'alert';
