DROP TABLE handoffs;
ALTER TABLE ideas DROP COLUMN merged_into;
ALTER TABLE ideas DROP COLUMN handed_off_to;
ALTER TABLE ideas DROP COLUMN origin;
ALTER TABLE ideas DROP COLUMN provenance;
ALTER TABLE comments DROP COLUMN terms;
ALTER TABLE ideas DROP COLUMN terms;
