-- A till that retries a sale whose answer it never got (a timeout, a server restart) sends the
-- same sale key again and is handed the voucher already sold, not a second one. Keys are the
-- till's own, so they are unique per staff member.
ALTER TABLE tokens ADD COLUMN sale_key TEXT;
CREATE UNIQUE INDEX tokens_sale_key ON tokens (staff_id, sale_key) WHERE sale_key IS NOT NULL;
