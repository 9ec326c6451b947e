DROP TABLE delivery_hosts;
DROP INDEX deliveries_host_queue;
ALTER TABLE deliveries DROP COLUMN host;
