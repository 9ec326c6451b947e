ALTER TABLE ideas DROP COLUMN refused_reason;
DROP TABLE room_settings;
ALTER TABLE follows DROP COLUMN reason;
DROP TABLE room_requests;
DROP TABLE room_members;
