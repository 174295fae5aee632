-- The evidence of a usage report or an inventory, written in the same transaction that applies
-- it and deleted once its alert checks have run: a server that dies between the commit and the
-- checks leaves the row behind, and the checks run from it later (any replica), so no alert is
-- lost. `evidence` is JSON: the message plus, for usage, each named token's summed usage before
-- the report.
CREATE TABLE pending_checks (
    router_id TEXT NOT NULL REFERENCES routers(id) ON DELETE CASCADE,
    seq BIGINT NOT NULL,
    at BIGINT NOT NULL,
    evidence TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (router_id, seq)
);
CREATE INDEX pending_checks_created ON pending_checks(created_at);
