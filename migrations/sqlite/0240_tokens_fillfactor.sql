-- PostgreSQL leaves room on each page of `tokens` for its counters' rewrites (HOT updates);
-- SQLite has no such setting. Kept so both databases number their migrations alike.
SELECT 1;
