-- Web sign-in: an Argon2id PHC string per local person who has a password (none by default).
ALTER TABLE actors ADD COLUMN password_hash TEXT;

-- Signed-in browsers. The id is the SHA-256 (hex) of the random token in the cookie; the token
-- itself is never stored.
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    actor_id INTEGER NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX sessions_actor_id ON sessions (actor_id);

-- Sign-in attempts per name within the rate-limit window, shared by every process of the node;
-- a successful sign-in clears the name's rows, older rows are pruned.
CREATE TABLE sign_in_attempts (
    id SERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    attempted_at TIMESTAMP NOT NULL
);
CREATE INDEX sign_in_attempts_name_at ON sign_in_attempts (name, attempted_at);
