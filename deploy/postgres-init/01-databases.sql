-- Run once by the postgres image when its data volume is empty (docker-entrypoint-initdb.d):
-- one database per Cocreate node of docker-compose.yml. Each node runs its migrations at start.
CREATE DATABASE maker;
CREATE DATABASE supplier;
CREATE DATABASE community;
