-- Editing a package must change the catalog version so the edit is pushed to every router:
-- the version becomes the newest `updated_at` (creation counts as an update).
ALTER TABLE packages ADD COLUMN updated_at BIGINT NOT NULL DEFAULT 0;
UPDATE packages SET updated_at = created_at;
