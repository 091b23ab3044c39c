"""Applies the SQL migrations in ``migrations/`` with yoyo.

yoyo records what it applied in its own tables and holds a lock while it
works, so running ``migrate`` again, or from two processes at once, applies
each migration once. It connects with psycopg (synchronous), as the
database URL's user: the owner of the tables, not a service role.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql
from yoyo import get_backend, read_migrations

logger = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"


def apply_migrations(database_url: str) -> list[str]:
    """Applies every migration not applied yet; returns their ids."""
    started = time.monotonic()
    backend = get_backend(_yoyo_url(database_url))
    try:
        with backend.lock():
            pending = backend.to_apply(read_migrations(str(MIGRATIONS)))
            backend.apply_migrations(pending)
    finally:
        backend.connection.close()
    applied = [migration.id for migration in pending]
    logger.info(
        "migrations applied count=%d ids=%s elapsed_ms=%d",
        len(applied),
        ",".join(applied) or "-",
        (time.monotonic() - started) * 1000,
    )
    return applied


def set_passwords(database_url: str, passwords: dict[str, str]) -> None:
    """Sets the service roles' passwords, hashed here (SCRAM) so that the
    clear text never reaches the server or its logs."""
    with psycopg.connect(database_url, autocommit=True) as connection:
        for role, password in passwords.items():
            hashed = connection.pgconn.encrypt_password(
                password.encode(), role.encode(), b"scram-sha-256"
            )
            statement = sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                sql.Identifier(role), sql.Literal(hashed.decode())
            )
            connection.execute(statement)
            logger.info("role password set role=%s", role)


async def migrate(
    database_url: str, passwords: dict[str, str] | None = None
) -> list[str]:
    """Applies the migrations, then sets the roles' passwords when given;
    off the event loop."""
    applied = await asyncio.to_thread(apply_migrations, database_url)
    if passwords:
        await asyncio.to_thread(set_passwords, database_url, passwords)
    return applied


def _yoyo_url(database_url: str) -> str:
    # yoyo picks its driver by scheme: psycopg 3 rather than psycopg2.
    return urlunsplit(urlsplit(database_url)._replace(scheme="postgresql+psycopg"))
