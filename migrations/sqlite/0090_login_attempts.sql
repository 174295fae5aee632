-- A login or enrollment attempt is recorded under its keys *before* the password is checked
-- (reserved atomically with the limit check), tagged with the attempt's id so a successful
-- attempt can take its rows back. NULL for failures recorded the old way.
ALTER TABLE login_failures ADD COLUMN attempt TEXT;
CREATE INDEX login_failures_attempt ON login_failures(attempt);
