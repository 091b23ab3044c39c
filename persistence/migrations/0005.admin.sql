-- The admin API: roles of the requirements, platform admins, sign-in
-- state (lockout, TOTP), refresh token families, API keys, staff queue
-- assignments, tenant status and settings, archived queues.
--
-- Roles: 'admin' runs the platform and belongs to no tenant (tenant_id is
-- null, so the vq_app policy never shows the row); 'manager' and 'staff'
-- belong to one tenant. The roles of 0002 map onto them.
--
-- Sign-in crosses tenants (the tenant is known only once the credentials
-- are checked), so it runs as vq_system: it reads users and API keys and
-- writes the sign-in columns and refresh tokens. Everything a signed-in
-- user does on a tenant runs as vq_app in that tenant's transaction.
-- depends: 0004.security

ALTER TABLE users DROP CONSTRAINT users_role_check;
UPDATE users SET role = 'manager' WHERE role IN ('owner', 'admin');
UPDATE users SET role = 'staff' WHERE role = 'viewer';
ALTER TABLE users ALTER COLUMN tenant_id DROP NOT NULL;
ALTER TABLE users
    ADD CONSTRAINT users_role_check
        CHECK (role IN ('admin', 'manager', 'staff')),
    ADD CONSTRAINT users_tenant_of_role
        CHECK ((role = 'admin') = (tenant_id IS NULL)),
    ADD COLUMN display_name varchar(100) NOT NULL DEFAULT '',
    ADD COLUMN failed_logins integer NOT NULL DEFAULT 0,
    ADD COLUMN locked_until timestamptz;

ALTER TABLE tenants
    ADD COLUMN status varchar(20) NOT NULL DEFAULT 'active'
        CHECK (status IN ('active', 'suspended')),
    ADD COLUMN suspended_at timestamptz;

ALTER TABLE queues ADD COLUMN archived_at timestamptz;

-- Which queues a staff member works on.
CREATE TABLE user_queues (
    tenant_id text NOT NULL REFERENCES tenants (id),
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    queue_id text NOT NULL REFERENCES queues (id),
    PRIMARY KEY (user_id, queue_id)
);
CREATE INDEX ix_user_queues_tenant_id ON user_queues (tenant_id);

-- One row per refresh token: only its SHA-256 is kept. A token is spent
-- once (used_at); a spent token shown again revokes its whole family.
CREATE TABLE refresh_tokens (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family uuid NOT NULL,
    token_hash bytea NOT NULL UNIQUE,
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    revoked_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ix_refresh_tokens_family ON refresh_tokens (family);

-- Server-to-server keys, scoped to a tenant and a role; only the SHA-256
-- of the secret part is kept, the key is shown once.
CREATE TABLE api_keys (
    id text PRIMARY KEY,
    tenant_id text NOT NULL REFERENCES tenants (id),
    name varchar(100) NOT NULL,
    role varchar(20) NOT NULL CHECK (role IN ('manager', 'staff')),
    queue_ids text[] NOT NULL DEFAULT '{}',  -- staff keys: their queues
    secret_hash bytea NOT NULL,
    created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at timestamptz
);
CREATE INDEX ix_api_keys_tenant_id ON api_keys (tenant_id);

CREATE INDEX ix_audit_log_tenant_id_desc ON audit_log (tenant_id, id DESC);
CREATE INDEX ix_user_sessions_queue_id_desc ON user_sessions (queue_id, id DESC);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['user_queues', 'api_keys'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format(
            'CREATE POLICY tenant_rows ON %I TO vq_app '
            'USING (tenant_id = current_setting(''app.tenant_id'', true)) '
            'WITH CHECK (tenant_id = current_setting(''app.tenant_id'', true))',
            t
        );
        EXECUTE format(
            'CREATE POLICY system_rows ON %I TO vq_system '
            'USING (true) WITH CHECK (true)',
            t
        );
    END LOOP;
END
$$;

-- Refresh tokens belong to sign-in alone: vq_app is granted nothing.
ALTER TABLE refresh_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE refresh_tokens FORCE ROW LEVEL SECURITY;
CREATE POLICY system_rows ON refresh_tokens TO vq_system
    USING (true) WITH CHECK (true);

GRANT SELECT, INSERT, UPDATE, DELETE ON user_queues TO vq_app;
GRANT SELECT, INSERT, UPDATE ON api_keys TO vq_app;
GRANT SELECT ON user_queues TO vq_system;
GRANT SELECT, UPDATE ON api_keys TO vq_system;
GRANT SELECT, INSERT, UPDATE ON refresh_tokens TO vq_system;
-- Sign-in state, and the platform admins (who have no tenant).
GRANT INSERT, UPDATE ON users TO vq_system;
