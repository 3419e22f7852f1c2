-- The messages a held claim must not overtake: parked, retrying, delayed or leased ones (any of
-- the relay's columns set). A held claim takes the due messages of its key lanes in commit order
-- and checks each only against this index, which the common message (committed, then published
-- and deleted, with none of these set) never enters: a probe of an almost empty index instead of
-- one over every earlier message of the key.
CREATE INDEX ON {{.Outbox}} (msg_key, seq)
    WHERE parked_at IS NOT NULL OR retry_at IS NOT NULL OR deliver_after IS NOT NULL OR lease_until IS NOT NULL
