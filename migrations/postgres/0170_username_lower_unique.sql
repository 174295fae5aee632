-- Usernames are unique regardless of case in the database itself, not only by the check before
-- an insert: two admins (or two replicas) creating `Admin` and `admin` at the same moment cannot
-- both win. Names are stored NFKC-normalised and ASCII-only, so LOWER() is the key logins compare.
-- Accounts from before that rule which collide keep working under a new name: all but the
-- oldest get `~` and the start of their id appended (admins see them renamed on /admin/users).
UPDATE users SET username = username || '~' || substr(id, 1, 8)
WHERE EXISTS (
    SELECT 1 FROM users o
    WHERE LOWER(o.username) = LOWER(users.username)
      AND (o.created_at < users.created_at OR (o.created_at = users.created_at AND o.id < users.id))
);
CREATE UNIQUE INDEX users_username_lower ON users (LOWER(username));
