-- The claim no longer reads this index (it walks `delivery_hosts` and each host's queue in
-- `deliveries_host_queue`), but every lease wrote it: `claimed_until` was one of its columns.
-- Narrowed to what the counts and lists by state use.
DROP INDEX deliveries_due;
CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at);
