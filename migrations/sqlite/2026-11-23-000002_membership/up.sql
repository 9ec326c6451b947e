-- Members of local rooms (people or whole organisations, local or remote) with their role.
CREATE TABLE room_members (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    room_id INTEGER NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    actor_id INTEGER NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    partner_kind TEXT,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (room_id, actor_id)
);

-- Follow or Join requests to a partners room, waiting for a steward.
CREATE TABLE room_requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    room_id INTEGER NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    actor_id INTEGER NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    activity TEXT NOT NULL,
    message TEXT,
    state TEXT NOT NULL,
    reason TEXT,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (room_id, actor_id)
);

-- Why a follow was refused, shown to the user who asked.
ALTER TABLE follows ADD COLUMN reason TEXT;

-- A room's ordered phases (JSON list of switch bundles), the current one, and its terms.
CREATE TABLE room_settings (
    room_id INTEGER PRIMARY KEY REFERENCES actors (id) ON DELETE CASCADE,
    phases TEXT NOT NULL,
    current_phase INTEGER NOT NULL,
    terms_spdx TEXT,
    terms_text TEXT,
    terms_version TEXT
);

-- Why the room's node refused a submission made from this node.
ALTER TABLE ideas ADD COLUMN refused_reason TEXT;
