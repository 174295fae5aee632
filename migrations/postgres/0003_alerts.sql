-- Alerts carry what a reconciliation finding says, and are unique on its dedup key so the same
-- evidence seen again raises nothing new.
ALTER TABLE alerts ADD COLUMN agent_id TEXT;
ALTER TABLE alerts ADD COLUMN shift_id TEXT;
ALTER TABLE alerts ADD COLUMN dedup_key TEXT;
ALTER TABLE alerts ADD COLUMN summary TEXT NOT NULL DEFAULT '';
ALTER TABLE alerts ADD COLUMN resolved_by TEXT;
ALTER TABLE alerts ADD COLUMN updated_at BIGINT;
CREATE UNIQUE INDEX alerts_dedup ON alerts(dedup_key);
CREATE INDEX alerts_state ON alerts(state, created_at);
