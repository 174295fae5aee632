-- Lock to first device: a package may bind each voucher to the MAC address of the first
-- device that logs in with it. A token keeps the choice its package had when it was sold
-- (editing the package later changes nothing for vouchers already sold), and the MAC its
-- agent bound it to, with when; the inventory checks compare the router with these.
ALTER TABLE packages ADD COLUMN lock_to_mac INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tokens ADD COLUMN lock_to_mac INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tokens ADD COLUMN bound_mac TEXT;
ALTER TABLE tokens ADD COLUMN mac_bound_at INTEGER;
