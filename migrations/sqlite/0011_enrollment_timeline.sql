-- Same schema as migrations/postgres/0011_enrollment_timeline.sql in SQLite types:
-- the facts the enrollment timeline needs and no other table keeps.

-- Each SCEP payload a check-in handed out (never the challenge); UUIDv7 ids.
CREATE TABLE payload_offers (
    id                   BLOB    PRIMARY KEY NOT NULL,
    device_id            BLOB    NOT NULL,
    profile_id           BLOB    NOT NULL,
    profile_version      INTEGER NOT NULL,
    scep_server_urls     TEXT    NOT NULL,
    challenge_expires_at TEXT    NOT NULL,
    offered_at           TEXT    NOT NULL
);
-- The timeline's offers of one device (and profile), newest first.
CREATE INDEX payload_offers_device ON payload_offers (device_id, profile_id, id);
-- purge_payload_offers: one bounded batch per statement.
CREATE INDEX payload_offers_offered_at ON payload_offers (offered_at);

-- When a device first listed the certificate at check-in.
ALTER TABLE issued_certificates ADD COLUMN reported_at TEXT;

-- Every new version of a SCEP profile, kept by a trigger.
CREATE TABLE scep_profile_versions (
    profile_id BLOB    NOT NULL REFERENCES scep_certificate_profiles (id) ON DELETE CASCADE,
    version    INTEGER NOT NULL,
    changed_at TEXT    NOT NULL,
    PRIMARY KEY (profile_id, version)
);

CREATE TRIGGER scep_certificate_profiles_version_recorded AFTER UPDATE OF version ON scep_certificate_profiles
WHEN NEW.version <> OLD.version
BEGIN
    INSERT INTO scep_profile_versions (profile_id, version, changed_at)
    VALUES (NEW.id, NEW.version, NEW.modified_at)
    ON CONFLICT (profile_id, version) DO NOTHING;
END;
