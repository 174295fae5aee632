-- mtm control plane schema (SQLite). Times are unix milliseconds UTC, money integer minor units,
-- durations seconds, ids UUID text.

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('super_admin', 'manager', 'staff')),
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);

CREATE TABLE locations (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    timezone TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE user_locations (
    user_id TEXT NOT NULL REFERENCES users(id),
    location_id TEXT NOT NULL REFERENCES locations(id),
    PRIMARY KEY (user_id, location_id)
);

CREATE TABLE routers (
    id TEXT PRIMARY KEY,
    location_id TEXT NOT NULL REFERENCES locations(id),
    name TEXT NOT NULL,
    agent_id TEXT NOT NULL UNIQUE,
    public_key_hex TEXT NOT NULL,
    mqtt_password_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_seen INTEGER,
    online INTEGER NOT NULL DEFAULT 0,
    last_seq INTEGER NOT NULL DEFAULT 0,
    catalog_version INTEGER,
    agent_version TEXT
);

CREATE TABLE router_inventory (
    router_id TEXT PRIMARY KEY REFERENCES routers(id),
    at INTEGER NOT NULL,
    snapshot TEXT NOT NULL
);

CREATE TABLE packages (
    id TEXT PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    price_minor INTEGER NOT NULL CHECK (price_minor >= 0),
    currency TEXT NOT NULL,
    limit_uptime_s INTEGER,
    limit_bytes_total INTEGER,
    rate_limit TEXT,
    shared_users INTEGER NOT NULL DEFAULT 1,
    validity_s INTEGER,
    uses_password INTEGER NOT NULL DEFAULT 0,
    active INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL
);

CREATE TABLE shifts (
    id TEXT PRIMARY KEY,
    staff_id TEXT NOT NULL REFERENCES users(id),
    location_id TEXT NOT NULL REFERENCES locations(id),
    opened_at INTEGER NOT NULL,
    opening_float_minor INTEGER NOT NULL,
    closed_at INTEGER,
    declared_cash_minor INTEGER,
    expected_cash_minor INTEGER,
    variance_minor INTEGER,
    note TEXT
);
CREATE UNIQUE INDEX shifts_one_open ON shifts(staff_id) WHERE closed_at IS NULL;

CREATE TABLE tokens (
    id TEXT PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    password TEXT,
    package_id TEXT NOT NULL REFERENCES packages(id),
    staff_id TEXT NOT NULL REFERENCES users(id),
    location_id TEXT NOT NULL REFERENCES locations(id),
    router_id TEXT NOT NULL REFERENCES routers(id),
    shift_id TEXT REFERENCES shifts(id),
    price_minor INTEGER NOT NULL,
    currency TEXT NOT NULL,
    state TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    applied_at INTEGER,
    first_login_at INTEGER,
    expired_at INTEGER,
    router_user_id TEXT,
    uptime_s INTEGER NOT NULL DEFAULT 0,
    bytes_in INTEGER NOT NULL DEFAULT 0,
    bytes_out INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL
);
CREATE INDEX tokens_staff ON tokens(staff_id, created_at);
CREATE INDEX tokens_location ON tokens(location_id, created_at);

CREATE TABLE token_ledger (
    id INTEGER PRIMARY KEY,
    token_id TEXT NOT NULL,
    event TEXT NOT NULL,
    detail TEXT NOT NULL,
    actor TEXT NOT NULL,
    at INTEGER NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX token_ledger_token ON token_ledger(token_id);

CREATE TABLE usage (
    id INTEGER PRIMARY KEY,
    router_id TEXT NOT NULL REFERENCES routers(id),
    token_id TEXT,
    username TEXT NOT NULL,
    at INTEGER NOT NULL,
    active INTEGER NOT NULL,
    uptime_s INTEGER NOT NULL,
    bytes_in INTEGER NOT NULL,
    bytes_out INTEGER NOT NULL,
    delta_uptime_s INTEGER NOT NULL,
    delta_bytes_in INTEGER NOT NULL,
    delta_bytes_out INTEGER NOT NULL,
    counters_reset INTEGER NOT NULL
);
CREATE INDEX usage_token ON usage(token_id, at);

CREATE TABLE router_health (
    id INTEGER PRIMARY KEY,
    router_id TEXT NOT NULL REFERENCES routers(id),
    at INTEGER NOT NULL,
    router_reachable INTEGER NOT NULL,
    cpu_load INTEGER,
    free_memory INTEGER,
    total_memory INTEGER,
    uptime_s INTEGER,
    routeros_version TEXT,
    board_name TEXT,
    outbox_len INTEGER NOT NULL,
    active_sessions INTEGER NOT NULL
);
CREATE INDEX router_health_router ON router_health(router_id, at);

CREATE TABLE revenue_records (
    id TEXT PRIMARY KEY,
    token_id TEXT NOT NULL REFERENCES tokens(id),
    shift_id TEXT REFERENCES shifts(id),
    staff_id TEXT NOT NULL REFERENCES users(id),
    location_id TEXT NOT NULL REFERENCES locations(id),
    expected_minor INTEGER NOT NULL,
    currency TEXT NOT NULL,
    at INTEGER NOT NULL,
    confirmed_at INTEGER
);

CREATE TABLE alerts (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    severity TEXT NOT NULL,
    location_id TEXT,
    router_id TEXT,
    staff_id TEXT,
    token_id TEXT,
    evidence TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    state TEXT NOT NULL DEFAULT 'open',
    note TEXT
);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);

CREATE TABLE agent_commands (
    id TEXT PRIMARY KEY,
    router_id TEXT NOT NULL REFERENCES routers(id),
    agent_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    payload BLOB NOT NULL,
    token_id TEXT,
    state TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'done', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    issued_at INTEGER NOT NULL,
    sent_at INTEGER,
    closed_at INTEGER,
    result TEXT
);
CREATE INDEX agent_commands_open ON agent_commands(agent_id, state);

CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    csrf TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE cp_seq (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL
);
INSERT INTO cp_seq (id, seq) VALUES (1, 0);

-- The ledger and the audit log are append-only: the database itself refuses changes.
CREATE TRIGGER token_ledger_no_update BEFORE UPDATE ON token_ledger
BEGIN SELECT RAISE(ABORT, 'token_ledger is append-only'); END;
CREATE TRIGGER token_ledger_no_delete BEFORE DELETE ON token_ledger
BEGIN SELECT RAISE(ABORT, 'token_ledger is append-only'); END;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
