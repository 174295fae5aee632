-- Where alerts are sent: a manager's or admin's channel (a webhook URL, a Telegram chat, an ntfy
-- topic), for alerts of at least `min_rank` (1 info, 2 warning, 3 critical), at one location or
-- all (`location_id` NULL). Only alerts raised after the channel was made are sent to it.
CREATE TABLE notification_channels (
    id TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    target TEXT NOT NULL,
    chat_id TEXT NOT NULL DEFAULT '',
    secret TEXT NOT NULL,
    min_rank INTEGER NOT NULL,
    location_id TEXT,
    created_at INTEGER NOT NULL
);

-- One row per (channel, alert): queued, retried with backoff, then 'sent' or 'dead' (kept for
-- the dead-letter view and the audit log).
CREATE TABLE notification_deliveries (
    id TEXT PRIMARY KEY,
    channel_id TEXT NOT NULL,
    alert_id TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    next_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    done_at INTEGER,
    UNIQUE (channel_id, alert_id)
);
CREATE INDEX notification_deliveries_due ON notification_deliveries(state, next_at);
CREATE INDEX alerts_created_at ON alerts(created_at);
