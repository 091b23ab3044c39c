-- The two login roles the services connect as. Roles belong to the whole
-- PostgreSQL cluster, not to one database: several databases (and
-- concurrent test runs) share them, so creating them is idempotent and a
-- race between two creators is not an error. Grants and policies are per
-- database (0004).
--
-- vq_app     the edge and admin API; sees only the rows of the tenant named
--            in app.tenant_id (row-level security).
-- vq_system  the flusher, start-up and recovery; crosses tenants through
--            policies of its own, never through BYPASSRLS.
-- Neither owns a table, and neither is a superuser or bypasses RLS: the
-- pool refuses to start on a role that could (persistence/pool.py).

DO $$
DECLARE
    role_name text;
BEGIN
    FOREACH role_name IN ARRAY ARRAY['vq_app', 'vq_system'] LOOP
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = role_name) THEN
            BEGIN
                EXECUTE format(
                    'CREATE ROLE %I LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB '
                    'NOCREATEROLE NOINHERIT',
                    role_name
                );
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;  -- made meanwhile by another database's migration
            END;
        END IF;
    END LOOP;
END
$$;
