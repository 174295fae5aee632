-- The agent key a router's replay state (`last_seq`, `up_seen`) belongs to. Enrolling again with
-- the same key (even after a revocation, which blanks `public_key_hex`) keeps that state, so an
-- old signed message replayed afterwards is still a duplicate; only a new key starts at seq 1.
ALTER TABLE routers ADD COLUMN seq_key_hex TEXT NOT NULL DEFAULT '';
UPDATE routers SET seq_key_hex = public_key_hex;
