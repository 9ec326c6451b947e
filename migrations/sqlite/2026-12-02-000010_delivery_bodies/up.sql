-- A delivery's body (the activity, a kilobyte or more) is kept once per activity and form, not
-- in every delivery row: a fan-out to 2,000 inboxes stored it 2,000 times, and each of a
-- delivery's two updates (its lease, its outcome) wrote a new copy of its row with the body in
-- it. Rows of the time before keep their own body, moved here with the same id.
CREATE TABLE delivery_bodies (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    body TEXT NOT NULL
);
INSERT INTO delivery_bodies (id, body) SELECT id, body FROM deliveries;
ALTER TABLE deliveries ADD COLUMN body_id INTEGER NOT NULL DEFAULT 0;
UPDATE deliveries SET body_id = id;
ALTER TABLE deliveries DROP COLUMN body;
