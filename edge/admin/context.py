"""What the admin API of one edge process shares: the two PostgreSQL
pools, the engine, its rate limit and its credentials.

The vq_app pool serves every tenant-scoped request through
``tenant_transaction`` (row-level security is the second wall behind the
checks of permissions.py). The vq_system pool serves what crosses tenants
by nature: sign-in and API key look-ups (the tenant is known only from the
credentials) and the platform admins' list of tenants.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import asyncpg
from starlette.requests import HTTPConnection

from core.engine import QueueEngine
from core.passwords import hash_password
from edge.admin.tokens import AccessTokens, Sealer
from edge.context import Edge
from edge.errors import ApiError
from edge.ratelimit import Limits
from persistence import tenants, users
from persistence.pool import APP_ROLE, SYSTEM_ROLE, open_pool, tenant_transaction

logger = logging.getLogger(__name__)

TENANT_TTL_S = 5.0


@dataclass
class Admin:
    app_pool: asyncpg.Pool
    system_pool: asyncpg.Pool
    engine: QueueEngine
    limits: Limits
    tokens: AccessTokens
    sealer: Sealer
    _statuses: dict[str, tuple[float, str | None]] = field(default_factory=dict)

    async def tenant_status(self, tenant_id: str) -> str | None:
        """'active', 'suspended' or None (no such tenant), as of a few
        seconds ago: a suspension reaches every process within that."""
        now = time.monotonic()
        found = self._statuses.get(tenant_id)
        if found is not None and found[0] > now:
            return found[1]
        async with tenant_transaction(self.app_pool, tenant_id) as connection:
            status = await tenants.status_of(connection, tenant_id)
        if len(self._statuses) > 100_000:
            self._statuses.clear()
        self._statuses[tenant_id] = (now + TENANT_TTL_S, status)
        return status

    def forget_tenant(self, tenant_id: str) -> None:
        self._statuses.pop(tenant_id, None)


async def open_admin(edge: Edge) -> Admin | None:
    """The admin API's state, or None when the edge has no database."""
    config = edge.config
    if config.database_url is None:
        logger.info("admin api off reason=no_database")
        return None
    try:
        app_pool = await open_pool(
            config.database_url, APP_ROLE, password=config.database_app_password
        )
        system_pool = await open_pool(
            config.database_url,
            SYSTEM_ROLE,
            password=config.database_system_password,
            max_size=4,
        )
    except (OSError, asyncpg.PostgresError) as exc:
        # The visitor API does not need PostgreSQL: serve it anyway.
        logger.error("admin api off reason=database_unreachable error=%s", exc)
        return None
    admin = Admin(
        app_pool=app_pool,
        system_pool=system_pool,
        engine=edge.engine,
        limits=Limits(
            edge.client,
            config.redis_url,
            prefix=config.prefix,
            per_ip=config.admin_limit,
            per_session="0",
            trust_proxy=config.trust_proxy,
        ),
        tokens=AccessTokens(config.secret),
        sealer=Sealer(config.secret),
    )
    if config.admin_email and config.admin_password:
        await ensure_platform_admin(admin, config.admin_email, config.admin_password)
    return admin


async def close_admin(admin: Admin | None) -> None:
    if admin is not None:
        await admin.app_pool.close()
        await admin.system_pool.close()


async def ensure_platform_admin(admin: Admin, email: str, password: str) -> None:
    """Creates the platform admin of VQ_ADMIN_EMAIL when no account has
    that email; an existing account is left as it is."""
    if await users.sign_in_state(admin.system_pool, email) is not None:
        return
    try:
        await users.create_admin(admin.system_pool, email, hash_password(password))
    except users.EmailTaken:
        return  # made meanwhile by another edge process
    logger.info("platform admin created email=%s", email)


def admin_of(conn: HTTPConnection) -> Admin:
    """The admin state of the app; 503 when the edge has no database."""
    admin: Admin | None = getattr(conn.app.state, "admin", None)
    if admin is None:
        raise ApiError(503, "admin_unavailable", "the admin API needs a database")
    return admin
