-- The relay's state of each outbox message (see outbox.Store). Times are unix microseconds:
-- retry_at (claimable again from then), lease_until (the lease of lease_owner runs until then),
-- parked_at (dead-lettered then; parked messages block the later messages of their key until
-- unparked). PostgreSQL 11+ adds columns with a constant default without rewriting the table.
ALTER TABLE {{.Outbox}}
    ADD COLUMN attempts    INT          NOT NULL DEFAULT 0,
    ADD COLUMN retry_at    BIGINT       NULL,
    ADD COLUMN lease_owner VARCHAR(191) NULL,
    ADD COLUMN lease_until BIGINT       NULL,
    ADD COLUMN parked_at   BIGINT       NULL,
    ADD COLUMN last_error  TEXT         NULL
--;
-- A claim walks the unparked messages in seq order (and finds each one's earlier messages of its
-- key through the (msg_key, seq) index of 0001); the operator lists and purges parked ones.
CREATE INDEX ON {{.Outbox}} (seq) WHERE parked_at IS NULL
--;
CREATE INDEX ON {{.Outbox}} (parked_at, seq) WHERE parked_at IS NOT NULL
