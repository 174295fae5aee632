-- Each usage row names the report it came from (the agent's seq) and keeps the entry's first
-- login, so the rows hold the whole report. A report's pending alert check then names its rows
-- instead of copying the report (tens of kilobytes of JSON, compressed and deleted a moment
-- later; see docs/benchmarks.md). Rows stored before this have neither.
ALTER TABLE usage ADD COLUMN seq BIGINT;
ALTER TABLE usage ADD COLUMN first_login_at BIGINT;
