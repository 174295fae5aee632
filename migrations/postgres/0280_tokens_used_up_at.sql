-- When each voucher was last used up (the newest `used_up` entry of its ledger), kept by the
-- ingest with its counters. The alert checks read it for every voucher a usage report names;
-- a subquery into the ledger per voucher was half of that read (docs/benchmarks.md).
ALTER TABLE tokens ADD COLUMN used_up_at BIGINT;
UPDATE tokens SET used_up_at = (
  SELECT MAX(l.at) FROM token_ledger l WHERE l.token_id = tokens.id AND l.event = 'used_up'
) WHERE id IN (SELECT token_id FROM token_ledger WHERE event = 'used_up');
