-- Check-in's cache is keyed by two generations instead of one fleet-wide
-- counter (0006), so a change invalidates only what it concerns:
--
-- - devices.facts_generation moves when something about that one device
--   changes: its row (version, primary user, platform), its device-group
--   memberships, its primary user's row and user-group memberships, its
--   certificates and its enrollment steps. Values come from a sequence, so a
--   device id deleted and created again never meets a value cached for the
--   old device; nextval takes no lock that lasts to commit, so writes about
--   different devices do not queue on one row.
-- - policy_generation moves when what every device is measured against
--   changes: profiles and assignments. Admin writes only, so its one row is
--   not a hot spot. Deleting a group needs no rule of its own: the deletion
--   cascades to its memberships (per device) and assignments (policy).
--
-- The device-credential lookup reads both in its one round trip. Readers
-- read the generations before the facts, so a race can only make an entry
-- refresh early. Both bumps run at commit (deferred constraint triggers): a
-- device row's lock is then among the transaction's last, so it cannot close
-- a deadlock cycle with the rows the transaction changed first.
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
-- Volatile default: every existing device gets its own value.
ALTER TABLE devices ADD COLUMN facts_generation BIGINT NOT NULL DEFAULT nextval('device_facts_generation');

-- The device's own row: set in the same update, no second write.
CREATE FUNCTION device_row_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.facts_generation := nextval('device_facts_generation');
    RETURN NEW;
END
$$;
CREATE TRIGGER devices_facts_generation BEFORE UPDATE OF version, user_id, platform ON devices
    FOR EACH ROW EXECUTE FUNCTION device_row_changed();

-- Rows that name a device in `device_id`: memberships, certificates, steps.
CREATE FUNCTION device_facts_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'DELETE' THEN
        UPDATE devices SET facts_generation = nextval('device_facts_generation') WHERE id = NEW.device_id;
    END IF;
    IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND OLD.device_id IS DISTINCT FROM NEW.device_id) THEN
        UPDATE devices SET facts_generation = nextval('device_facts_generation') WHERE id = OLD.device_id;
    END IF;
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER device_group_members_facts_generation
    AFTER INSERT OR DELETE OR UPDATE ON device_group_members
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION device_facts_changed();
CREATE CONSTRAINT TRIGGER issued_certificates_facts_generation
    AFTER INSERT OR DELETE OR UPDATE ON issued_certificates
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION device_facts_changed();
CREATE CONSTRAINT TRIGGER device_profile_states_facts_generation
    AFTER INSERT OR DELETE OR UPDATE ON device_profile_states
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION device_facts_changed();

-- A user's row and user-group memberships reach the devices whose primary
-- user they are (index devices_user). A deleted user clears devices.user_id,
-- which the devices trigger above sees.
CREATE FUNCTION user_row_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE devices SET facts_generation = nextval('device_facts_generation') WHERE user_id = NEW.id;
    RETURN NULL;
END
$$;
CREATE FUNCTION user_membership_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'DELETE' THEN
        UPDATE devices SET facts_generation = nextval('device_facts_generation') WHERE user_id = NEW.user_id;
    END IF;
    IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND OLD.user_id IS DISTINCT FROM NEW.user_id) THEN
        UPDATE devices SET facts_generation = nextval('device_facts_generation') WHERE user_id = OLD.user_id;
    END IF;
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER users_facts_generation AFTER UPDATE OF version ON users
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION user_row_changed();
CREATE CONSTRAINT TRIGGER user_group_members_facts_generation
    AFTER INSERT OR DELETE OR UPDATE ON user_group_members
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION user_membership_changed();
