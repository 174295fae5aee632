-- Each voucher's usage so far (every delta of every usage row naming it, from any router),
-- kept up to date by the ingest in the transaction that stores the rows. The alert checks read
-- it before and after each report; summing the rows each time cost more with every report a
-- voucher had (docs/benchmarks.md).
ALTER TABLE tokens ADD COLUMN total_uptime_s BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tokens ADD COLUMN total_bytes BIGINT NOT NULL DEFAULT 0;
UPDATE tokens SET
  total_uptime_s = COALESCE((SELECT SUM(u.delta_uptime_s) FROM usage u WHERE u.token_id = tokens.id), 0),
  total_bytes = COALESCE((SELECT SUM(u.delta_bytes_in + u.delta_bytes_out) FROM usage u WHERE u.token_id = tokens.id), 0);
