-- Domain blocks set by the node's staff (`cocreate block add HOST`, the admin API). A blocked
-- host, and every subdomain of it, is refused: its activities at the inbox, fetches of its
-- URLs and deliveries to it. `host` is lower-case `name[:port]` (a port narrows the block to
-- that port). Every process sharing the database reads this table, so a block applies at once.
CREATE TABLE blocked_hosts (
    host TEXT PRIMARY KEY,
    reason TEXT,
    created_at TIMESTAMP NOT NULL
);
