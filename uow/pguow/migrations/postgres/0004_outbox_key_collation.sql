-- Message keys are only ever compared for equality: the "C" collation compares their bytes, which
-- makes the (msg_key, seq) index that every claim probes (a key's earlier messages) cheaper than
-- a linguistic collation does. Rewrites the column's indexes.
ALTER TABLE {{.Outbox}} ALTER COLUMN msg_key TYPE VARCHAR(255) COLLATE "C"
