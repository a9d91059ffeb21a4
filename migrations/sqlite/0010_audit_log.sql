-- The audit trail: every successful admin write, inserted in the write's own
-- transaction (a write that fails or dies leaves neither the change nor its
-- entry). resource_id carries no foreign key: the trail outlives what it
-- describes. Ids are UUIDv7, so id order is time order (the keyset pages).
CREATE TABLE audit_events (
    id            BLOB PRIMARY KEY NOT NULL,
    occurred_at   TEXT        NOT NULL,
    actor         TEXT        NOT NULL,
    role          TEXT        NOT NULL,
    request_id    BLOB,
    action        TEXT        NOT NULL,
    resource_type TEXT        NOT NULL,
    resource_id   BLOB,
    -- [{path, before, after}]: field-level differences, never secrets or certificate bytes.
    changes       TEXT        NOT NULL
);
-- One resource's history, and the trail filtered by actor or action.
CREATE INDEX audit_events_resource ON audit_events (resource_id, id);
CREATE INDEX audit_events_actor ON audit_events (actor, id);
CREATE INDEX audit_events_action ON audit_events (action, id);
-- The retention sweep.
CREATE INDEX audit_events_occurred_at ON audit_events (occurred_at);
