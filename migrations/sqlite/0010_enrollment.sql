-- One-time enrollment codes (issue #8). Only a SHA-256 of each code is kept; a code names one
-- router, expires, and is used at most once. A router whose key is '' is waiting for enrollment or
-- revoked: ingest cannot verify anything from it and the broker refuses its login
-- (mqtt_password_hash '' matches no password).
CREATE TABLE enrollment_codes (
    id TEXT PRIMARY KEY,
    router_id TEXT NOT NULL REFERENCES routers(id),
    code_hash TEXT NOT NULL UNIQUE,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER,
    -- Set when a newer code for the same router replaced this one before it was used.
    replaced_at INTEGER,
    public_key_hex TEXT
);
CREATE INDEX enrollment_codes_router ON enrollment_codes (router_id);

ALTER TABLE routers ADD COLUMN enrolled_at INTEGER;
ALTER TABLE routers ADD COLUMN revoked_at INTEGER;
