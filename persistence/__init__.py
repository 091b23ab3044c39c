"""PostgreSQL: the durable record and the analytics store.

``migrations/`` holds the schema as SQL files applied by yoyo
(``migrate.py``); ``pool.py`` opens asyncpg pools as the two service roles;
``events.py`` and ``sessions.py`` write what the flusher reads from the
streams; ``queues.py`` keeps the queue definitions and pushes them to Redis.
"""
