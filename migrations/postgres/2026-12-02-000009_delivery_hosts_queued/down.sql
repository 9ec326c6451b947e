DROP INDEX delivery_hosts_queued;
ALTER TABLE delivery_hosts DROP COLUMN queued;
