DROP TABLE sign_in_attempts;
DROP TABLE sessions;
ALTER TABLE actors DROP COLUMN password_hash;
