-- Row-level security on every tenant-owned table, and the grants of the
-- two service roles (0001).
--
-- vq_app sees and writes only rows whose tenant is app.tenant_id, set per
-- transaction by persistence/pool.py (tenant_transaction). Unset, it sees
-- nothing. vq_system is the trusted path: policies of its own let it read
-- and write every tenant's rows, so one flush statement covers a batch of
-- many tenants; it still cannot bypass RLS, own a table or run DDL beyond
-- the partition function. FORCE applies the policies to the tables' owner
-- as well: a service misconfigured to connect as the owner sees nothing.
-- depends: 0003.events

DO $$
DECLARE
    t text;
    tenant_column text;
BEGIN
    FOREACH t IN ARRAY ARRAY[
        'tenants', 'queues', 'user_sessions', 'queue_events', 'users',
        'audit_log'
    ] LOOP
        tenant_column := CASE t WHEN 'tenants' THEN 'id' ELSE 'tenant_id' END;
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format(
            'CREATE POLICY tenant_rows ON %I TO vq_app '
            'USING (%2$I = current_setting(''app.tenant_id'', true)) '
            'WITH CHECK (%2$I = current_setting(''app.tenant_id'', true))',
            t, tenant_column
        );
        EXECUTE format(
            'CREATE POLICY system_rows ON %I TO vq_system '
            'USING (true) WITH CHECK (true)',
            t
        );
    END LOOP;
END
$$;

GRANT SELECT, INSERT, UPDATE ON tenants TO vq_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON queues, users TO vq_app;
GRANT SELECT ON user_sessions, queue_events TO vq_app;
GRANT SELECT, INSERT ON audit_log TO vq_app;

GRANT SELECT, INSERT, UPDATE ON tenants, queues, user_sessions TO vq_system;
GRANT SELECT, INSERT ON queue_events, audit_log TO vq_system;
GRANT SELECT ON users TO vq_system;

REVOKE EXECUTE ON FUNCTION ensure_event_partitions(date, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ensure_event_partitions(date, integer) TO vq_system;
