ALTER TABLE activities DROP COLUMN listed;
DROP TABLE peer_software;
