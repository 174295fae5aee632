-- A usage report rewrites the counters of every voucher it names, once a report (every 30 s
-- per router in use, every second under the ingest benchmark). With full pages each rewrite
-- goes to another page and adds an entry to each of the table's eight indexes; room left on
-- the page lets PostgreSQL keep the new version there (a HOT update) and touch no index.
ALTER TABLE tokens SET (fillfactor = 70);
