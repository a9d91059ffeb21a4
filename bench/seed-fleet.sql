-- Seeds the "fleet" universe of bench/fleet.sh into a PostgreSQL database
-- that `scepter migrate` has prepared:
--   50,000 users; 100,000 devices (40% iOS, 30% Android, 20% Windows,
--   10% macOS; 90% with a primary user); 150 groups (75 user, 75 device);
--   each user in 2 user groups and each device in 3 device groups (400,000
--   memberships); 100 profiles (20 trusted roots, 80 SCEP, evenly over the
--   four platforms, each SCEP profile using a root of its platform), each
--   assigned to 7 or 8 random groups (include) and one more (exclude).
-- On top of that, the check-in fleet: 5,000 iOS devices get a device
-- credential and, besides their 3 random groups, join one dedicated device
-- group with one iOS root and one iOS SCEP profile (CN={{DeviceName}},
-- O=Contoso, no SANs), so every one of them is reached by at least one root
-- and one SCEP profile whatever the random assignments do. That group and
-- those two profiles come in addition to the 150 and the 100. 500 more iOS
-- devices get a credential and join that group too: they do not check in
-- during the timed runs but enrol (verify + notify) during `churn`, so those
-- writes concern devices other than the checking ones.
-- Deterministic (setseed) so runs are comparable, except for the credential
-- secrets, which come from the same seeded random() and so are stable too.
-- psql variables: `root_der`, the DER of the bench CA as hex (every root
-- carries it, so certificates it signs chain to any SCEP profile's root);
-- `credentials`, the file the 5,000 check-in credentials are written to;
-- `enrolling_credentials`, the file for the other 500.

\set ON_ERROR_STOP on
SELECT setseed(0.13) \gset

BEGIN;

CREATE TEMP TABLE platforms (n INT PRIMARY KEY, platform TEXT NOT NULL);
INSERT INTO platforms VALUES (0, 'ios'), (1, 'android'), (2, 'windows10'), (3, 'macos');

CREATE FUNCTION pg_temp.pick_platform(r DOUBLE PRECISION) RETURNS TEXT LANGUAGE SQL AS $$
    SELECT CASE WHEN r < 0.4 THEN 'ios' WHEN r < 0.7 THEN 'android' WHEN r < 0.9 THEN 'windows10' ELSE 'macos' END
$$;

INSERT INTO users (id, version, created_at, modified_at, user_principal_name, user_principal_name_key,
                   display_name, mail, on_premises_sam_account_name, external_id)
SELECT gen_random_uuid(), 1, now(), now(), 'user' || n || '@contoso.example', 'user' || n || '@contoso.example',
       'User ' || n, 'user' || n || '@contoso.example', 'user' || n, 'u-' || n
FROM generate_series(1, 50000) AS n;

CREATE TEMP TABLE user_ids AS SELECT row_number() OVER (ORDER BY id) AS n, id FROM users;
CREATE UNIQUE INDEX ON user_ids (n);

-- 90% of devices have a primary user.
INSERT INTO devices (id, version, created_at, modified_at, device_name, platform, os_version, serial_number,
                     imei, azure_ad_device_id, user_id, external_id)
SELECT gen_random_uuid(), 1, now(), now(), 'DEVICE-' || n, pg_temp.pick_platform(random()), '17.1',
       'SN' || lpad(n::TEXT, 10, '0'), lpad((350000000000000 + n)::TEXT, 15, '0'), gen_random_uuid(),
       CASE WHEN random() < 0.9 THEN (SELECT id FROM user_ids WHERE user_ids.n = 1 + (d.n % 50000)) END,
       'd-' || n
FROM generate_series(1, 100000) AS d(n);

-- Groups 1-75 are user groups, 76-150 device groups.
INSERT INTO directory_groups (id, version, created_at, modified_at, display_name, group_type, external_id)
SELECT gen_random_uuid(), 1, now(), now(),
       CASE WHEN n <= 75 THEN 'User group ' || n ELSE 'Device group ' || n END,
       CASE WHEN n <= 75 THEN 'user' ELSE 'device' END, 'g-' || n
FROM generate_series(1, 150) AS n;

-- n: 0-74 within each type.
CREATE TEMP TABLE group_ids AS
    SELECT row_number() OVER (PARTITION BY group_type ORDER BY id) - 1 AS n, id, group_type FROM directory_groups;
CREATE UNIQUE INDEX ON group_ids (group_type, n);

-- Exactly 2 distinct user groups per user and 3 distinct device groups per
-- device: a random first group, then offsets from it in disjoint ranges
-- (1-37 and 38-74 out of 75), so no draw can repeat a group.
-- (random() in the select list of a subquery is drawn per row; in a join condition it is not.)
INSERT INTO user_group_members (group_id, user_id)
SELECT g.id, x.user_id
FROM (SELECT u.id AS user_id, first, unnest(ARRAY[first, (first + 1 + floor(random() * 74)::INT) % 75]) AS group_n
      FROM (SELECT id, floor(random() * 75)::INT AS first FROM users) u) x
JOIN group_ids g ON g.group_type = 'user' AND g.n = x.group_n;

INSERT INTO device_group_members (group_id, device_id)
SELECT g.id, x.device_id
FROM (SELECT d.id AS device_id,
             unnest(ARRAY[first, (first + 1 + floor(random() * 37)::INT) % 75,
                          (first + 38 + floor(random() * 37)::INT) % 75]) AS group_n
      FROM (SELECT id, floor(random() * 75)::INT AS first FROM devices) d) x
JOIN group_ids g ON g.group_type = 'device' AND g.n = x.group_n;

-- 20 roots, 5 per platform, all carrying the bench CA.
INSERT INTO trusted_certificate_profiles (id, version, created_at, modified_at, display_name, description,
                                          platform, cert_file_name, certificate_der, destination_store)
SELECT gen_random_uuid(), 1, now(), now(), 'Root ' || s.i, '', p.platform, 'root.cer', decode(:'root_der', 'hex'),
       CASE WHEN p.platform = 'windows10' THEN 'computerCertStoreRoot' END
FROM generate_series(0, 19) AS s(i) JOIN platforms p ON p.n = s.i % 4;

CREATE TEMP TABLE root_ids AS
    SELECT row_number() OVER (PARTITION BY platform ORDER BY id) - 1 AS n, id, platform
    FROM trusted_certificate_profiles;

-- 80 SCEP profiles, 20 per platform, the k-th using root k % 5 of its platform;
-- user and device certificates alternate.
INSERT INTO scep_certificate_profiles (id, version, created_at, modified_at, display_name, description, platform,
                                       root_certificate_id, settings, certificate_type)
SELECT gen_random_uuid(), 1, now(), now(), 'SCEP ' || s.i, '', r.platform, r.id,
       jsonb_build_object(
           'certificateType', CASE WHEN s.i % 2 = 0 THEN 'user' ELSE 'device' END,
           'validityPeriod', NULL,
           'keyStorageProvider', CASE WHEN r.platform = 'windows10' THEN 'useTpmKspOtherwiseUseSoftwareKsp' END,
           'subjectNameFormat', 'custom',
           'subjectNameFormatString',
               CASE WHEN s.i % 2 = 0 THEN 'CN={{UserName}},OU=Mobile' ELSE 'CN={{DeviceName}},O=Contoso' END,
           'customSubjectAlternativeNames', '[]'::jsonb,
           'keyUsage', '["keyEncipherment", "digitalSignature"]'::jsonb,
           'keySize', 2048,
           'hashAlgorithm', CASE WHEN r.platform IN ('ios', 'macos') THEN NULL ELSE 'sha2' END,
           'extendedKeyUsages', '[{"name": "Client Authentication", "objectIdentifier": "1.3.6.1.5.5.7.3.2"}]'::jsonb,
           'renewalThresholdPercentage', 20,
           'scepServerUrls', '["https://ndes.contoso.example/certsrv/mscep/mscep.dll"]'::jsonb),
       CASE WHEN s.i % 2 = 0 THEN 'user' ELSE 'device' END
FROM generate_series(0, 79) AS s(i)
JOIN platforms p ON p.n = s.i % 4
JOIN root_ids r ON r.platform = p.platform AND r.n = (s.i / 4) % 5;

-- Per profile, the 150 groups in random order: the first is excluded, the
-- next 7 (even-numbered profiles) or 8 (odd) included.
CREATE TEMP TABLE profile_order AS
    SELECT row_number() OVER (ORDER BY kind, id) AS n, id, kind
    FROM (SELECT id, 'trusted' AS kind FROM trusted_certificate_profiles
          UNION ALL SELECT id, 'scep' FROM scep_certificate_profiles) p;
CREATE TEMP TABLE drawn AS
    SELECT p.id AS profile_id, p.kind, p.n AS profile_n, x.group_id,
           row_number() OVER (PARTITION BY p.id ORDER BY x.r) AS rank
    FROM profile_order p
    CROSS JOIN LATERAL (SELECT g.id AS group_id, random() + (p.n * 0) AS r FROM directory_groups g) x;
INSERT INTO trusted_profile_assignments (id, profile_id, group_id, intent, created_at)
SELECT gen_random_uuid(), profile_id, group_id, CASE WHEN rank = 1 THEN 'exclude' ELSE 'include' END, now()
FROM drawn WHERE kind = 'trusted' AND rank <= 8 + profile_n % 2;
INSERT INTO scep_profile_assignments (id, profile_id, group_id, intent, created_at)
SELECT gen_random_uuid(), profile_id, group_id, CASE WHEN rank = 1 THEN 'exclude' ELSE 'include' END, now()
FROM drawn WHERE kind = 'scep' AND rank <= 8 + profile_n % 2;

-- The check-in fleet: 5,000 iOS devices, a dedicated group, one root and one
-- SCEP profile; and the 500 iOS devices that enrol during churn.
CREATE TEMP TABLE fleet_devices AS
    SELECT id, row_number() OVER (ORDER BY id) <= 5000 AS checks_in
    FROM devices WHERE platform = 'ios' ORDER BY id LIMIT 5500;

INSERT INTO directory_groups (id, version, created_at, modified_at, display_name, group_type, external_id)
VALUES (gen_random_uuid(), 1, now(), now(), 'Fleet check-in', 'device', 'g-fleet');
INSERT INTO device_group_members (group_id, device_id)
SELECT g.id, d.id FROM fleet_devices d CROSS JOIN directory_groups g WHERE g.external_id = 'g-fleet';

INSERT INTO trusted_certificate_profiles (id, version, created_at, modified_at, display_name, description,
                                          platform, cert_file_name, certificate_der, destination_store)
VALUES (gen_random_uuid(), 1, now(), now(), 'Fleet bench root', '', 'ios', 'root.cer',
        decode(:'root_der', 'hex'), NULL);
INSERT INTO scep_certificate_profiles (id, version, created_at, modified_at, display_name, description, platform,
                                       root_certificate_id, settings, certificate_type)
SELECT gen_random_uuid(), 1, now(), now(), 'Fleet bench SCEP', '', 'ios', t.id,
       jsonb_build_object(
           'certificateType', 'device',
           'validityPeriod', NULL,
           'keyStorageProvider', NULL,
           'subjectNameFormat', 'custom',
           'subjectNameFormatString', 'CN={{DeviceName}},O=Contoso',
           'customSubjectAlternativeNames', '[]'::jsonb,
           'keyUsage', '["keyEncipherment", "digitalSignature"]'::jsonb,
           'keySize', 2048,
           'hashAlgorithm', NULL,
           'extendedKeyUsages', '[{"name": "Client Authentication", "objectIdentifier": "1.3.6.1.5.5.7.3.2"}]'::jsonb,
           'renewalThresholdPercentage', 20,
           'scepServerUrls', '["https://ndes.contoso.example/certsrv/mscep/mscep.dll"]'::jsonb),
       'device'
FROM trusted_certificate_profiles t WHERE t.display_name = 'Fleet bench root';

INSERT INTO trusted_profile_assignments (id, profile_id, group_id, intent, created_at)
SELECT gen_random_uuid(), t.id, g.id, 'include', now()
FROM trusted_certificate_profiles t, directory_groups g
WHERE t.display_name = 'Fleet bench root' AND g.external_id = 'g-fleet';
INSERT INTO scep_profile_assignments (id, profile_id, group_id, intent, created_at)
SELECT gen_random_uuid(), s.id, g.id, 'include', now()
FROM scep_certificate_profiles s, directory_groups g
WHERE s.display_name = 'Fleet bench SCEP' AND g.external_id = 'g-fleet';

-- One credential per fleet device: scd_<id hex>_<base64url secret>, SHA-256 of the secret stored.
CREATE TEMP TABLE fleet_credentials AS
    SELECT gen_random_uuid() AS id, d.id AS device_id, d.checks_in,
           decode(md5(random()::TEXT) || md5(random()::TEXT), 'hex') AS secret
    FROM fleet_devices d;
INSERT INTO device_credentials (id, device_id, secret_sha256, created_at)
SELECT id, device_id, sha256(secret), now() FROM fleet_credentials;

COMMIT;

\pset tuples_only on
\pset format unaligned
CREATE TEMP VIEW credential_texts AS
    SELECT 'scd_' || replace(id::TEXT, '-', '') || '_' || rtrim(translate(encode(secret, 'base64'), E'+/\n', '-_'), '=')
           AS credential, checks_in, id
    FROM fleet_credentials;
\o :credentials
SELECT credential FROM credential_texts WHERE checks_in ORDER BY id;
\o :enrolling_credentials
SELECT credential FROM credential_texts WHERE NOT checks_in ORDER BY id;
\o
\pset tuples_only off
\pset format aligned

-- VACUUM sets the visibility map, so membership probes are index-only scans
-- (autovacuum does the same in a live database).
VACUUM ANALYZE;

SELECT (SELECT count(*) FROM users) AS users, (SELECT count(*) FROM devices) AS devices,
       (SELECT count(*) FROM directory_groups) AS groups,
       (SELECT count(*) FROM user_group_members) + (SELECT count(*) FROM device_group_members) AS memberships,
       (SELECT count(*) FROM trusted_certificate_profiles) AS roots,
       (SELECT count(*) FROM scep_certificate_profiles) AS scep,
       (SELECT count(*) FROM trusted_profile_assignments) + (SELECT count(*) FROM scep_profile_assignments) AS assignments,
       (SELECT count(*) FROM device_credentials) AS credentials;
