-- Same as migrations/postgres/0009_scoped_generations.sql: check-in's cache
-- is keyed by the device's facts generation (what concerns that one device,
-- kept on its live credentials: device_credentials.facts_generation) and
-- policy_generation (profiles and assignments) instead of one fleet-wide
-- counter. SQLite has no sequences; device values come from a counter row,
-- which costs nothing here because SQLite runs one writer at a time anyway.
-- Triggers are per row and per event, and run immediately; those keyed by a
-- device fire only for a device with a live credential (the only kind whose
-- facts are cached), so imports of devices and memberships pay one probe.

DROP TRIGGER users_insert_state_generation;
DROP TRIGGER users_delete_state_generation;
DROP TRIGGER users_update_state_generation;
DROP TRIGGER devices_insert_state_generation;
DROP TRIGGER devices_delete_state_generation;
DROP TRIGGER devices_update_state_generation;
DROP TRIGGER directory_groups_insert_state_generation;
DROP TRIGGER directory_groups_delete_state_generation;
DROP TRIGGER directory_groups_update_state_generation;
DROP TRIGGER user_group_members_insert_state_generation;
DROP TRIGGER user_group_members_delete_state_generation;
DROP TRIGGER user_group_members_update_state_generation;
DROP TRIGGER device_group_members_insert_state_generation;
DROP TRIGGER device_group_members_delete_state_generation;
DROP TRIGGER device_group_members_update_state_generation;
DROP TRIGGER trusted_certificate_profiles_insert_state_generation;
DROP TRIGGER trusted_certificate_profiles_delete_state_generation;
DROP TRIGGER trusted_certificate_profiles_update_state_generation;
DROP TRIGGER scep_certificate_profiles_insert_state_generation;
DROP TRIGGER scep_certificate_profiles_delete_state_generation;
DROP TRIGGER scep_certificate_profiles_update_state_generation;
DROP TRIGGER trusted_profile_assignments_insert_state_generation;
DROP TRIGGER trusted_profile_assignments_delete_state_generation;
DROP TRIGGER trusted_profile_assignments_update_state_generation;
DROP TRIGGER scep_profile_assignments_insert_state_generation;
DROP TRIGGER scep_profile_assignments_delete_state_generation;
DROP TRIGGER scep_profile_assignments_update_state_generation;
DROP TRIGGER issued_certificates_insert_state_generation;
DROP TRIGGER issued_certificates_delete_state_generation;
DROP TRIGGER issued_certificates_update_state_generation;
DROP TABLE state_generation;

CREATE TABLE policy_generation (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    value INTEGER NOT NULL
);
INSERT INTO policy_generation (id, value) VALUES (1, 1);

CREATE TRIGGER trusted_certificate_profiles_insert_policy_generation AFTER INSERT ON trusted_certificate_profiles
BEGIN
    UPDATE policy_generation SET value = value + 1 WHERE id = 1;
END;

CREATE TRIGGER trusted_certificate_profiles_delete_policy_generation AFTER DELETE ON trusted_certificate_profiles
BEGIN
    UPDATE policy_generation SET value = value + 1 WHERE id = 1;
END;

CREATE TRIGGER trusted_certificate_profiles_update_policy_generation AFTER UPDATE OF version ON trusted_certificate_profiles
BEGIN
    UPDATE policy_generation SET value = value + 1 WHERE id = 1;
END;

CREATE TRIGGER scep_certificate_profiles_insert_policy_generation AFTER INSERT ON scep_certificate_profiles
BEGIN
    UPDATE policy_generation SET value = value + 1 WHERE id = 1;
END;

CREATE TRIGGER scep_certificate_profiles_delete_policy_generation AFTER DELETE ON scep_certificate_profiles
BEGIN
    UPDATE policy_generation SET value = value + 1 WHERE id = 1;
END;

CREATE TRIGGER scep_certificate_profiles_update_policy_generation AFTER UPDATE OF version ON scep_certificate_profiles
BEGIN
    UPDATE policy_generation SET value = value + 1 WHERE id = 1;
END;

CREATE TRIGGER trusted_profile_assignments_insert_policy_generation AFTER INSERT ON trusted_profile_assignments
BEGIN
    UPDATE policy_generation SET value = value + 1 WHERE id = 1;
END;

CREATE TRIGGER trusted_profile_assignments_delete_policy_generation AFTER DELETE ON trusted_profile_assignments
BEGIN
    UPDATE policy_generation SET value = value + 1 WHERE id = 1;
END;

CREATE TRIGGER trusted_profile_assignments_update_policy_generation AFTER UPDATE ON trusted_profile_assignments
BEGIN
    UPDATE policy_generation SET value = value + 1 WHERE id = 1;
END;

CREATE TRIGGER scep_profile_assignments_insert_policy_generation AFTER INSERT ON scep_profile_assignments
BEGIN
    UPDATE policy_generation SET value = value + 1 WHERE id = 1;
END;

CREATE TRIGGER scep_profile_assignments_delete_policy_generation AFTER DELETE ON scep_profile_assignments
BEGIN
    UPDATE policy_generation SET value = value + 1 WHERE id = 1;
END;

CREATE TRIGGER scep_profile_assignments_update_policy_generation AFTER UPDATE ON scep_profile_assignments
BEGIN
    UPDATE policy_generation SET value = value + 1 WHERE id = 1;
END;

CREATE TABLE device_facts_generation (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    value INTEGER NOT NULL
);
INSERT INTO device_facts_generation (id, value) VALUES (1, (SELECT COALESCE(MAX(rowid), 0) + 1 FROM device_credentials));
ALTER TABLE device_credentials ADD COLUMN facts_generation INTEGER NOT NULL DEFAULT 0;
-- Existing credentials get distinct values below the counter.
UPDATE device_credentials SET facts_generation = rowid;

-- A new credential takes the next value, so it never meets a value cached before.
CREATE TRIGGER device_credentials_insert_facts_generation AFTER INSERT ON device_credentials
BEGIN
    UPDATE device_facts_generation SET value = value + 1 WHERE id = 1;
    UPDATE device_credentials SET facts_generation = (SELECT value FROM device_facts_generation WHERE id = 1)
    WHERE id = NEW.id;
END;

CREATE TRIGGER devices_update_facts_generation AFTER UPDATE OF version, user_id, platform ON devices
WHEN EXISTS (SELECT 1 FROM device_credentials WHERE device_id = NEW.id AND revoked_at IS NULL)
BEGIN
    UPDATE device_facts_generation SET value = value + 1 WHERE id = 1;
    UPDATE device_credentials SET facts_generation = (SELECT value FROM device_facts_generation WHERE id = 1)
    WHERE revoked_at IS NULL AND device_id IN (NEW.id);
END;

CREATE TRIGGER device_group_members_insert_facts_generation AFTER INSERT ON device_group_members
WHEN EXISTS (SELECT 1 FROM device_credentials WHERE device_id = NEW.device_id AND revoked_at IS NULL)
BEGIN
    UPDATE device_facts_generation SET value = value + 1 WHERE id = 1;
    UPDATE device_credentials SET facts_generation = (SELECT value FROM device_facts_generation WHERE id = 1)
    WHERE revoked_at IS NULL AND device_id IN (NEW.device_id);
END;
CREATE TRIGGER device_group_members_delete_facts_generation AFTER DELETE ON device_group_members
WHEN EXISTS (SELECT 1 FROM device_credentials WHERE device_id = OLD.device_id AND revoked_at IS NULL)
BEGIN
    UPDATE device_facts_generation SET value = value + 1 WHERE id = 1;
    UPDATE device_credentials SET facts_generation = (SELECT value FROM device_facts_generation WHERE id = 1)
    WHERE revoked_at IS NULL AND device_id IN (OLD.device_id);
END;
CREATE TRIGGER device_group_members_update_facts_generation AFTER UPDATE ON device_group_members
WHEN EXISTS (SELECT 1 FROM device_credentials WHERE device_id IN (OLD.device_id, NEW.device_id) AND revoked_at IS NULL)
BEGIN
    UPDATE device_facts_generation SET value = value + 1 WHERE id = 1;
    UPDATE device_credentials SET facts_generation = (SELECT value FROM device_facts_generation WHERE id = 1)
    WHERE revoked_at IS NULL AND device_id IN (OLD.device_id, NEW.device_id);
END;

CREATE TRIGGER issued_certificates_insert_facts_generation AFTER INSERT ON issued_certificates
WHEN EXISTS (SELECT 1 FROM device_credentials WHERE device_id = NEW.device_id AND revoked_at IS NULL)
BEGIN
    UPDATE device_facts_generation SET value = value + 1 WHERE id = 1;
    UPDATE device_credentials SET facts_generation = (SELECT value FROM device_facts_generation WHERE id = 1)
    WHERE revoked_at IS NULL AND device_id IN (NEW.device_id);
END;
CREATE TRIGGER issued_certificates_delete_facts_generation AFTER DELETE ON issued_certificates
WHEN EXISTS (SELECT 1 FROM device_credentials WHERE device_id = OLD.device_id AND revoked_at IS NULL)
BEGIN
    UPDATE device_facts_generation SET value = value + 1 WHERE id = 1;
    UPDATE device_credentials SET facts_generation = (SELECT value FROM device_facts_generation WHERE id = 1)
    WHERE revoked_at IS NULL AND device_id IN (OLD.device_id);
END;
CREATE TRIGGER issued_certificates_update_facts_generation AFTER UPDATE ON issued_certificates
WHEN EXISTS (SELECT 1 FROM device_credentials WHERE device_id IN (OLD.device_id, NEW.device_id) AND revoked_at IS NULL)
BEGIN
    UPDATE device_facts_generation SET value = value + 1 WHERE id = 1;
    UPDATE device_credentials SET facts_generation = (SELECT value FROM device_facts_generation WHERE id = 1)
    WHERE revoked_at IS NULL AND device_id IN (OLD.device_id, NEW.device_id);
END;

CREATE TRIGGER device_profile_states_insert_facts_generation AFTER INSERT ON device_profile_states
WHEN EXISTS (SELECT 1 FROM device_credentials WHERE device_id = NEW.device_id AND revoked_at IS NULL)
BEGIN
    UPDATE device_facts_generation SET value = value + 1 WHERE id = 1;
    UPDATE device_credentials SET facts_generation = (SELECT value FROM device_facts_generation WHERE id = 1)
    WHERE revoked_at IS NULL AND device_id IN (NEW.device_id);
END;
CREATE TRIGGER device_profile_states_delete_facts_generation AFTER DELETE ON device_profile_states
WHEN EXISTS (SELECT 1 FROM device_credentials WHERE device_id = OLD.device_id AND revoked_at IS NULL)
BEGIN
    UPDATE device_facts_generation SET value = value + 1 WHERE id = 1;
    UPDATE device_credentials SET facts_generation = (SELECT value FROM device_facts_generation WHERE id = 1)
    WHERE revoked_at IS NULL AND device_id IN (OLD.device_id);
END;
CREATE TRIGGER device_profile_states_update_facts_generation AFTER UPDATE ON device_profile_states
WHEN EXISTS (SELECT 1 FROM device_credentials WHERE device_id IN (OLD.device_id, NEW.device_id) AND revoked_at IS NULL)
BEGIN
    UPDATE device_facts_generation SET value = value + 1 WHERE id = 1;
    UPDATE device_credentials SET facts_generation = (SELECT value FROM device_facts_generation WHERE id = 1)
    WHERE revoked_at IS NULL AND device_id IN (OLD.device_id, NEW.device_id);
END;

-- A user's row and user-group memberships reach the devices whose primary
-- user they are. A deleted user clears devices.user_id, which the devices
-- trigger above sees.
CREATE TRIGGER users_update_facts_generation AFTER UPDATE OF version ON users
BEGIN
    UPDATE device_facts_generation SET value = value + 1 WHERE id = 1;
    UPDATE device_credentials SET facts_generation = (SELECT value FROM device_facts_generation WHERE id = 1)
    WHERE revoked_at IS NULL AND device_id IN (SELECT id FROM devices WHERE user_id = NEW.id);
END;
CREATE TRIGGER user_group_members_insert_facts_generation AFTER INSERT ON user_group_members
BEGIN
    UPDATE device_facts_generation SET value = value + 1 WHERE id = 1;
    UPDATE device_credentials SET facts_generation = (SELECT value FROM device_facts_generation WHERE id = 1)
    WHERE revoked_at IS NULL AND device_id IN (SELECT id FROM devices WHERE user_id = NEW.user_id);
END;
CREATE TRIGGER user_group_members_delete_facts_generation AFTER DELETE ON user_group_members
BEGIN
    UPDATE device_facts_generation SET value = value + 1 WHERE id = 1;
    UPDATE device_credentials SET facts_generation = (SELECT value FROM device_facts_generation WHERE id = 1)
    WHERE revoked_at IS NULL AND device_id IN (SELECT id FROM devices WHERE user_id = OLD.user_id);
END;
CREATE TRIGGER user_group_members_update_facts_generation AFTER UPDATE ON user_group_members
BEGIN
    UPDATE device_facts_generation SET value = value + 1 WHERE id = 1;
    UPDATE device_credentials SET facts_generation = (SELECT value FROM device_facts_generation WHERE id = 1)
    WHERE revoked_at IS NULL AND device_id IN (SELECT id FROM devices WHERE user_id IN (OLD.user_id, NEW.user_id));
END;
