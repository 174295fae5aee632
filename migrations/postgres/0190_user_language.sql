-- The language a user chose for their pages and mail (en, fr, sw); NULL follows the browser.
ALTER TABLE users ADD COLUMN language TEXT;
