-- Cheaper session rows: the flusher inserts one per join, and every
-- foreign key and index of user_sessions is paid on each of them.
--
-- A row's queue and tenant are checked as one pair: the queue must exist
-- and belong to the row's tenant. This replaces the two separate foreign
-- keys of 0002, which let a row name a queue of another tenant, with one
-- check per row instead of two. The tenant still exists: the queue's own
-- foreign key says so.
--
-- Two indexes of 0002 go. ix_user_sessions_live_score served only the
-- rebuild after a Redis loss, which now finds a queue's live rows through
-- ux_user_sessions_live and sorts them. ix_user_sessions_queue_status
-- served no query that ix_user_sessions_queue_id or the staff list's
-- ix_user_sessions_queue_id_desc does not. Together they cost a third of
-- the flush rate (bench flush).
-- depends: 0005.admin

ALTER TABLE queues
    ADD CONSTRAINT uq_queues_id_tenant_id UNIQUE (id, tenant_id);

ALTER TABLE user_sessions
    DROP CONSTRAINT user_sessions_tenant_id_fkey,
    DROP CONSTRAINT user_sessions_queue_id_fkey,
    ADD CONSTRAINT fk_user_sessions_queue_tenant
        FOREIGN KEY (queue_id, tenant_id) REFERENCES queues (id, tenant_id);

DROP INDEX ix_user_sessions_live_score;
DROP INDEX ix_user_sessions_queue_status;
