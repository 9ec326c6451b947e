-- What this node learned of other servers' software from their NodeInfo, one row per host:
-- what a follower is sent depends on it (the extra Announce of a new idea's object for
-- Mastodon-like servers, an Article instead of a Page for Discourse). `software` is NULL when
-- the host's NodeInfo could not be read; `checked_at` says when it was last asked.
CREATE TABLE peer_software (
    host TEXT PRIMARY KEY,
    software TEXT,
    version TEXT,
    checked_at TIMESTAMP NOT NULL
);

-- Whether an activity is listed in its actor's outbox. A room's Announce of a bare object (the
-- Page of a new idea, for Mastodon-like followers) is served at its id but not listed: a room's
-- outbox holds only announced activities, and Lemmy drops a whole outbox holding anything else.
ALTER TABLE activities ADD COLUMN listed BOOLEAN NOT NULL DEFAULT TRUE;
UPDATE activities SET listed = FALSE
    WHERE kind = 'Announce'
    AND (body::json -> 'object' ->> 'type') IN ('Page', 'Article', 'Note', 'Question');
