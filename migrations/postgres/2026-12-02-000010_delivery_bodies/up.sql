-- A delivery's body (the activity, a kilobyte or more) is kept once per activity and form, not
-- in every delivery row: a fan-out to 2,000 inboxes stored it 2,000 times, and each of a
-- delivery's two updates (its lease, its outcome) wrote a new copy of its row with the body in
-- it. Rows of the time before keep their own body, moved here with the same id.
CREATE TABLE delivery_bodies (
    id SERIAL PRIMARY KEY,
    body TEXT NOT NULL
);
INSERT INTO delivery_bodies (id, body) SELECT id, body FROM deliveries;
SELECT setval(pg_get_serial_sequence('delivery_bodies', 'id'),
              COALESCE((SELECT max(id) FROM delivery_bodies), 0) + 1, false);
ALTER TABLE deliveries ADD COLUMN body_id INTEGER;
UPDATE deliveries SET body_id = id;
ALTER TABLE deliveries ALTER COLUMN body_id SET NOT NULL;
ALTER TABLE deliveries DROP COLUMN body;
