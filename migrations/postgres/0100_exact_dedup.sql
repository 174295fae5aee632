-- Exact deduplication of agent messages without a window: every seq at or below
-- `routers.up_floor` is applied, and above it exactly the ranges `up_seen.seq` to `up_seen.hi`.
-- The floor moves only over a contiguous prefix, so a late message is never taken as applied.
ALTER TABLE routers ADD COLUMN up_floor BIGINT NOT NULL DEFAULT 0;
ALTER TABLE up_seen ADD COLUMN hi BIGINT NOT NULL DEFAULT 0;
UPDATE up_seen SET hi = seq;
-- The old rule took everything more than 1024 below the highest seq as applied; that becomes
-- the floor, and the exact seqs recorded above it stay.
UPDATE routers SET up_floor = GREATEST(last_seq - 1024, 0);
DELETE FROM up_seen
 WHERE seq <= (SELECT r.up_floor FROM routers r WHERE r.id = up_seen.router_id);
