-- Same schema as migrations/postgres/0008_retention.sql.
-- Retention: the periodic sweep deletes events and finished SCEP
-- transactions older than the configured retention, a bounded batch at a
-- time (purge_events and purge_scep_transactions in storage/src/sql/lifecycle.rs).
-- Without these indexes each batch would scan the whole table.
CREATE INDEX events_occurred_at ON events (occurred_at);
CREATE INDEX scep_transactions_verified_at ON scep_transactions (verified_at);
