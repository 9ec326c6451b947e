-- The large text columns (an activity's body, a delivery's body, an idea's and a comment's
-- content) are compressed with lz4 instead of pglz where the server has lz4 (PostgreSQL 14 and
-- later, built with it, as Debian's and the official images are). A room's `Announce` of a
-- reply is just over the 2 KB at which PostgreSQL compresses a row, so every reply the inbox
-- stores paid for pglz (1.4% of the machine's time with replies in flight); lz4 compresses
-- several times faster. Only rows written from now on are affected. On a server without lz4
-- nothing changes (the statements are run as strings, so that an older server's parser does
-- not see them before the handler does).
DO $$
BEGIN
    EXECUTE 'ALTER TABLE activities ALTER COLUMN body SET COMPRESSION lz4';
    EXECUTE 'ALTER TABLE delivery_bodies ALTER COLUMN body SET COMPRESSION lz4';
    EXECUTE 'ALTER TABLE ideas ALTER COLUMN content SET COMPRESSION lz4';
    EXECUTE 'ALTER TABLE comments ALTER COLUMN content SET COMPRESSION lz4';
EXCEPTION WHEN feature_not_supported OR syntax_error THEN
    RAISE NOTICE 'lz4 is not available on this server: large text stays compressed with pglz';
END $$;
