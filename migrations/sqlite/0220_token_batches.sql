-- Batch dispensing: the vouchers one staff member issued together (up to thousands at once,
-- stored in one transaction) share a batch id, so the batch page can show how many of them are
-- on the router and print them all. A voucher sold alone has none.
ALTER TABLE tokens ADD COLUMN batch_id TEXT;
CREATE INDEX tokens_batch ON tokens (batch_id) WHERE batch_id IS NOT NULL;
