-- Indexes the manager pages, figures and exports need at scale (see docs/benchmarks.md,
-- "Control plane at scale"): today's vouchers and shifts of every location (the overview's
-- sums), a location's alerts and a shift's revenue (expected cash at clock-out). A location's
-- usage in a day (the daily report) uses `usage_router` (0210).
CREATE INDEX tokens_created ON tokens(created_at);
CREATE INDEX shifts_opened ON shifts(opened_at);
CREATE INDEX shifts_location ON shifts(location_id, opened_at);
CREATE INDEX shifts_staff ON shifts(staff_id, opened_at);
CREATE INDEX alerts_location ON alerts(location_id, created_at);
CREATE INDEX revenue_records_shift ON revenue_records(shift_id);
