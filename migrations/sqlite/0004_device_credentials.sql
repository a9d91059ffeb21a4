-- Same schema as migrations/postgres/0004_device_credentials.sql in SQLite types.
-- Device credentials: what a device presents to /device/v1. Only a SHA-256 of
-- the random secret is stored; the secret itself is shown once, at issue.
CREATE TABLE device_credentials (
    id            BLOB PRIMARY KEY NOT NULL,
    device_id     BLOB        NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    secret_sha256 BLOB        NOT NULL,
    created_at    TEXT        NOT NULL,
    revoked_at    TEXT       
);
-- Revoking a device's credentials.
CREATE INDEX device_credentials_device ON device_credentials (device_id);
