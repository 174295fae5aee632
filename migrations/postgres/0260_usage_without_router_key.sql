-- Usage rows are the largest table and the most written: every entry of every report. Checking
-- each new row's router against `routers` was a third of the time PostgreSQL spent inserting
-- it. The check never finds anything: routers are never deleted, and the one writer of usage
-- rows (the ingest) takes the router id from the router row it holds locked. SQLite keeps the
-- key: dropping it there would copy the whole table.
ALTER TABLE usage DROP CONSTRAINT IF EXISTS usage_router_id_fkey;
