-- CASCADE drops the triggers on every table with the function.
DROP FUNCTION cocreate_notify_change() CASCADE;
