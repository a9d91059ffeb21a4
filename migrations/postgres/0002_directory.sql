-- Directory (users, devices, groups, memberships) and profile assignments.

-- Targeting needs each SCEP profile's certificate type without reading its settings document.
ALTER TABLE scep_certificate_profiles ADD COLUMN certificate_type TEXT;
UPDATE scep_certificate_profiles SET certificate_type = settings->>'certificateType';
ALTER TABLE scep_certificate_profiles ALTER COLUMN certificate_type SET NOT NULL;

CREATE TABLE users (
    id                             UUID PRIMARY KEY,
    version                        BIGINT      NOT NULL CHECK (version >= 1),
    created_at                     TIMESTAMPTZ NOT NULL,
    modified_at                    TIMESTAMPTZ NOT NULL,
    user_principal_name            TEXT        NOT NULL,
    -- Lower-cased in Rust (User::principal_name_key) so both backends agree on
    -- case-insensitive uniqueness.
    user_principal_name_key        TEXT        NOT NULL UNIQUE,
    display_name                   TEXT        NOT NULL,
    mail                           TEXT,
    on_premises_distinguished_name TEXT,
    on_premises_sam_account_name   TEXT,
    external_id                    TEXT        UNIQUE
);

CREATE TABLE devices (
    id                 UUID PRIMARY KEY,
    version            BIGINT      NOT NULL CHECK (version >= 1),
    created_at         TIMESTAMPTZ NOT NULL,   -- enrolledDateTime
    modified_at        TIMESTAMPTZ NOT NULL,
    device_name        TEXT        NOT NULL,
    platform           TEXT        NOT NULL,
    os_version         TEXT,
    serial_number      TEXT,
    imei               TEXT,
    azure_ad_device_id UUID,
    user_id            UUID        REFERENCES users (id) ON DELETE SET NULL,
    external_id        TEXT        UNIQUE,
    last_check_in_at   TIMESTAMPTZ
);
-- targeted_devices: devices of the profile's platform in id order.
CREATE INDEX devices_platform_id ON devices (platform, id);
-- Deleting a user clears it as primary user.
CREATE INDEX devices_user ON devices (user_id);

CREATE TABLE directory_groups (
    id           UUID PRIMARY KEY,
    version      BIGINT      NOT NULL CHECK (version >= 1),
    created_at   TIMESTAMPTZ NOT NULL,
    modified_at  TIMESTAMPTZ NOT NULL,
    display_name TEXT        NOT NULL,
    description  TEXT,
    group_type   TEXT        NOT NULL CHECK (group_type IN ('user', 'device')),
    external_id  TEXT        UNIQUE,
    -- Target of the member tables' (group_id, group_type) keys: a user can
    -- only join a user group and a device only a device group, by construction.
    UNIQUE (id, group_type)
);

CREATE TABLE user_group_members (
    group_id   UUID NOT NULL,
    group_type TEXT NOT NULL DEFAULT 'user' CHECK (group_type = 'user'),
    user_id    UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id),
    FOREIGN KEY (group_id, group_type) REFERENCES directory_groups (id, group_type) ON DELETE CASCADE
);
-- device_targeting_facts: the groups of one user.
CREATE INDEX user_group_members_user ON user_group_members (user_id, group_id);

CREATE TABLE device_group_members (
    group_id   UUID NOT NULL,
    group_type TEXT NOT NULL DEFAULT 'device' CHECK (group_type = 'device'),
    device_id  UUID NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, device_id),
    FOREIGN KEY (group_id, group_type) REFERENCES directory_groups (id, group_type) ON DELETE CASCADE
);
-- device_targeting_facts: the groups of one device.
CREATE INDEX device_group_members_device ON device_group_members (device_id, group_id);

CREATE TABLE trusted_profile_assignments (
    id         UUID PRIMARY KEY,
    profile_id UUID        NOT NULL REFERENCES trusted_certificate_profiles (id) ON DELETE CASCADE,
    group_id   UUID        NOT NULL REFERENCES directory_groups (id) ON DELETE CASCADE,
    intent     TEXT        NOT NULL CHECK (intent IN ('include', 'exclude')),
    created_at TIMESTAMPTZ NOT NULL,
    -- A group is assigned to a profile once, whatever the intent (API: 409).
    UNIQUE (profile_id, group_id)
);
-- device_targeting_facts: assignments to the device's groups.
CREATE INDEX trusted_profile_assignments_group ON trusted_profile_assignments (group_id);

CREATE TABLE scep_profile_assignments (
    id         UUID PRIMARY KEY,
    profile_id UUID        NOT NULL REFERENCES scep_certificate_profiles (id) ON DELETE CASCADE,
    group_id   UUID        NOT NULL REFERENCES directory_groups (id) ON DELETE CASCADE,
    intent     TEXT        NOT NULL CHECK (intent IN ('include', 'exclude')),
    created_at TIMESTAMPTZ NOT NULL,
    UNIQUE (profile_id, group_id)
);
CREATE INDEX scep_profile_assignments_group ON scep_profile_assignments (group_id);
