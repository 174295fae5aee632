-- After-sales on sold tokens: void, replace, extend, reprint, disable, enable. Each carries the
-- reason given. A void whose refund is above the location's approval threshold waits for a
-- manager ('requested') and then ends 'done' or 'rejected'; everything else is 'done' at once.
CREATE TABLE token_aftersales (
    id TEXT PRIMARY KEY,
    token_id TEXT NOT NULL REFERENCES tokens(id),
    location_id TEXT NOT NULL REFERENCES locations(id),
    kind TEXT NOT NULL CHECK (kind IN ('void', 'replace', 'extend', 'reprint', 'disable', 'enable')),
    reason TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('requested', 'done', 'rejected')),
    refund_minor INTEGER NOT NULL DEFAULT 0 CHECK (refund_minor >= 0),
    currency TEXT NOT NULL,
    -- The shift whose till pays the refund (the requester's open shift), if any.
    shift_id TEXT,
    extra_uptime_s INTEGER NOT NULL DEFAULT 0 CHECK (extra_uptime_s >= 0),
    extra_bytes_total INTEGER NOT NULL DEFAULT 0 CHECK (extra_bytes_total >= 0),
    new_token_id TEXT,
    requested_by TEXT NOT NULL,
    requested_by_name TEXT NOT NULL,
    decided_by_name TEXT,
    decision_note TEXT,
    created_at INTEGER NOT NULL,
    decided_at INTEGER
);
CREATE INDEX token_aftersales_token ON token_aftersales(token_id, created_at);
CREATE INDEX token_aftersales_location ON token_aftersales(location_id, created_at);

-- Limits added after the sale (on top of the package's), the limits the router confirmed last
-- (NULL: never extended), reprints, the token a replacement replaces, and when a disable or
-- removal took effect on the router (what the checks compare the router with).
ALTER TABLE tokens ADD COLUMN extra_uptime_s INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tokens ADD COLUMN extra_bytes_total INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tokens ADD COLUMN confirmed_limit_uptime_s INTEGER;
ALTER TABLE tokens ADD COLUMN confirmed_limit_bytes_total INTEGER;
ALTER TABLE tokens ADD COLUMN reprints INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tokens ADD COLUMN replaces TEXT;
ALTER TABLE tokens ADD COLUMN ended_at INTEGER;

-- Refunds above this (minor units) need a manager; 0: every refund does.
ALTER TABLE location_settings ADD COLUMN refund_approval_minor INTEGER NOT NULL DEFAULT 0 CHECK (refund_approval_minor >= 0);
