-- Relays write each claimed message's lease before they publish it. With room left on every page
-- the update stays on its page (a HOT update): no new index entries, a fraction of the WAL.
ALTER TABLE {{.Outbox}} SET (fillfactor = 70)
