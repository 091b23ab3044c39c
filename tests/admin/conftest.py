"""Fixtures of the admin API tests: an edge with its database on the
session's migrated PostgreSQL and real Redis, and ``World``: two tenants,
each with a manager, a staff member, queues and an API key, plus a
platform admin, with ready access tokens.

Accounts are made in SQL with one password hash made once per session
(Argon2id is slow on purpose); the sign-in tests sign in for real.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from redis.asyncio import Redis

from core.engine import QueueEngine
from core.passwords import hash_password
from edge.admin.tokens import AccessTokens, Principal
from edge.server import running_edge
from tests.edge.conftest import HIGH, SECRET, edge_config
from tests.persistence.conftest import app_pool, migrated_url, system_pool

__all__ = ["app_pool", "migrated_url", "system_pool"]

PASSWORD = "correct horse battery"
_HASH: list[str] = []


def password_hash() -> str:
    if not _HASH:
        _HASH.append(hash_password(PASSWORD))
    return _HASH[0]


@pytest.fixture(scope="session")
def admin_prefix(key_prefix: str) -> str:
    """The admin edge's key prefix: its queues alone (flusher tests)."""
    return f"{key_prefix}.adm"


@pytest_asyncio.fixture(scope="session")
async def admin_url(
    redis_url: str, admin_prefix: str, migrated_url: str
) -> AsyncIterator[str]:
    """Base URL of an edge with the admin API on (limits set high)."""
    config = edge_config(
        redis_url, admin_prefix, database_url=migrated_url, admin_limit=HIGH
    )
    async with running_edge(config) as url:
        yield url


@pytest_asyncio.fixture
async def http(admin_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=admin_url, timeout=20) as client:
        yield client


@pytest.fixture
def engine(redis_client: Redis, admin_prefix: str) -> QueueEngine:
    """An engine on the admin edge's Redis, prefix and secret."""
    return QueueEngine(redis_client, secret=SECRET, prefix=admin_prefix)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Tenant:
    id: str
    manager_id: int = 0
    staff_id: int = 0
    manager_email: str = ""
    staff_email: str = ""
    queues: list[str] = field(default_factory=list)  # [assigned, unassigned]
    api_key: str = ""


@dataclass
class World:
    """Two tenants and everyone's headers."""

    a: Tenant
    b: Tenant
    admin_id: int
    admin_email: str
    tokens: AccessTokens

    def headers(self, role: str, tenant: Tenant | None = None) -> dict[str, str]:
        """Headers of ``role`` (admin, manager, staff, key) of a tenant."""
        tenant = tenant or self.a
        if role == "admin":
            who = Principal(f"user:{self.admin_id}", "admin", None)
        elif role == "manager":
            who = Principal(f"user:{tenant.manager_id}", "manager", tenant.id)
        elif role == "staff":
            who = Principal(f"user:{tenant.staff_id}", "staff", tenant.id)
        elif role == "key":
            return bearer(tenant.api_key)
        else:
            raise ValueError(role)
        return bearer(self.tokens.issue(who))


async def add_user(
    pool: asyncpg.Pool, tenant_id: str | None, role: str
) -> tuple[int, str]:
    email = f"{role}-{secrets.token_hex(5)}@example.com"
    user_id = await pool.fetchval(
        "INSERT INTO users (tenant_id, email, password_hash, role) "
        "VALUES ($1, $2, $3, $4) RETURNING id",
        tenant_id,
        email,
        password_hash(),
        role,
    )
    return int(user_id), email


async def make_tenant(
    http: httpx.AsyncClient, system_pool: asyncpg.Pool, admin: dict[str, str]
) -> Tenant:
    """A tenant made through the API, two service queues, a manager and a
    staff member assigned to the first queue, and a manager API key."""
    tenant = Tenant(id="t" + secrets.token_hex(6))
    answer = await http.post(
        "/v1/tenants", json={"id": tenant.id, "name": "Bank"}, headers=admin
    )
    assert answer.status_code == 201, answer.text
    for _ in range(2):
        answer = await http.post(
            f"/v1/tenants/{tenant.id}/queues",
            json={"name": "Desk", "settings": {"mode": "service"}},
            headers=admin,
        )
        assert answer.status_code == 201, answer.text
        tenant.queues.append(answer.json()["id"])
    tenant.manager_id, tenant.manager_email = await add_user(
        system_pool, tenant.id, "manager"
    )
    tenant.staff_id, tenant.staff_email = await add_user(
        system_pool, tenant.id, "staff"
    )
    answer = await http.put(
        f"/v1/tenants/{tenant.id}/users/{tenant.staff_id}/queues",
        json={"queueIds": tenant.queues[:1]},
        headers=admin,
    )
    assert answer.status_code == 200, answer.text
    answer = await http.post(
        f"/v1/tenants/{tenant.id}/api-keys",
        json={"name": "pos", "role": "manager"},
        headers=admin,
    )
    assert answer.status_code == 201, answer.text
    tenant.api_key = answer.json()["key"]
    return tenant


@pytest_asyncio.fixture
async def world(http: httpx.AsyncClient, system_pool: asyncpg.Pool) -> World:
    admin_id, admin_email = await add_user(system_pool, None, "admin")
    tokens = AccessTokens(SECRET)
    admin = bearer(tokens.issue(Principal(f"user:{admin_id}", "admin", None)))
    a = await make_tenant(http, system_pool, admin)
    b = await make_tenant(http, system_pool, admin)
    return World(a=a, b=b, admin_id=admin_id, admin_email=admin_email, tokens=tokens)


def ok(answer: httpx.Response, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return answer.json() if answer.content else None
