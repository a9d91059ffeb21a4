-- Facts the enrollment timeline (GET /api/v1/devices/{id}/enrollment-timeline)
-- needs and no other table keeps. Everything else it shows — verifications,
-- issuance, revocations — is already in events and issued_certificates.

-- Each SCEP payload a check-in handed out: which version, where the device
-- was sent, and until when its challenge was good (never the challenge). A
-- row per 200 check-in that carries a SCEP payload; unchanged (304)
-- check-ins hand out nothing and write nothing. UUIDv7 ids, so id order is
-- time order. No foreign keys: the trail outlives devices and profiles, and
-- the sweep purges it with the events' retention.
CREATE TABLE payload_offers (
    id                   UUID PRIMARY KEY,
    device_id            UUID        NOT NULL,
    profile_id           UUID        NOT NULL,
    profile_version      BIGINT      NOT NULL,
    -- JSON array of the payload's SCEP server URLs.
    scep_server_urls     TEXT        NOT NULL,
    challenge_expires_at TIMESTAMPTZ NOT NULL,
    offered_at           TIMESTAMPTZ NOT NULL
);
-- The timeline's offers of one device (and profile), newest first.
CREATE INDEX payload_offers_device ON payload_offers (device_id, profile_id, id);
-- purge_payload_offers: one bounded batch per statement.
CREATE INDEX payload_offers_offered_at ON payload_offers (offered_at);

-- When a device first listed the certificate at check-in (certificateReported).
-- Written once per certificate, so idle check-ins that keep listing it write nothing.
ALTER TABLE issued_certificates ADD COLUMN reported_at TIMESTAMPTZ;

-- Every new version of a SCEP profile (profileChanged), kept by a trigger so
-- that every writer records it in the same transaction as the change.
CREATE TABLE scep_profile_versions (
    profile_id UUID        NOT NULL REFERENCES scep_certificate_profiles (id) ON DELETE CASCADE,
    version    BIGINT      NOT NULL,
    changed_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (profile_id, version)
);

CREATE FUNCTION scep_profile_version_recorded() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO scep_profile_versions (profile_id, version, changed_at)
    VALUES (NEW.id, NEW.version, NEW.modified_at)
    ON CONFLICT (profile_id, version) DO NOTHING;
    RETURN NULL;
END
$$;
CREATE TRIGGER scep_certificate_profiles_version_recorded AFTER UPDATE OF version ON scep_certificate_profiles
    FOR EACH ROW WHEN (NEW.version <> OLD.version) EXECUTE FUNCTION scep_profile_version_recorded();
