-- Device credentials: what a device presents to /device/v1. Only a SHA-256 of
-- the random secret is stored; the secret itself is shown once, at issue.
CREATE TABLE device_credentials (
    id            UUID PRIMARY KEY,
    device_id     UUID        NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    secret_sha256 BYTEA       NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    revoked_at    TIMESTAMPTZ
);
-- Revoking a device's credentials.
CREATE INDEX device_credentials_device ON device_credentials (device_id);
