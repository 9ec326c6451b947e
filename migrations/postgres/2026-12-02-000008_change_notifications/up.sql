-- Every transaction that writes a table that served documents are built from notifies
-- `cocreate_changes` when it commits (one notification per transaction: PostgreSQL folds
-- equal ones). Each serving process listens (src/store/changes.rs) and drops what it kept of
-- the database, so several processes sharing this database can keep documents and still
-- answer with what was committed by any of them. A table that a kept document is read from
-- must be in this list.
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
    FOREACH t IN ARRAY ARRAY['actors', 'room_members', 'room_settings', 'ideas', 'idea_stages',
                             'idea_contributors', 'comments', 'supports', 'handoffs']
    LOOP
        EXECUTE format('CREATE TRIGGER cocreate_changes AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE '
                       'ON %I FOR EACH STATEMENT EXECUTE FUNCTION cocreate_notify_change()', t);
    END LOOP;
END
$$;
