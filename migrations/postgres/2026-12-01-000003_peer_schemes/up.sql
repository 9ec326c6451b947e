-- What this node learnt about each remote host it sends signed requests to: the HTTP signature
-- scheme ('cavage' or 'rfc9421') the host last accepted. Hosts with no row get cavage first.
CREATE TABLE peers (
    host TEXT PRIMARY KEY,
    signature_scheme TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
