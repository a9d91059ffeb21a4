-- Same schema as migrations/postgres/0005_certificate_lifecycle.sql in SQLite types.
-- The certificate lifecycle: single-use challenges, requests the policy
-- module allowed, the ledger of issued certificates (renewal and revocation
-- are decided from it), per device and profile enrollment state, and events.

-- Ids of challenges already verified. A challenge is a signed token (no row
-- when issued); this ledger is what makes it single-use. Rows past expires_at
-- may be purged: verification rejects an expired token before looking here.
CREATE TABLE used_challenges (
    id         BLOB PRIMARY KEY NOT NULL,
    expires_at TEXT        NOT NULL
);
CREATE INDEX used_challenges_expires ON used_challenges (expires_at);

-- Requests the policy module allowed, awaiting the issued certificate.
-- device_id and profile_id carry no foreign key: the trail outlives both.
CREATE TABLE scep_transactions (
    transaction_id    TEXT PRIMARY KEY,
    device_id         BLOB        NOT NULL,
    profile_id        BLOB        NOT NULL,
    profile_version   INTEGER      NOT NULL,
    challenge_id      BLOB        NOT NULL,
    public_key_sha256 BLOB        NOT NULL,
    name_digest       BLOB        NOT NULL,
    verified_at       TEXT        NOT NULL,
    certificate_id    BLOB
);

-- Issued certificates. No foreign keys to devices or profiles: when a device
-- is retired or a profile deleted, its certificates must still be revoked.
CREATE TABLE issued_certificates (
    id                     BLOB PRIMARY KEY NOT NULL,
    device_id              BLOB        NOT NULL,
    profile_id             BLOB        NOT NULL,
    profile_version        INTEGER      NOT NULL,
    transaction_id         TEXT        NOT NULL,
    serial_number          TEXT        NOT NULL,
    thumbprint_sha1        TEXT        NOT NULL UNIQUE,
    issuer                 TEXT        NOT NULL,
    subject                TEXT        NOT NULL,
    not_before             TEXT        NOT NULL,
    not_after              TEXT        NOT NULL,
    issued_at              TEXT        NOT NULL,
    revoke_status          TEXT        NOT NULL DEFAULT 'none'
        CHECK (revoke_status IN ('none', 'pending', 'issued', 'failed', 'revoked')),
    revoke_requested_at    TEXT       ,
    revoke_diagnostic_code INTEGER,
    revoke_message         TEXT,
    revoked_at             TEXT       ,
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
    device_id       BLOB        NOT NULL,
    profile_id      BLOB        NOT NULL,
    profile_version INTEGER      NOT NULL,
    state           TEXT        NOT NULL CHECK (state IN ('challengeIssued', 'failed')),
    diagnostic_code INTEGER,
    reason          TEXT,
    updated_at      TEXT        NOT NULL,
    PRIMARY KEY (device_id, profile_id)
);
CREATE INDEX device_profile_states_profile ON device_profile_states (profile_id, device_id);

-- Connector events with the seed's ids and diagnostic codes. Ids are UUIDv7,
-- so id order is time order.
CREATE TABLE events (
    id              BLOB PRIMARY KEY NOT NULL,
    event_id        INTEGER     NOT NULL,
    device_id       BLOB,
    profile_id      BLOB,
    certificate_id  BLOB,
    transaction_id  TEXT,
    diagnostic_code INTEGER      NOT NULL,
    message         TEXT        NOT NULL,
    occurred_at     TEXT        NOT NULL
);
CREATE INDEX events_device ON events (device_id, id);
CREATE INDEX events_profile ON events (profile_id, id);
CREATE INDEX events_event_id ON events (event_id, id);
