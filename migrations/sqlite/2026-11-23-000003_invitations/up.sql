-- Invitations into rooms: sent by a local room (incoming = false) or received by a local
-- person or organisation from a room of another node (incoming = true).
CREATE TABLE invitations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ap_id TEXT NOT NULL UNIQUE,
    room_id INTEGER NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    invitee_id INTEGER NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    partner_kind TEXT,
    incoming BOOLEAN NOT NULL,
    state TEXT NOT NULL,
    reason TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX invitations_invitee ON invitations (invitee_id, state);
