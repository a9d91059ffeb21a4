-- Prepares check-in benchmarks on top of bench/seed-scale.sql: 20,000 of the
-- 100,000 Android/other devices are moved into one device group (out of their
-- other groups, without a primary user) to which one Android root and one
-- Android SCEP profile are assigned, so each of their check-ins renders
-- exactly two payloads. Each of them gets a device credential; the
-- credentials are written to the file named by psql variable `credentials`.
-- psql variable `root_der`: the DER of a CA certificate as hex.

\set ON_ERROR_STOP on
SELECT setseed(0.7) \gset

BEGIN;

CREATE TEMP TABLE bench_devices AS
    SELECT id FROM devices WHERE platform = 'android' ORDER BY id LIMIT 20000;

DELETE FROM device_group_members WHERE device_id IN (SELECT id FROM bench_devices);
UPDATE devices SET user_id = NULL WHERE id IN (SELECT id FROM bench_devices);

INSERT INTO directory_groups (id, version, created_at, modified_at, display_name, group_type, external_id)
VALUES (gen_random_uuid(), 1, now(), now(), 'Check-in bench', 'device', 'g-checkin');
INSERT INTO device_group_members (group_id, device_id)
SELECT g.id, d.id FROM bench_devices d CROSS JOIN directory_groups g WHERE g.external_id = 'g-checkin';

INSERT INTO trusted_certificate_profiles (id, version, created_at, modified_at, display_name, description,
                                          platform, cert_file_name, certificate_der, destination_store)
VALUES (gen_random_uuid(), 1, now(), now(), 'Check-in bench root', '', 'android', 'root.cer',
        decode(:'root_der', 'hex'), NULL);
INSERT INTO scep_certificate_profiles (id, version, created_at, modified_at, display_name, description, platform,
                                       root_certificate_id, settings, certificate_type)
SELECT gen_random_uuid(), 1, now(), now(), 'Check-in bench SCEP', '', 'android', t.id,
       jsonb_build_object(
           'certificateType', 'device',
           'validityPeriod', NULL,
           'keyStorageProvider', NULL,
           'subjectNameFormat', 'custom',
           'subjectNameFormatString', 'CN={{DeviceName}},O=Contoso',
           'customSubjectAlternativeNames', '[{"sanType": "domainNameService", "name": "{{DeviceName}}.devices.contoso.example"}]'::jsonb,
           'keyUsage', '["keyEncipherment", "digitalSignature"]'::jsonb,
           'keySize', 2048,
           'hashAlgorithm', 'sha2',
           'extendedKeyUsages', '[{"name": "Client Authentication", "objectIdentifier": "1.3.6.1.5.5.7.3.2"}]'::jsonb,
           'renewalThresholdPercentage', 20,
           'scepServerUrls', '["https://ndes.contoso.example/certsrv/mscep/mscep.dll"]'::jsonb),
       'device'
FROM trusted_certificate_profiles t WHERE t.display_name = 'Check-in bench root';

INSERT INTO trusted_profile_assignments (id, profile_id, group_id, intent, created_at)
SELECT gen_random_uuid(), t.id, g.id, 'include', now()
FROM trusted_certificate_profiles t, directory_groups g
WHERE t.display_name = 'Check-in bench root' AND g.external_id = 'g-checkin';
INSERT INTO scep_profile_assignments (id, profile_id, group_id, intent, created_at)
SELECT gen_random_uuid(), s.id, g.id, 'include', now()
FROM scep_certificate_profiles s, directory_groups g
WHERE s.display_name = 'Check-in bench SCEP' AND g.external_id = 'g-checkin';

-- One credential per bench device: scd_<id hex>_<base64url secret>, SHA-256 of the secret stored.
CREATE TEMP TABLE bench_credentials AS
    SELECT gen_random_uuid() AS id, d.id AS device_id,
           decode(md5(random()::TEXT) || md5(random()::TEXT), 'hex') AS secret
    FROM bench_devices d;
INSERT INTO device_credentials (id, device_id, secret_sha256, created_at)
SELECT id, device_id, sha256(secret), now() FROM bench_credentials;

COMMIT;

\pset tuples_only on
\pset format unaligned
\o :credentials
SELECT 'scd_' || replace(id::TEXT, '-', '') || '_' || rtrim(translate(encode(secret, 'base64'), E'+/\n', '-_'), '=')
FROM bench_credentials ORDER BY id;
\o

VACUUM ANALYZE;
