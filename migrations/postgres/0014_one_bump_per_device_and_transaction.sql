-- A notified certificate changes two facts of one device in one transaction:
-- the certificate row (issued_certificates_inserted) and the enrollment step
-- it clears (device_profile_states_deleted). Each statement trigger moved the
-- device's facts generation: two UPDATEs of its credential row, two new row
-- versions and two sequence values, where one is enough. Every reader sees
-- a transaction's writes all at once, at commit, so one move anywhere in the
-- transaction invalidates what any of its statements changed: a reader that
-- sees the new generation sees all of them.
--
-- bump_devices now remembers, transaction-locally (set_config's is_local:
-- gone at commit or rollback, and undone with a rolled-back savepoint like
-- the UPDATE itself), the one device it last moved alone, and returns at
-- once when asked to move that device again. Only single-device calls are
-- remembered: they are the per-request writes (notify, verify, a denial);
-- bulk statements (imports, group deletes) move each device once already.
-- device_row_changed (the device's own row) updates directly and is not
-- deduplicated: device edits are admin writes, one statement each.

CREATE OR REPLACE FUNCTION bump_devices(changed UUID[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    alone TEXT;
BEGIN
    IF cardinality(changed) = 1 THEN
        alone := changed[1]::text;
        IF current_setting('scepter.device_generation_moved', true) = alone THEN
            RETURN;
        END IF;
    END IF;
    UPDATE device_credentials SET facts_generation = nextval('device_facts_generation')
    WHERE id IN (SELECT id FROM device_credentials WHERE device_id = ANY (changed) AND revoked_at IS NULL
                 ORDER BY id FOR NO KEY UPDATE);
    IF alone IS NOT NULL THEN
        PERFORM set_config('scepter.device_generation_moved', alone, true);
    END IF;
END
$$;
