-- A queue's waiting-room settings that are its own, not its tenant's: the
-- proof-of-work difficulty of a join and the page's replaced words. Kept
-- beside the engine's configuration so that they outlive Redis: the
-- waiting-room site that Redis holds is written from them (and from the
-- tenant's branding and allowed origins) on every change and, where Redis
-- lost it, when a worker starts. A JSON object as the admin API's
-- waitingRoom shows it; empty for the defaults.
-- depends: 0006.session_writes

ALTER TABLE queues ADD COLUMN waiting_room jsonb NOT NULL DEFAULT '{}';
