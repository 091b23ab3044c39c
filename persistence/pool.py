"""asyncpg pools as the two service roles, and tenant-scoped transactions.

The services never connect as the tables' owner. ``open_pool`` logs in as
``vq_app`` (the edge: one tenant per transaction, enforced by row-level
security) or ``vq_system`` (the flusher, start-up, recovery: every tenant,
through policies of its own), and refuses a role that is a superuser or
bypasses row-level security. The roles are made by migration 0001; their
passwords, if the server asks for one, come from the environment.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg
from asyncpg.pool import PoolConnectionProxy

logger = logging.getLogger(__name__)

# A connection of its own or one lent by a pool: the repositories take either.
Connection = asyncpg.Connection | PoolConnectionProxy

APP_ROLE = "vq_app"
SYSTEM_ROLE = "vq_system"

ROLE_POWERS = """
SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user
"""
SET_TENANT = "SELECT set_config('app.tenant_id', $1, true)"


class UnsafeRole(RuntimeError):
    """The pool's role could read past row-level security."""


def role_url(database_url: str, role: str, password: str | None = None) -> str:
    """``database_url`` with ``role`` (and its password) as the user."""
    parts = urlsplit(database_url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    login = quote(role, safe="")
    if password is not None:
        login += ":" + quote(password, safe="")
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit(parts._replace(netloc=f"{login}@{host}{port}"))


async def open_pool(
    database_url: str,
    role: str,
    *,
    password: str | None = None,
    min_size: int = 1,
    max_size: int = 10,
) -> asyncpg.Pool:
    """A pool logged in as ``role``; UnsafeRole if it could bypass RLS."""
    pool = await asyncpg.create_pool(
        role_url(database_url, role, password),
        min_size=min_size,
        max_size=max_size,
    )
    try:
        if await pool.fetchval(ROLE_POWERS):
            raise UnsafeRole(f"role {role} is a superuser or bypasses RLS")
    except BaseException:
        await pool.close()
        raise
    logger.info("postgres pool opened role=%s max_size=%d", role, max_size)
    return pool


@asynccontextmanager
async def tenant_transaction(
    pool: asyncpg.Pool, tenant_id: str
) -> AsyncIterator[Connection]:
    """A connection in a transaction that sees only ``tenant_id``'s rows
    (on the vq_app pool; the setting ends with the transaction)."""
    async with pool.acquire() as connection, connection.transaction():
        await connection.execute(SET_TENANT, tenant_id)
        yield connection
