-- Trusted certificate profiles: the CA certificates devices must trust.
CREATE TABLE trusted_certificate_profiles (
    id                UUID PRIMARY KEY,          -- UUIDv7: time-ordered, the keyset for pagination
    version           BIGINT      NOT NULL CHECK (version >= 1),
    created_at        TIMESTAMPTZ NOT NULL,
    modified_at       TIMESTAMPTZ NOT NULL,
    display_name      TEXT        NOT NULL,
    description       TEXT        NOT NULL,
    platform          TEXT        NOT NULL,
    cert_file_name    TEXT,
    certificate_der   BYTEA       NOT NULL,
    destination_store TEXT
);

-- list_trusted_profiles filtered by platform, in id order.
CREATE INDEX trusted_certificate_profiles_platform_id ON trusted_certificate_profiles (platform, id);

-- SCEP certificate profiles. The device-facing settings are one JSON document:
-- they are always read and written whole, and never queried field by field.
CREATE TABLE scep_certificate_profiles (
    id                  UUID PRIMARY KEY,
    version             BIGINT      NOT NULL CHECK (version >= 1),
    created_at          TIMESTAMPTZ NOT NULL,
    modified_at         TIMESTAMPTZ NOT NULL,
    display_name        TEXT        NOT NULL,
    description         TEXT        NOT NULL,
    platform            TEXT        NOT NULL,
    -- RESTRICT: a trusted profile cannot be deleted while a SCEP profile uses it (API: 409).
    root_certificate_id UUID        NOT NULL REFERENCES trusted_certificate_profiles (id) ON DELETE RESTRICT,
    settings            JSONB       NOT NULL
);

-- list_scep_profiles filtered by platform, in id order.
CREATE INDEX scep_certificate_profiles_platform_id ON scep_certificate_profiles (platform, id);
-- The foreign key's reverse lookup: deleting or re-platforming a trusted profile.
CREATE INDEX scep_certificate_profiles_root ON scep_certificate_profiles (root_certificate_id);
