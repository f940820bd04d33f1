-- The key for keyed hashes now comes from outside the database
-- (KHAOSAT_SECRET or KHAOSAT_SECRET_FILE): a copy of the database must not
-- hold the key to what it protects. The old per-database secret goes.
DROP TABLE instance;
