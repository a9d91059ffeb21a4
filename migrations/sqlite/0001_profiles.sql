-- Same schema as migrations/postgres/0001_profiles.sql in SQLite's types:
-- UUIDs as 16-byte BLOBs (byte order = PostgreSQL's uuid order, so keyset
-- pagination sorts alike), timestamps as RFC 3339 TEXT, JSON as TEXT.
CREATE TABLE trusted_certificate_profiles (
    id                BLOB    PRIMARY KEY NOT NULL,
    version           INTEGER NOT NULL CHECK (version >= 1),
    created_at        TEXT    NOT NULL,
    modified_at       TEXT    NOT NULL,
    display_name      TEXT    NOT NULL,
    description       TEXT    NOT NULL,
    platform          TEXT    NOT NULL,
    cert_file_name    TEXT,
    certificate_der   BLOB    NOT NULL,
    destination_store TEXT
);

-- list_trusted_profiles filtered by platform, in id order.
CREATE INDEX trusted_certificate_profiles_platform_id ON trusted_certificate_profiles (platform, id);

CREATE TABLE scep_certificate_profiles (
    id                  BLOB    PRIMARY KEY NOT NULL,
    version             INTEGER NOT NULL CHECK (version >= 1),
    created_at          TEXT    NOT NULL,
    modified_at         TEXT    NOT NULL,
    display_name        TEXT    NOT NULL,
    description         TEXT    NOT NULL,
    platform            TEXT    NOT NULL,
    -- RESTRICT: a trusted profile cannot be deleted while a SCEP profile uses it (API: 409).
    root_certificate_id BLOB    NOT NULL REFERENCES trusted_certificate_profiles (id) ON DELETE RESTRICT,
    settings            TEXT    NOT NULL
);

-- list_scep_profiles filtered by platform, in id order.
CREATE INDEX scep_certificate_profiles_platform_id ON scep_certificate_profiles (platform, id);
-- The foreign key's reverse lookup: deleting or re-platforming a trusted profile.
CREATE INDEX scep_certificate_profiles_root ON scep_certificate_profiles (root_certificate_id);
