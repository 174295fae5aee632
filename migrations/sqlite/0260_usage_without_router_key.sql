-- PostgreSQL drops the router key of usage rows here (see its 0260); SQLite keeps it, since
-- dropping it would copy the whole table.
SELECT 1;
