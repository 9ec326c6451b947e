-- The contribution terms (JSON {id, version}) each idea and comment was made under.
ALTER TABLE ideas ADD COLUMN terms TEXT;
ALTER TABLE comments ADD COLUMN terms TEXT;
-- Handoffs: the chain of earlier handoffs (JSON list, oldest first), the idea this one was
-- handed on from, and where it went.
ALTER TABLE ideas ADD COLUMN provenance TEXT;
ALTER TABLE ideas ADD COLUMN origin TEXT;
ALTER TABLE ideas ADD COLUMN handed_off_to TEXT;
ALTER TABLE ideas ADD COLUMN merged_into TEXT;

-- Offers of ideas between organisations, sent (incoming = false) or received.
CREATE TABLE handoffs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ap_id TEXT NOT NULL UNIQUE,
    idea_ap_id TEXT NOT NULL,
    from_org TEXT NOT NULL,
    to_org TEXT NOT NULL,
    message TEXT NOT NULL,
    incoming BOOLEAN NOT NULL,
    state TEXT NOT NULL,
    reason TEXT,
    result TEXT,
    offer TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
