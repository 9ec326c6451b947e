ALTER TABLE deliveries ADD COLUMN body TEXT;
UPDATE deliveries SET body = (SELECT b.body FROM delivery_bodies b WHERE b.id = deliveries.body_id);
ALTER TABLE deliveries ALTER COLUMN body SET NOT NULL;
ALTER TABLE deliveries DROP COLUMN body_id;
DROP TABLE delivery_bodies;
