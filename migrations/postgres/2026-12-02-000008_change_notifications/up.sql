-- Every transaction that changes what served documents are built from notifies
-- `cocreate_changes` when it commits (one notification per transaction: PostgreSQL folds
-- equal ones). Each serving process listens (src/store/changes.rs) and drops what it kept of
-- the database, so several processes sharing this database can keep documents and still
-- answer with what was committed by any of them.
--
-- A table that a kept document (an idea's Page, a comment's Note) is read from must be here.
-- Where a document reads a set of rows (an idea's supports and contributors), every change
-- counts; where it reads single rows by id (its author, its room, the comment itself), a new
-- row cannot change a document already kept, so only updates and deletions notify: the inbox
-- stores a reply or a new remote actor without waking every process.
CREATE FUNCTION cocreate_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('cocreate_changes', '');
    RETURN NULL;
END
$$;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['room_members', 'room_settings', 'ideas', 'idea_stages',
                             'idea_contributors', 'supports', 'handoffs']
    LOOP
        EXECUTE format('CREATE TRIGGER cocreate_changes AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE '
                       'ON %I FOR EACH STATEMENT EXECUTE FUNCTION cocreate_notify_change()', t);
    END LOOP;
    FOREACH t IN ARRAY ARRAY['actors', 'comments']
    LOOP
        EXECUTE format('CREATE TRIGGER cocreate_changes AFTER UPDATE OR DELETE OR TRUNCATE '
                       'ON %I FOR EACH STATEMENT EXECUTE FUNCTION cocreate_notify_change()', t);
    END LOOP;
END
$$;
