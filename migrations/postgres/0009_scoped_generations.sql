-- Check-in's cache is keyed by two generations instead of one fleet-wide
-- counter (0006), so a change invalidates only what it concerns:
--
-- - a device's facts generation moves when something about that one device
--   changes: its row (version, primary user, platform), its device-group
--   memberships, its primary user's row and user-group memberships, its
--   certificates and its enrollment steps. It is kept on the device's live
--   credentials (device_credentials.facts_generation): the check-in reads its
--   credential row anyway, so the generation costs no second lookup, and
--   devices without a credential (that never check in) cost nothing to bump.
--   Values come from a sequence, so a new credential or a device id created
--   again never meets a value cached before; nextval takes no lock that lasts
--   to commit, so writes about different devices do not queue on one row.
-- - policy_generation moves when what every device is measured against
--   changes: profiles and assignments. Admin writes only, so its one row is
--   not a hot spot. Deleting a group needs no rule of its own: the deletion
--   cascades to its memberships (per device) and assignments (policy).
--
-- The device-credential lookup reads both in its one round trip. Readers
-- read the generations before the facts, so a race can only make an entry
-- refresh early. The policy bump runs once per transaction, at commit
-- (a deferred constraint trigger), so its row lock is the transaction's last.
-- Observations (devices.last_check_in_at) move neither.

DROP TRIGGER users_state_generation ON users;
DROP TRIGGER devices_state_generation ON devices;
DROP TRIGGER directory_groups_state_generation ON directory_groups;
DROP TRIGGER user_group_members_state_generation ON user_group_members;
DROP TRIGGER device_group_members_state_generation ON device_group_members;
DROP TRIGGER trusted_certificate_profiles_state_generation ON trusted_certificate_profiles;
DROP TRIGGER scep_certificate_profiles_state_generation ON scep_certificate_profiles;
DROP TRIGGER trusted_profile_assignments_state_generation ON trusted_profile_assignments;
DROP TRIGGER scep_profile_assignments_state_generation ON scep_profile_assignments;
DROP TRIGGER issued_certificates_state_generation ON issued_certificates;
DROP FUNCTION bump_state_generation();
DROP TABLE state_generation;

-- Policy ---------------------------------------------------------------------

CREATE TABLE policy_generation (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    value BIGINT  NOT NULL
);
INSERT INTO policy_generation (id, value) VALUES (1, 1);

CREATE FUNCTION bump_policy_generation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('scepter.policy_generation_bumped', true) IS DISTINCT FROM 'yes' THEN
        UPDATE policy_generation SET value = value + 1 WHERE id = 1;
        -- Transaction-local: the next transaction bumps again.
        PERFORM set_config('scepter.policy_generation_bumped', 'yes', true);
    END IF;
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER trusted_certificate_profiles_policy_generation
    AFTER INSERT OR DELETE OR UPDATE OF version ON trusted_certificate_profiles
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bump_policy_generation();
CREATE CONSTRAINT TRIGGER scep_certificate_profiles_policy_generation
    AFTER INSERT OR DELETE OR UPDATE OF version ON scep_certificate_profiles
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bump_policy_generation();
CREATE CONSTRAINT TRIGGER trusted_profile_assignments_policy_generation
    AFTER INSERT OR DELETE OR UPDATE ON trusted_profile_assignments
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bump_policy_generation();
CREATE CONSTRAINT TRIGGER scep_profile_assignments_policy_generation
    AFTER INSERT OR DELETE OR UPDATE ON scep_profile_assignments
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bump_policy_generation();

-- Devices --------------------------------------------------------------------

CREATE SEQUENCE device_facts_generation;
-- Volatile default: every credential, existing or new, gets its own value.
ALTER TABLE device_credentials
    ADD COLUMN facts_generation BIGINT NOT NULL DEFAULT nextval('device_facts_generation');

-- Rows that name a device (memberships, certificates, steps) and users'
-- rows and memberships (reaching the devices whose primary user they are,
-- index devices_user). Statement-level triggers over transition tables: a
-- statement that writes many rows (an import, a group deleted, revocations
-- queued) moves each device it touches once, in one set-based update, instead
-- of once per row. They run at the end of each statement; locks are taken in
-- credential-id order so two such statements cannot deadlock each other. A
-- deleted user clears devices.user_id, which the devices trigger sees.
-- PL/pgSQL rather than SQL functions: each backend plans the statements once
-- and keeps the plans (an SQL function is planned on every call).
CREATE FUNCTION bump_devices(changed UUID[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    UPDATE device_credentials SET facts_generation = nextval('device_facts_generation')
    WHERE id IN (SELECT id FROM device_credentials WHERE device_id = ANY (changed) AND revoked_at IS NULL
                 ORDER BY id FOR NO KEY UPDATE);
END
$$;
CREATE FUNCTION bump_devices_of_users(changed UUID[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM bump_devices(ARRAY(SELECT id FROM devices WHERE user_id = ANY (changed)));
END
$$;

-- One function per key column serves the three events: a branch reads only
-- the transition tables its event declares (PL/pgSQL prepares a statement
-- when it first runs, so the other branches never see a missing table).
CREATE FUNCTION device_rows_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM bump_devices(ARRAY(SELECT device_id FROM new_rows));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM bump_devices(ARRAY(SELECT device_id FROM old_rows));
    ELSE
        PERFORM bump_devices(ARRAY(SELECT device_id FROM new_rows UNION SELECT device_id FROM old_rows));
    END IF;
    RETURN NULL;
END
$$;
CREATE FUNCTION user_rows_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM bump_devices_of_users(ARRAY(SELECT user_id FROM new_rows));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM bump_devices_of_users(ARRAY(SELECT user_id FROM old_rows));
    ELSE
        PERFORM bump_devices_of_users(ARRAY(SELECT user_id FROM new_rows UNION SELECT user_id FROM old_rows));
    END IF;
    RETURN NULL;
END
$$;
-- A device's own row: a new version, primary user or platform. A row-level
-- trigger with a condition: device updates come one row per statement (API,
-- import), where transition tables are pure overhead, and observations
-- (last_check_in_at, written in bulk) do not fire it at all.
CREATE FUNCTION device_row_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE device_credentials SET facts_generation = nextval('device_facts_generation')
    WHERE device_id = NEW.id AND revoked_at IS NULL;
    RETURN NULL;
END
$$;
-- A user's own row: only a new version changes what its devices see.
CREATE FUNCTION users_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM bump_devices_of_users(ARRAY(
        SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE n.version <> o.version));
    RETURN NULL;
END
$$;

CREATE TRIGGER devices_updated AFTER UPDATE OF version, user_id, platform ON devices FOR EACH ROW
    WHEN (OLD.version IS DISTINCT FROM NEW.version OR OLD.user_id IS DISTINCT FROM NEW.user_id
          OR OLD.platform IS DISTINCT FROM NEW.platform)
    EXECUTE FUNCTION device_row_changed();
CREATE TRIGGER device_group_members_inserted AFTER INSERT ON device_group_members
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION device_rows_changed();
CREATE TRIGGER device_group_members_deleted AFTER DELETE ON device_group_members
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION device_rows_changed();
CREATE TRIGGER device_group_members_updated AFTER UPDATE ON device_group_members
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION device_rows_changed();
CREATE TRIGGER issued_certificates_inserted AFTER INSERT ON issued_certificates
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION device_rows_changed();
CREATE TRIGGER issued_certificates_deleted AFTER DELETE ON issued_certificates
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION device_rows_changed();
CREATE TRIGGER issued_certificates_updated AFTER UPDATE ON issued_certificates
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION device_rows_changed();
CREATE TRIGGER device_profile_states_inserted AFTER INSERT ON device_profile_states
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION device_rows_changed();
CREATE TRIGGER device_profile_states_deleted AFTER DELETE ON device_profile_states
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION device_rows_changed();
CREATE TRIGGER device_profile_states_updated AFTER UPDATE ON device_profile_states
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION device_rows_changed();
CREATE TRIGGER user_group_members_inserted AFTER INSERT ON user_group_members
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION user_rows_changed();
CREATE TRIGGER user_group_members_deleted AFTER DELETE ON user_group_members
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION user_rows_changed();
CREATE TRIGGER user_group_members_updated AFTER UPDATE ON user_group_members
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION user_rows_changed();
CREATE TRIGGER users_updated AFTER UPDATE ON users
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION users_updated();
