-- Sequence numbers applied recently per agent. With several replicas sharing ingest, one agent's
-- messages can be applied out of order; a high-water mark alone would then drop a late one as a
-- duplicate. Seqs within the reorder window are deduplicated exactly by this table.
CREATE TABLE up_seen (
    router_id TEXT NOT NULL REFERENCES routers(id),
    seq BIGINT NOT NULL,
    PRIMARY KEY (router_id, seq)
);
