-- The delivery worker's claim looks for hosts with a pending delivery that is due and not
-- leased (`store::delivery_hosts::lock_ready`). With the old index on (state,
-- next_attempt_at) it read each such delivery's row for its lease and host: during a large
-- fan-out, ten thousand row lookups per claim, a quarter of SQLite's writing time. This
-- index holds the lease and the host too, so the claim reads the index alone.
DROP INDEX deliveries_due;
CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at, claimed_until, host);
