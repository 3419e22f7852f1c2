-- The relay's state of each outbox message (see outbox.Store). Times are unix microseconds:
-- retry_at (claimable again from then), lease_until (the lease of lease_owner runs until then),
-- parked_at (dead-lettered then; parked messages block the later messages of their key until
-- unparked). SQLite adds one column per ALTER TABLE; the migration is one transaction.
ALTER TABLE {{.Outbox}} ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0
--;
ALTER TABLE {{.Outbox}} ADD COLUMN retry_at BIGINT NULL
--;
ALTER TABLE {{.Outbox}} ADD COLUMN lease_owner VARCHAR(191) NULL
--;
ALTER TABLE {{.Outbox}} ADD COLUMN lease_until BIGINT NULL
--;
ALTER TABLE {{.Outbox}} ADD COLUMN parked_at BIGINT NULL
--;
ALTER TABLE {{.Outbox}} ADD COLUMN last_error TEXT NULL
--;
-- A claim walks the unparked messages in seq order; the operator lists and purges parked ones.
CREATE INDEX {{.Outbox}}_due ON {{.Outbox}} (seq) WHERE parked_at IS NULL
--;
CREATE INDEX {{.Outbox}}_parked ON {{.Outbox}} (parked_at, seq) WHERE parked_at IS NOT NULL
