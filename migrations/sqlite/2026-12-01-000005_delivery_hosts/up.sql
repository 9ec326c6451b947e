-- Delivery per remote host: each delivery names the host[:port] of its inbox, and each such
-- host has one row saying how its recent deliveries went. A host that keeps failing waits
-- (`retry_at`, exponential backoff with jitter, at least the peer's Retry-After), and after
-- several failures in a row is parked (`parked_since`): only its oldest pending delivery is
-- tried, as a probe, until one gets through. The row is also what delivery workers lock
-- (PostgreSQL: FOR UPDATE SKIP LOCKED) to send one host's deliveries in order.
ALTER TABLE deliveries ADD COLUMN host TEXT NOT NULL DEFAULT '';
UPDATE deliveries SET host = lower(
    substr(
        substr(inbox, instr(inbox, '://') + 3),
        1,
        instr(substr(inbox, instr(inbox, '://') + 3) || '/', '/') - 1
    )
);
CREATE INDEX deliveries_host_queue ON deliveries (host, state, id);

CREATE TABLE delivery_hosts (
    host TEXT PRIMARY KEY,
    failures INTEGER NOT NULL DEFAULT 0,
    retry_at TIMESTAMP,
    parked_since TIMESTAMP,
    last_error TEXT,
    last_attempt_at TIMESTAMP,
    updated_at TIMESTAMP NOT NULL
);
INSERT INTO delivery_hosts (host, failures, updated_at)
    SELECT DISTINCT host, 0, CURRENT_TIMESTAMP FROM deliveries;
