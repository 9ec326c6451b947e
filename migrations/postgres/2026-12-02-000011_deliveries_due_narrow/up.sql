-- The claim no longer reads this index (it walks `delivery_hosts` and each host's queue in
-- `deliveries_host_queue`), but every lease wrote it: `claimed_until` was one of its columns,
-- so each lease update inserted a new index entry and could never be a heap-only (HOT)
-- update. Narrowed to what the counts and lists by state use, and pages keep a fifth free so
-- that a lease update can stay on its page.
DROP INDEX deliveries_due;
CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at);
ALTER TABLE deliveries SET (fillfactor = 80);
