-- When the inventory before the latest was taken: a rogue user first shown by the latest one was
-- made after it, which bounds who was on duty when it was sold.
ALTER TABLE router_inventory ADD COLUMN prev_at INTEGER;
