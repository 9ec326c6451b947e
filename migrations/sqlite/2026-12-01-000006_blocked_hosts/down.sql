DROP TABLE blocked_hosts;
