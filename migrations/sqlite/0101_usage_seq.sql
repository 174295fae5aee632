-- The seq of the usage report that last set a token's cumulative counters: only a later report
-- may change them, so a late, older one (a resend, another replica) never overwrites them.
ALTER TABLE tokens ADD COLUMN usage_seq INTEGER;
