-- Actors: local and remote Person, Group (rooms), Organization and the instance Application.
CREATE TABLE actors (
    id SERIAL PRIMARY KEY,
    ap_id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    local BOOLEAN NOT NULL,
    name TEXT NOT NULL,
    display_name TEXT NOT NULL,
    summary TEXT NOT NULL DEFAULT '',
    inbox TEXT NOT NULL,
    shared_inbox TEXT,
    outbox TEXT,
    followers TEXT,
    public_key_pem TEXT NOT NULL,
    key_id TEXT NOT NULL,
    private_key_pem TEXT,
    visibility TEXT,
    staff BOOLEAN NOT NULL DEFAULT FALSE,
    host TEXT NOT NULL,
    fetched_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL
);
-- Local names share one namespace: a room and a person never have the same WebFinger name.
CREATE UNIQUE INDEX actors_local_name ON actors (name) WHERE local;
CREATE INDEX actors_host ON actors (host);

CREATE TABLE api_tokens (
    token_hash TEXT PRIMARY KEY,
    actor_id INTEGER NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE follows (
    id SERIAL PRIMARY KEY,
    follower_id INTEGER NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    target_id INTEGER NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    activity_ap_id TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (follower_id, target_id)
);
CREATE INDEX follows_target ON follows (target_id, state);

CREATE TABLE ideas (
    id SERIAL PRIMARY KEY,
    ap_id TEXT NOT NULL UNIQUE,
    room_id INTEGER NOT NULL REFERENCES actors (id),
    author_id INTEGER NOT NULL REFERENCES actors (id),
    title TEXT NOT NULL,
    source TEXT NOT NULL,
    content TEXT NOT NULL,
    stage TEXT NOT NULL,
    stage_answer TEXT,
    local BOOLEAN NOT NULL,
    deleted BOOLEAN NOT NULL DEFAULT FALSE,
    published TIMESTAMP NOT NULL,
    updated TIMESTAMP NOT NULL
);
CREATE INDEX ideas_room ON ideas (room_id, published);

CREATE TABLE idea_contributors (
    idea_id INTEGER NOT NULL REFERENCES ideas (id) ON DELETE CASCADE,
    actor_id INTEGER NOT NULL REFERENCES actors (id),
    role TEXT NOT NULL,
    PRIMARY KEY (idea_id, actor_id, role)
);

CREATE TABLE comments (
    id SERIAL PRIMARY KEY,
    ap_id TEXT NOT NULL UNIQUE,
    idea_id INTEGER NOT NULL REFERENCES ideas (id) ON DELETE CASCADE,
    author_id INTEGER NOT NULL REFERENCES actors (id),
    in_reply_to TEXT NOT NULL,
    content TEXT NOT NULL,
    source TEXT,
    local BOOLEAN NOT NULL,
    deleted BOOLEAN NOT NULL DEFAULT FALSE,
    published TIMESTAMP NOT NULL,
    updated TIMESTAMP NOT NULL
);
CREATE INDEX comments_idea ON comments (idea_id, published);

CREATE TABLE supports (
    id SERIAL PRIMARY KEY,
    idea_id INTEGER NOT NULL REFERENCES ideas (id) ON DELETE CASCADE,
    actor_id INTEGER NOT NULL REFERENCES actors (id),
    activity_ap_id TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (idea_id, actor_id)
);

-- Activities this node published, served at their ids and in outboxes.
CREATE TABLE activities (
    id SERIAL PRIMARY KEY,
    ap_id TEXT NOT NULL UNIQUE,
    actor_id INTEGER NOT NULL REFERENCES actors (id),
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    public BOOLEAN NOT NULL,
    published TIMESTAMP NOT NULL
);
CREATE INDEX activities_actor ON activities (actor_id, id);

-- Idempotent inbox: one row per processed remote activity id.
CREATE TABLE inbox_receipts (
    ap_id TEXT PRIMARY KEY,
    actor TEXT NOT NULL,
    kind TEXT NOT NULL,
    received_at TIMESTAMP NOT NULL
);

-- Transactional outbox: one row per (activity, destination inbox).
CREATE TABLE deliveries (
    id SERIAL PRIMARY KEY,
    activity_ap_id TEXT NOT NULL,
    signer_id INTEGER NOT NULL REFERENCES actors (id),
    inbox TEXT NOT NULL,
    body TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    claimed_until TIMESTAMP,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (activity_ap_id, inbox)
);
CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at);
