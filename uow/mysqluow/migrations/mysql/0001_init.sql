-- The document table, outbox and inbox. MySQL commits each DDL statement at once, so every
-- statement is idempotent by itself: a migration stopped half-way is completed by the next run.
-- Tables use utf8mb4_bin, so IDs, keys and names compare and sort byte for byte.
CREATE TABLE IF NOT EXISTS {{.Aggregate}} (
	kind VARCHAR(191) NOT NULL,
	id VARCHAR(191) NOT NULL,
	version BIGINT NOT NULL,
	data JSON NOT NULL,
	PRIMARY KEY (kind, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
--;
CREATE TABLE IF NOT EXISTS {{.Outbox}} (
	seq BIGINT NOT NULL AUTO_INCREMENT,
	id VARCHAR(64) NOT NULL,
	topic VARCHAR(255) NOT NULL,
	msg_key VARCHAR(255) NOT NULL,
	name VARCHAR(255) NOT NULL,
	payload LONGTEXT NULL,
	headers LONGTEXT NOT NULL,
	created_at BIGINT NOT NULL,
	deliver_after BIGINT NULL,
	PRIMARY KEY (seq),
	UNIQUE KEY outbox_id (id),
	KEY outbox_key_seq (msg_key, seq)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
--;
CREATE TABLE IF NOT EXISTS {{.Inbox}} (
	consumer VARCHAR(191) NOT NULL,
	message_id VARCHAR(191) NOT NULL,
	processed_at BIGINT NOT NULL,
	PRIMARY KEY (consumer, message_id),
	KEY inbox_processed_at (processed_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
