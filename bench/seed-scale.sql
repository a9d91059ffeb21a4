-- Seeds the scale data set of the targeting benchmarks into a PostgreSQL
-- database that `scepter migrate` has prepared (see bench/README.md):
-- 50,000 users, 100,000 devices, 1,000 groups (500 user, 499 device and one
-- device group holding every device), each user and device in ~10 groups,
-- 500 profiles (250 trusted, 250 SCEP) and 5,000 assignments (10% exclude).
-- Deterministic (setseed) so runs are comparable. psql variable `root_der`:
-- the DER of a CA certificate as hex.

\set ON_ERROR_STOP on
SELECT setseed(0.42);

BEGIN;

CREATE TEMP TABLE platforms (n INT PRIMARY KEY, platform TEXT NOT NULL, weight INT NOT NULL);
INSERT INTO platforms VALUES (0, 'ios', 40), (1, 'android', 30), (2, 'windows10', 20), (3, 'macos', 10);

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

INSERT INTO directory_groups (id, version, created_at, modified_at, display_name, group_type, external_id)
SELECT gen_random_uuid(), 1, now(), now(),
       CASE WHEN n <= 500 THEN 'User group ' || n WHEN n < 1000 THEN 'Device group ' || n ELSE 'All devices' END,
       CASE WHEN n <= 500 THEN 'user' ELSE 'device' END, 'g-' || n
FROM generate_series(1, 1000) AS n;

CREATE TEMP TABLE group_ids AS
    SELECT row_number() OVER (PARTITION BY group_type ORDER BY external_id = 'g-1000', id) AS n, id, group_type
    FROM directory_groups;
CREATE UNIQUE INDEX ON group_ids (group_type, n);

-- ~10 user groups per user.
-- (random() in the select list of a subquery is drawn per row; in a join condition it is not.)
INSERT INTO user_group_members (group_id, user_id)
SELECT g.id, x.user_id
FROM (SELECT u.id AS user_id, 1 + floor(random() * 500)::INT AS group_n
      FROM users u CROSS JOIN generate_series(1, 10) AS k) x
JOIN group_ids g ON g.group_type = 'user' AND g.n = x.group_n
ON CONFLICT DO NOTHING;

-- ~9 random device groups per device, plus the all-devices group (n = 500 of the device groups).
INSERT INTO device_group_members (group_id, device_id)
SELECT g.id, x.device_id
FROM (SELECT d.id AS device_id, 1 + floor(random() * 499)::INT AS group_n
      FROM devices d CROSS JOIN generate_series(1, 9) AS k) x
JOIN group_ids g ON g.group_type = 'device' AND g.n = x.group_n
ON CONFLICT DO NOTHING;
INSERT INTO device_group_members (group_id, device_id)
SELECT g.id, d.id FROM devices d JOIN group_ids g ON g.group_type = 'device' AND g.n = 500;

-- 250 trusted profiles, platforms round-robin, all carrying the same CA certificate.
INSERT INTO trusted_certificate_profiles (id, version, created_at, modified_at, display_name, description,
                                          platform, cert_file_name, certificate_der, destination_store)
SELECT gen_random_uuid(), 1, now(), now(), 'Root ' || s.i, '', p.platform, 'root.cer', decode(:'root_der', 'hex'),
       CASE WHEN p.platform = 'windows10' THEN 'computerCertStoreRoot' END
FROM generate_series(0, 249) AS s(i) JOIN platforms p ON p.n = s.i % 4;

CREATE TEMP TABLE root_ids AS SELECT row_number() OVER (ORDER BY id) - 1 AS n, id, platform
    FROM trusted_certificate_profiles;

-- 250 SCEP profiles, each using a root of its platform.
INSERT INTO scep_certificate_profiles (id, version, created_at, modified_at, display_name, description, platform,
                                       root_certificate_id, settings, certificate_type)
SELECT gen_random_uuid(), 1, now(), now(), 'SCEP ' || r.n, '', r.platform, r.id,
       jsonb_build_object(
           'certificateType', CASE WHEN r.n % 2 = 0 THEN 'user' ELSE 'device' END,
           'validityPeriod', NULL,
           'keyStorageProvider', CASE WHEN r.platform = 'windows10' THEN 'useTpmKspOtherwiseUseSoftwareKsp' END,
           'subjectNameFormat', 'custom',
           'subjectNameFormatString', 'CN={{UserName}},OU=Mobile',
           'customSubjectAlternativeNames', '[]'::jsonb,
           'keyUsage', '["keyEncipherment", "digitalSignature"]'::jsonb,
           'keySize', 2048,
           'hashAlgorithm', CASE WHEN r.platform IN ('ios', 'macos') THEN NULL ELSE 'sha2' END,
           'extendedKeyUsages', '[{"name": "Client Authentication", "objectIdentifier": "1.3.6.1.5.5.7.3.2"}]'::jsonb,
           'renewalThresholdPercentage', 20,
           'scepServerUrls', '["https://ndes.contoso.example/certsrv/mscep/mscep.dll"]'::jsonb),
       CASE WHEN r.n % 2 = 0 THEN 'user' ELSE 'device' END
FROM root_ids r;

-- 10 assignments per profile to random groups of either type, 10% of them exclusions.
-- The first SCEP profile and its root also go to the all-devices group (targeted-devices benchmark).
INSERT INTO trusted_profile_assignments (id, profile_id, group_id, intent, created_at)
SELECT gen_random_uuid(), p.id, g.id, CASE WHEN random() < 0.1 THEN 'exclude' ELSE 'include' END, now()
FROM trusted_certificate_profiles p CROSS JOIN generate_series(1, 10) AS k
JOIN LATERAL (SELECT id FROM directory_groups ORDER BY random() + k * 0 + (p.id IS NULL)::INT LIMIT 1) g ON TRUE
ON CONFLICT DO NOTHING;
INSERT INTO scep_profile_assignments (id, profile_id, group_id, intent, created_at)
SELECT gen_random_uuid(), p.id, g.id, CASE WHEN random() < 0.1 THEN 'exclude' ELSE 'include' END, now()
FROM scep_certificate_profiles p CROSS JOIN generate_series(1, 10) AS k
JOIN LATERAL (SELECT id FROM directory_groups ORDER BY random() + k * 0 + (p.id IS NULL)::INT LIMIT 1) g ON TRUE
ON CONFLICT DO NOTHING;

INSERT INTO trusted_profile_assignments (id, profile_id, group_id, intent, created_at)
SELECT gen_random_uuid(), s.root_certificate_id, g.id, 'include', now()
FROM (SELECT root_certificate_id FROM scep_certificate_profiles ORDER BY id LIMIT 1) s
JOIN directory_groups g ON g.external_id = 'g-1000'
ON CONFLICT DO NOTHING;
INSERT INTO scep_profile_assignments (id, profile_id, group_id, intent, created_at)
SELECT gen_random_uuid(), s.id, g.id, 'include', now()
FROM (SELECT id FROM scep_certificate_profiles ORDER BY id LIMIT 1) s
JOIN directory_groups g ON g.external_id = 'g-1000'
ON CONFLICT DO NOTHING;

COMMIT;

-- VACUUM sets the visibility map, so membership probes are index-only scans
-- (autovacuum does the same in a live database).
VACUUM ANALYZE;

SELECT (SELECT count(*) FROM users) AS users, (SELECT count(*) FROM devices) AS devices,
       (SELECT count(*) FROM directory_groups) AS groups,
       (SELECT count(*) FROM user_group_members) AS user_memberships,
       (SELECT count(*) FROM device_group_members) AS device_memberships,
       (SELECT count(*) FROM trusted_certificate_profiles) + (SELECT count(*) FROM scep_certificate_profiles) AS profiles,
       (SELECT count(*) FROM trusted_profile_assignments) + (SELECT count(*) FROM scep_profile_assignments) AS assignments;
