-- The statement-level triggers of migration 0009 fire for every statement on
-- their tables, also one that changes no row: the revocation queueing run
-- after each notified certificate and each membership removal usually finds
-- nothing to queue. Each such statement still called bump_devices, an UPDATE
-- of device_credentials with its plan, for no device at all: measured at
-- about a fifth of the database time of a verify + notify pair. The
-- functions now return at once when their transition tables are empty; what
-- a statement that does change rows moves is unchanged.

CREATE OR REPLACE FUNCTION device_rows_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF EXISTS (SELECT 1 FROM new_rows) THEN
            PERFORM bump_devices(ARRAY(SELECT device_id FROM new_rows));
        END IF;
    ELSIF TG_OP = 'DELETE' THEN
        IF EXISTS (SELECT 1 FROM old_rows) THEN
            PERFORM bump_devices(ARRAY(SELECT device_id FROM old_rows));
        END IF;
    ELSIF EXISTS (SELECT 1 FROM new_rows) THEN
        PERFORM bump_devices(ARRAY(SELECT device_id FROM new_rows UNION SELECT device_id FROM old_rows));
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION user_rows_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF EXISTS (SELECT 1 FROM new_rows) THEN
            PERFORM bump_devices_of_users(ARRAY(SELECT user_id FROM new_rows));
        END IF;
    ELSIF TG_OP = 'DELETE' THEN
        IF EXISTS (SELECT 1 FROM old_rows) THEN
            PERFORM bump_devices_of_users(ARRAY(SELECT user_id FROM old_rows));
        END IF;
    ELSIF EXISTS (SELECT 1 FROM new_rows) THEN
        PERFORM bump_devices_of_users(ARRAY(SELECT user_id FROM new_rows UNION SELECT user_id FROM old_rows));
    END IF;
    RETURN NULL;
END
$$;
