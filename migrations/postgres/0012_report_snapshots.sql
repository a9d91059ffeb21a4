-- Reports too costly to compute per request (the fleet's certificate
-- health: every SCEP profile's states over every device), kept as their
-- latest result. Times are epoch microseconds so both backends compare them
-- as integers in the conditional writes below.
CREATE TABLE report_snapshots (
    name                         TEXT   PRIMARY KEY,
    -- When the figures were computed; 0 with body 'null': a refresh was
    -- claimed before any snapshot existed.
    generated_micros             BIGINT NOT NULL,
    body                         TEXT   NOT NULL,
    -- An instance computing the next snapshot holds this lease, so several
    -- instances do not all compute it at once.
    refresh_claimed_until_micros BIGINT NOT NULL DEFAULT 0
);
