-- Every stream entry of every queue, append-only, partitioned by month of
-- the entry id's time (entry_at). The key (queue_id, entry_id) makes a
-- redelivered entry a no-op; entry_at derives from entry_id, so it adds
-- nothing to uniqueness but lets the key cover the partition column.
-- Partitions are made ahead by ensure_event_partitions (at migration,
-- start-up and whenever the flusher meets a new month); the default
-- partition takes anything else, so no event is ever refused.
-- depends: 0002.tables

CREATE TABLE queue_events (
    tenant_id text NOT NULL,
    queue_id text NOT NULL,
    entry_id text NOT NULL,        -- Redis stream entry id, 'ms-seq'
    entry_at timestamptz NOT NULL, -- the ms part of entry_id
    type varchar(32) NOT NULL,
    session_id text,               -- null for queue-level events
    at timestamptz NOT NULL,       -- the event's own time
    fields jsonb NOT NULL,         -- the other fields (core/events.py)
    PRIMARY KEY (queue_id, entry_id, entry_at)
) PARTITION BY RANGE (entry_at);

CREATE TABLE queue_events_default PARTITION OF queue_events DEFAULT;

CREATE INDEX ix_queue_events_session ON queue_events (queue_id, session_id);

-- Makes the monthly partitions from the month of first_month on, for
-- `months` months (UTC); returns how many it made. Safe to run
-- concurrently. A month whose rows already sit in the default partition
-- is skipped with a warning: those rows stay where they are.
CREATE FUNCTION ensure_event_partitions(first_month date, months integer)
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
    start date := date_trunc('month', first_month)::date;
    made integer := 0;
    part text;
BEGIN
    FOR i IN 1 .. least(months, 120) LOOP
        part := format('queue_events_%s', to_char(start, 'YYYY_MM'));
        IF to_regclass(part) IS NULL THEN
            BEGIN
                EXECUTE format(
                    'CREATE TABLE %I PARTITION OF queue_events '
                    'FOR VALUES FROM (%L) TO (%L)',
                    part,
                    start::timestamp AT TIME ZONE 'UTC',
                    (start + 1 * interval '1 month')::timestamp
                        AT TIME ZONE 'UTC'
                );
                made := made + 1;
            EXCEPTION
                WHEN duplicate_table OR unique_violation THEN
                    NULL;  -- made meanwhile by another session
                WHEN check_violation THEN
                    RAISE WARNING 'partition % skipped: rows of that month '
                        'are in queue_events_default', part;
            END;
        END IF;
        start := (start + interval '1 month')::date;
    END LOOP;
    RETURN made;
END
$$;

DO $$
BEGIN
    PERFORM ensure_event_partitions((now() AT TIME ZONE 'UTC')::date, 3);
END
$$;
