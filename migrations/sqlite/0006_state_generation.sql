-- Same as migrations/postgres/0006_state_generation.sql; SQLite triggers are per row and per event.
-- A counter that every change to what a device check-in depends on moves
-- forward: the directory, memberships, profiles, assignments and the ledger
-- of issued certificates. Check-in reads it with the device credential (one
-- query) and reuses the facts it cached for the device while it is unchanged,
-- so an idle check-in costs one round trip. Triggers keep it honest for every
-- writer (API, import, several instances); observations such as
-- devices.last_check_in_at do not move it.
CREATE TABLE state_generation (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    value INTEGER NOT NULL
);
INSERT INTO state_generation (id, value) VALUES (1, 1);

CREATE TRIGGER users_insert_state_generation AFTER INSERT ON users
BEGIN
    UPDATE state_generation SET value = value + 1 WHERE id = 1;
END;

CREATE TRIGGER users_delete_state_generation AFTER DELETE ON users
BEGIN
    UPDATE state_generation SET value = value + 1 WHERE id = 1;
END;

CREATE TRIGGER users_update_state_generation AFTER UPDATE OF version ON users
BEGIN
    UPDATE state_generation SET value = value + 1 WHERE id = 1;
END;

CREATE TRIGGER devices_insert_state_generation AFTER INSERT ON devices
BEGIN
    UPDATE state_generation SET value = value + 1 WHERE id = 1;
END;

CREATE TRIGGER devices_delete_state_generation AFTER DELETE ON devices
BEGIN
    UPDATE state_generation SET value = value + 1 WHERE id = 1;
END;

CREATE TRIGGER devices_update_state_generation AFTER UPDATE OF version, user_id, platform ON devices
BEGIN
    UPDATE state_generation SET value = value + 1 WHERE id = 1;
END;

CREATE TRIGGER directory_groups_insert_state_generation AFTER INSERT ON directory_groups
BEGIN
    UPDATE state_generation SET value = value + 1 WHERE id = 1;
END;

CREATE TRIGGER directory_groups_delete_state_generation AFTER DELETE ON directory_groups
BEGIN
    UPDATE state_generation SET value = value + 1 WHERE id = 1;
END;

CREATE TRIGGER directory_groups_update_state_generation AFTER UPDATE OF version ON directory_groups
BEGIN
    UPDATE state_generation SET value = value + 1 WHERE id = 1;
END;

CREATE TRIGGER user_group_members_insert_state_generation AFTER INSERT ON user_group_members
BEGIN
    UPDATE state_generation SET value = value + 1 WHERE id = 1;
END;

CREATE TRIGGER user_group_members_delete_state_generation AFTER DELETE ON user_group_members
BEGIN
    UPDATE state_generation SET value = value + 1 WHERE id = 1;
END;

CREATE TRIGGER user_group_members_update_state_generation AFTER UPDATE ON user_group_members
BEGIN
    UPDATE state_generation SET value = value + 1 WHERE id = 1;
END;

CREATE TRIGGER device_group_members_insert_state_generation AFTER INSERT ON device_group_members
BEGIN
    UPDATE state_generation SET value = value + 1 WHERE id = 1;
END;

CREATE TRIGGER device_group_members_delete_state_generation AFTER DELETE ON device_group_members
BEGIN
    UPDATE state_generation SET value = value + 1 WHERE id = 1;
END;

CREATE TRIGGER device_group_members_update_state_generation AFTER UPDATE ON device_group_members
BEGIN
    UPDATE state_generation SET value = value + 1 WHERE id = 1;
END;

CREATE TRIGGER trusted_certificate_profiles_insert_state_generation AFTER INSERT ON trusted_certificate_profiles
BEGIN
    UPDATE state_generation SET value = value + 1 WHERE id = 1;
END;

CREATE TRIGGER trusted_certificate_profiles_delete_state_generation AFTER DELETE ON trusted_certificate_profiles
BEGIN
    UPDATE state_generation SET value = value + 1 WHERE id = 1;
END;

CREATE TRIGGER trusted_certificate_profiles_update_state_generation AFTER UPDATE OF version ON trusted_certificate_profiles
BEGIN
    UPDATE state_generation SET value = value + 1 WHERE id = 1;
END;

CREATE TRIGGER scep_certificate_profiles_insert_state_generation AFTER INSERT ON scep_certificate_profiles
BEGIN
    UPDATE state_generation SET value = value + 1 WHERE id = 1;
END;

CREATE TRIGGER scep_certificate_profiles_delete_state_generation AFTER DELETE ON scep_certificate_profiles
BEGIN
    UPDATE state_generation SET value = value + 1 WHERE id = 1;
END;

CREATE TRIGGER scep_certificate_profiles_update_state_generation AFTER UPDATE OF version ON scep_certificate_profiles
BEGIN
    UPDATE state_generation SET value = value + 1 WHERE id = 1;
END;

CREATE TRIGGER trusted_profile_assignments_insert_state_generation AFTER INSERT ON trusted_profile_assignments
BEGIN
    UPDATE state_generation SET value = value + 1 WHERE id = 1;
END;

CREATE TRIGGER trusted_profile_assignments_delete_state_generation AFTER DELETE ON trusted_profile_assignments
BEGIN
    UPDATE state_generation SET value = value + 1 WHERE id = 1;
END;

CREATE TRIGGER trusted_profile_assignments_update_state_generation AFTER UPDATE ON trusted_profile_assignments
BEGIN
    UPDATE state_generation SET value = value + 1 WHERE id = 1;
END;

CREATE TRIGGER scep_profile_assignments_insert_state_generation AFTER INSERT ON scep_profile_assignments
BEGIN
    UPDATE state_generation SET value = value + 1 WHERE id = 1;
END;

CREATE TRIGGER scep_profile_assignments_delete_state_generation AFTER DELETE ON scep_profile_assignments
BEGIN
    UPDATE state_generation SET value = value + 1 WHERE id = 1;
END;

CREATE TRIGGER scep_profile_assignments_update_state_generation AFTER UPDATE ON scep_profile_assignments
BEGIN
    UPDATE state_generation SET value = value + 1 WHERE id = 1;
END;

CREATE TRIGGER issued_certificates_insert_state_generation AFTER INSERT ON issued_certificates
BEGIN
    UPDATE state_generation SET value = value + 1 WHERE id = 1;
END;

CREATE TRIGGER issued_certificates_delete_state_generation AFTER DELETE ON issued_certificates
BEGIN
    UPDATE state_generation SET value = value + 1 WHERE id = 1;
END;

CREATE TRIGGER issued_certificates_update_state_generation AFTER UPDATE ON issued_certificates
BEGIN
    UPDATE state_generation SET value = value + 1 WHERE id = 1;
END;
