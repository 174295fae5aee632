-- Failed login and enrollment attempts, one row per counted key ('account:<name>' or
-- 'address:<ip>'), kept in the database so every replica counts against the same limit and a
-- restart forgets nothing. Rows older than the limit window are pruned as failures arrive.
CREATE TABLE login_failures (
    key TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX login_failures_key ON login_failures(key, at);
CREATE INDEX login_failures_at ON login_failures(at);
