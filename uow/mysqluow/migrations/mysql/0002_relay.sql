-- The relay's state of each outbox message (see outbox.Store). Times are unix microseconds:
-- retry_at (claimable again from then), lease_until (the lease of lease_owner runs until then),
-- parked_at (dead-lettered then; parked messages block the later messages of their key until
-- unparked).
--
-- MySQL commits DDL at once, and Migrate records the version after the migration ran, so a crash
-- in between runs this again: the columns and the index are added by ONE ALTER TABLE (atomic in
-- InnoDB: all or nothing), which runs only when information_schema does not list the attempts
-- column yet. MySQL 8 has no ADD COLUMN IF NOT EXISTS, hence the prepared statement. The table
-- name is a validated identifier, so stripping its backquotes gives the name to look up.
-- A claim walks the primary key (seq) in order; the index serves the operator's parked messages.
SET @ddd_relay_ddl = IF(EXISTS(
	SELECT 1 FROM information_schema.columns
	WHERE table_schema = DATABASE() AND table_name = REPLACE('{{.Outbox}}', '`', '') AND column_name = 'attempts'
), 'DO 0', 'ALTER TABLE {{.Outbox}}
	ADD COLUMN attempts INT NOT NULL DEFAULT 0,
	ADD COLUMN retry_at BIGINT NULL,
	ADD COLUMN lease_owner VARCHAR(191) NULL,
	ADD COLUMN lease_until BIGINT NULL,
	ADD COLUMN parked_at BIGINT NULL,
	ADD COLUMN last_error TEXT NULL,
	ADD KEY outbox_parked_seq (parked_at, seq)')
--;
PREPARE ddd_relay_ddl FROM @ddd_relay_ddl
--;
EXECUTE ddd_relay_ddl
--;
DEALLOCATE PREPARE ddd_relay_ddl
