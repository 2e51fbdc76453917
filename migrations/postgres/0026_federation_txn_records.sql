-- Relayed actions executed exactly once, late retries answered (spec/federation.md §6.6,
-- §10.5). A `federation_txns` row is now written in the transaction of the action's first
-- change (its guild log entry), so it exists exactly when the action ran; `executed` holds
-- that change's payload (the dispatch `d`), from which the answer is rebuilt if the host
-- stopped before storing it in `result` ('' until then). Rows are kept for the retention
-- window (24 hours after `created_at`) and then pruned, hence the index.
ALTER TABLE federation_txns ADD COLUMN executed TEXT;
CREATE INDEX federation_txns_created ON federation_txns (created_at);
