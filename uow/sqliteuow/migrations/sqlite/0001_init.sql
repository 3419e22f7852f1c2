-- The document table, the outbox and the inbox. Table names are validated identifiers, unquoted
-- so that index names (global in an SQLite database) can be derived from them.
CREATE TABLE {{.Aggregate}} (
	kind    VARCHAR(191) NOT NULL,
	id      VARCHAR(191) NOT NULL,
	version BIGINT       NOT NULL,
	data    TEXT         NOT NULL,
	PRIMARY KEY (kind, id)
)
--;
-- AUTOINCREMENT: a seq is never reused, even after the newest rows are deleted, so relays can
-- keep a watermark.
CREATE TABLE {{.Outbox}} (
	seq           INTEGER      PRIMARY KEY AUTOINCREMENT,
	id            VARCHAR(64)  NOT NULL UNIQUE,
	topic         VARCHAR(255) NOT NULL,
	msg_key       VARCHAR(255) NOT NULL,
	name          VARCHAR(255) NOT NULL,
	payload       TEXT         NULL,
	headers       TEXT         NOT NULL,
	created_at    BIGINT       NOT NULL,
	deliver_after BIGINT       NULL
)
--;
CREATE INDEX {{.Outbox}}_key_seq ON {{.Outbox}} (msg_key, seq)
--;
CREATE TABLE {{.Inbox}} (
	consumer     VARCHAR(191) NOT NULL,
	message_id   VARCHAR(191) NOT NULL,
	processed_at BIGINT       NOT NULL,
	PRIMARY KEY (consumer, message_id)
) WITHOUT ROWID
--;
CREATE INDEX {{.Inbox}}_processed_at ON {{.Inbox}} (processed_at)
