-- Tenants, queue definitions, visitor sessions, staff accounts and the
-- audit log. Every tenant-owned row carries tenant_id (the tenant's own id
-- for tenants): row-level security (0004) filters on it, and it is the
-- column to distribute on when one server is outgrown.
-- depends: 0001.roles

CREATE TABLE tenants (
    id text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$'),
    name varchar(100) NOT NULL,
    -- Nullable, unlike the requirements: a tenant first seen through a
    -- queue configured on Redis alone has no domain yet.
    domain varchar(255) UNIQUE,
    configuration jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE queues (
    id text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$'),
    tenant_id text NOT NULL REFERENCES tenants (id),
    name varchar(100) NOT NULL,
    description text NOT NULL DEFAULT '',
    -- The engine's QueueConfig (core/model.py) as JSON: pushed to Redis on
    -- create, update and start-up. The requirements' columns derive from it.
    config jsonb NOT NULL,
    max_concurrent_users integer
        GENERATED ALWAYS AS ((config ->> 'max_active')::integer) STORED,
    release_rate_per_minute integer
        GENERATED ALWAYS AS ((config ->> 'release_rate')::integer) STORED,
    is_active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (config ->> 'tenant_id' = tenant_id)
);
CREATE INDEX ix_queues_tenant_id ON queues (tenant_id);

-- One row per visit: a visitor who joins again after their visit ended
-- gets a new row, so at most one row per queue and session is live.
CREATE TABLE user_sessions (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id text NOT NULL REFERENCES tenants (id),
    queue_id text NOT NULL REFERENCES queues (id),
    -- The session id: already a keyed HMAC of the visitor key
    -- (core/ids.py), so the visitor key itself is never stored.
    user_identifier text NOT NULL,
    status varchar(20) NOT NULL CHECK (status IN (
        'waiting', 'prequeue', 'active', 'served', 'left', 'expired',
        'no_show', 'transferred'
    )),
    priority smallint NOT NULL DEFAULT 0,
    -- Position when joining, or where a requeue or reorder put the visitor.
    position integer NOT NULL DEFAULT 0,
    ticket varchar(20) NOT NULL,
    -- The wait score (line order, kept while active for a requeue); null
    -- in the pre-queue until the draw places the visitor.
    score double precision,
    counter varchar(64),
    quoted_p50_s integer,
    quoted_p90_s integer,
    metadata jsonb,
    transferred_from text,  -- 'queue:session' of a transfer in
    transferred_to text,    -- 'queue:session' of a transfer out
    end_reason varchar(20),  -- timeout, staff, visitor, heartbeat
    service_ms bigint,       -- from release or call to the end
    enqueued_at timestamptz NOT NULL,
    queued_at timestamptz,   -- placed in the line by the pre-queue draw
    released_at timestamptz,
    called_at timestamptz,
    expires_at timestamptz,  -- end of the admission of a released visitor
    served_at timestamptz,
    no_show_at timestamptz,
    expired_at timestamptz,
    left_at timestamptz,
    transferred_at timestamptz,
    last_entry_id text NOT NULL,  -- stream entry of the last change applied
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ix_user_sessions_queue_id ON user_sessions (queue_id);
CREATE INDEX ix_user_sessions_status ON user_sessions (status);
CREATE INDEX ix_user_sessions_enqueued_at ON user_sessions (enqueued_at);
CREATE INDEX ix_user_sessions_queue_status
    ON user_sessions (queue_id, status);
CREATE UNIQUE INDEX ux_user_sessions_live
    ON user_sessions (queue_id, user_identifier)
    WHERE status IN ('waiting', 'prequeue', 'active');
-- Rebuild after a Redis loss: the live sessions of a queue in line order.
CREATE INDEX ix_user_sessions_live_score
    ON user_sessions (queue_id, score)
    WHERE status IN ('waiting', 'prequeue', 'active');

-- Staff accounts. The TOTP columns wait for the admin issue.
CREATE TABLE users (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id text NOT NULL REFERENCES tenants (id),
    email varchar(255) NOT NULL,
    password_hash text NOT NULL,
    role varchar(20) NOT NULL
        CHECK (role IN ('owner', 'admin', 'staff', 'viewer')),
    totp_secret bytea,           -- encrypted by the application
    totp_enabled boolean NOT NULL DEFAULT false,
    totp_last_step bigint,       -- refuses a replayed code
    disabled_at timestamptz,
    last_login_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX ux_users_email ON users (lower(email));
CREATE INDEX ix_users_tenant_id ON users (tenant_id);

-- Who did what, when, with the record before and after. Append-only: no
-- role is granted UPDATE or DELETE on it.
CREATE TABLE audit_log (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id text NOT NULL REFERENCES tenants (id),
    actor text NOT NULL,        -- 'user:<id>', 'system', ...
    action varchar(64) NOT NULL,  -- e.g. queue.update
    target text,                -- e.g. 'queue:<id>'
    at timestamptz NOT NULL DEFAULT now(),
    before jsonb,
    after jsonb
);
CREATE INDEX ix_audit_log_tenant_at ON audit_log (tenant_id, at);
