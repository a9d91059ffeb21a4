-- The certificate lifecycle: single-use challenges, requests the policy
-- module allowed, the ledger of issued certificates (renewal and revocation
-- are decided from it), per device and profile enrollment state, and events.

-- Ids of challenges already verified. A challenge is a signed token (no row
-- when issued); this ledger is what makes it single-use. Rows past expires_at
-- may be purged: verification rejects an expired token before looking here.
CREATE TABLE used_challenges (
    id         UUID PRIMARY KEY,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX used_challenges_expires ON used_challenges (expires_at);

-- Requests the policy module allowed, awaiting the issued certificate.
-- device_id and profile_id carry no foreign key: the trail outlives both.
CREATE TABLE scep_transactions (
    transaction_id    TEXT PRIMARY KEY,
    device_id         UUID        NOT NULL,
    profile_id        UUID        NOT NULL,
    profile_version   BIGINT      NOT NULL,
    challenge_id      UUID        NOT NULL,
    public_key_sha256 BYTEA       NOT NULL,
    name_digest       BYTEA       NOT NULL,
    verified_at       TIMESTAMPTZ NOT NULL,
    certificate_id    UUID
);

-- Issued certificates. No foreign keys to devices or profiles: when a device
-- is retired or a profile deleted, its certificates must still be revoked.
CREATE TABLE issued_certificates (
    id                     UUID PRIMARY KEY,
    device_id              UUID        NOT NULL,
    profile_id             UUID        NOT NULL,
    profile_version        BIGINT      NOT NULL,
    transaction_id         TEXT        NOT NULL,
    serial_number          TEXT        NOT NULL,
    thumbprint_sha1        TEXT        NOT NULL UNIQUE,
    issuer                 TEXT        NOT NULL,
    subject                TEXT        NOT NULL,
    not_before             TIMESTAMPTZ NOT NULL,
    not_after              TIMESTAMPTZ NOT NULL,
    issued_at              TIMESTAMPTZ NOT NULL,
    revoke_status          TEXT        NOT NULL DEFAULT 'none'
        CHECK (revoke_status IN ('none', 'pending', 'issued', 'failed', 'revoked')),
    revoke_requested_at    TIMESTAMPTZ,
    revoke_diagnostic_code BIGINT,
    revoke_message         TEXT,
    revoked_at             TIMESTAMPTZ,
    UNIQUE (issuer, serial_number)
);
-- Check-in's ledger lookup and the device's certificate list.
CREATE INDEX issued_certificates_device ON issued_certificates (device_id, profile_id);
-- Device statuses per profile, and queueing revocations for a profile.
CREATE INDEX issued_certificates_profile ON issued_certificates (profile_id, device_id);
-- The connector's revocation queue.
CREATE INDEX issued_certificates_revocation ON issued_certificates (revoke_status, id);

-- The last enrollment step per device and profile: challengeIssued or failed
-- (succeeded, renewalDue and the revocation states come from the ledger).
CREATE TABLE device_profile_states (
    device_id       UUID        NOT NULL,
    profile_id      UUID        NOT NULL,
    profile_version BIGINT      NOT NULL,
    state           TEXT        NOT NULL CHECK (state IN ('challengeIssued', 'failed')),
    diagnostic_code BIGINT,
    reason          TEXT,
    updated_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (device_id, profile_id)
);
CREATE INDEX device_profile_states_profile ON device_profile_states (profile_id, device_id);

-- Connector events with the seed's ids and diagnostic codes. Ids are UUIDv7,
-- so id order is time order.
CREATE TABLE events (
    id              UUID PRIMARY KEY,
    event_id        BIGINT      NOT NULL,
    device_id       UUID,
    profile_id      UUID,
    certificate_id  UUID,
    transaction_id  TEXT,
    diagnostic_code BIGINT      NOT NULL,
    message         TEXT        NOT NULL,
    occurred_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX events_device ON events (device_id, id);
CREATE INDEX events_profile ON events (profile_id, id);
CREATE INDEX events_event_id ON events (event_id, id);
