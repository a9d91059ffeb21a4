-- A counter that every change to what a device check-in depends on moves
-- forward: the directory, memberships, profiles, assignments and the ledger
-- of issued certificates. Check-in reads it with the device credential (one
-- query) and reuses the facts it cached for the device while it is unchanged,
-- so an idle check-in costs one round trip. Triggers keep it honest for every
-- writer (API, import, several instances); observations such as
-- devices.last_check_in_at do not move it. Readers read the counter before
-- the facts, so a race can only make a cache entry refresh early.
--
-- The counter is bumped once per transaction, at commit (deferred constraint
-- triggers): the row lock is then the transaction's last lock, so it cannot
-- close a deadlock cycle with the rows the transaction changed.
CREATE TABLE state_generation (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    value BIGINT  NOT NULL
);
INSERT INTO state_generation (id, value) VALUES (1, 1);

CREATE FUNCTION bump_state_generation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('scepter.state_generation_bumped', true) IS DISTINCT FROM 'yes' THEN
        UPDATE state_generation SET value = value + 1 WHERE id = 1;
        -- Transaction-local: the next transaction bumps again.
        PERFORM set_config('scepter.state_generation_bumped', 'yes', true);
    END IF;
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER users_state_generation AFTER INSERT OR DELETE OR UPDATE OF version ON users
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bump_state_generation();
CREATE CONSTRAINT TRIGGER devices_state_generation AFTER INSERT OR DELETE OR UPDATE OF version, user_id, platform ON devices
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bump_state_generation();
CREATE CONSTRAINT TRIGGER directory_groups_state_generation AFTER INSERT OR DELETE OR UPDATE OF version ON directory_groups
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bump_state_generation();
CREATE CONSTRAINT TRIGGER user_group_members_state_generation AFTER INSERT OR DELETE OR UPDATE ON user_group_members
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bump_state_generation();
CREATE CONSTRAINT TRIGGER device_group_members_state_generation AFTER INSERT OR DELETE OR UPDATE ON device_group_members
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bump_state_generation();
CREATE CONSTRAINT TRIGGER trusted_certificate_profiles_state_generation AFTER INSERT OR DELETE OR UPDATE OF version ON trusted_certificate_profiles
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bump_state_generation();
CREATE CONSTRAINT TRIGGER scep_certificate_profiles_state_generation AFTER INSERT OR DELETE OR UPDATE OF version ON scep_certificate_profiles
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bump_state_generation();
CREATE CONSTRAINT TRIGGER trusted_profile_assignments_state_generation AFTER INSERT OR DELETE OR UPDATE ON trusted_profile_assignments
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bump_state_generation();
CREATE CONSTRAINT TRIGGER scep_profile_assignments_state_generation AFTER INSERT OR DELETE OR UPDATE ON scep_profile_assignments
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bump_state_generation();
CREATE CONSTRAINT TRIGGER issued_certificates_state_generation AFTER INSERT OR DELETE OR UPDATE ON issued_certificates
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bump_state_generation();
