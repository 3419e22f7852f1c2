-- The aggregate documents, the outbox and the inbox. Names come from sqlstore.Tables, validated
-- and quoted; index and sequence names are left to PostgreSQL, which derives them from the
-- (prefixed) table names, so two prefixes in one schema do not collide.
CREATE TABLE {{.Aggregate}} (
    kind    VARCHAR(191) NOT NULL,
    id      VARCHAR(191) NOT NULL,
    version BIGINT       NOT NULL,
    data    JSONB        NOT NULL,
    PRIMARY KEY (kind, id)
)
--;
-- payload and headers are json, not jsonb: relays publish the payload exactly as committed.
-- created_at and deliver_after are unix microseconds.
CREATE TABLE {{.Outbox}} (
    seq           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id            VARCHAR(64)  NOT NULL UNIQUE,
    topic         VARCHAR(255) NOT NULL,
    msg_key       VARCHAR(255) NOT NULL,
    name          VARCHAR(255) NOT NULL,
    payload       JSON         NULL,
    headers       JSON         NOT NULL,
    created_at    BIGINT       NOT NULL,
    deliver_after BIGINT       NULL
)
--;
CREATE INDEX ON {{.Outbox}} (msg_key, seq)
--;
-- processed_at is unix microseconds.
CREATE TABLE {{.Inbox}} (
    consumer     VARCHAR(191) NOT NULL,
    message_id   VARCHAR(191) NOT NULL,
    processed_at BIGINT       NOT NULL,
    PRIMARY KEY (consumer, message_id)
)
--;
CREATE INDEX ON {{.Inbox}} (processed_at)
