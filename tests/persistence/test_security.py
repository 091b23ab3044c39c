"""Row-level security: the app role sees and writes one tenant only."""

from __future__ import annotations

import asyncpg
import pytest

from persistence.pool import UnsafeRole, open_pool, tenant_transaction

QUEUE_CONFIG = '{"tenant_id": "%s", "mode": "service"}'


@pytest.fixture
async def two_tenants(
    system_pool: asyncpg.Pool, tenant_id: str, queue_id: str
) -> tuple[str, str]:
    """Tenants ``tenant_id`` and another, each with one queue."""
    other = tenant_id + "x"
    for tenant, queue in ((tenant_id, queue_id), (other, queue_id + "x")):
        await system_pool.execute(
            "INSERT INTO tenants (id, name) VALUES ($1::text, $1::text)", tenant
        )
        await system_pool.execute(
            "INSERT INTO queues (id, tenant_id, name, config)"
            " VALUES ($1::text, $2, $1::text, $3::jsonb)",
            queue,
            tenant,
            QUEUE_CONFIG % tenant,
        )
    return tenant_id, other


async def test_app_sees_only_its_tenant(
    app_pool: asyncpg.Pool, two_tenants: tuple[str, str]
) -> None:
    """Another tenant's queues and tenant row are invisible to vq_app."""
    mine, other = two_tenants
    async with tenant_transaction(app_pool, mine) as connection:
        tenants = await connection.fetch("SELECT id FROM tenants")
        queues = await connection.fetch(
            "SELECT tenant_id FROM queues WHERE tenant_id = ANY($1::text[])",
            [mine, other],
        )
    assert [row["id"] for row in tenants] == [mine]
    assert {row["tenant_id"] for row in queues} == {mine}


async def test_app_without_tenant_sees_nothing(
    app_pool: asyncpg.Pool, two_tenants: tuple[str, str]
) -> None:
    """With app.tenant_id unset, vq_app reads no row at all."""
    assert await app_pool.fetchval("SELECT count(*) FROM queues") == 0


async def test_app_cannot_write_another_tenant(
    app_pool: asyncpg.Pool, two_tenants: tuple[str, str], queue_id: str
) -> None:
    """Inserting a row of another tenant is refused by the policy."""
    mine, other = two_tenants
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        async with tenant_transaction(app_pool, mine) as connection:
            await connection.execute(
                "INSERT INTO queues (id, tenant_id, name, config)"
                " VALUES ($1::text, $2, $1::text, $3::jsonb)",
                queue_id + "y",
                other,
                QUEUE_CONFIG % other,
            )


async def test_app_cannot_change_another_tenant(
    app_pool: asyncpg.Pool, two_tenants: tuple[str, str], queue_id: str
) -> None:
    """Updates and deletes of another tenant's rows touch nothing."""
    mine, _ = two_tenants
    async with tenant_transaction(app_pool, mine) as connection:
        updated = await connection.execute(
            "UPDATE queues SET name = 'taken' WHERE id = $1", queue_id + "x"
        )
        deleted = await connection.execute(
            "DELETE FROM queues WHERE id = $1", queue_id + "x"
        )
    assert (updated, deleted) == ("UPDATE 0", "DELETE 0")


async def test_app_cannot_write_events(
    app_pool: asyncpg.Pool, two_tenants: tuple[str, str]
) -> None:
    """Events are written by the flusher alone: vq_app may only read."""
    mine, _ = two_tenants
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        async with tenant_transaction(app_pool, mine) as connection:
            await connection.execute(
                "INSERT INTO queue_events (tenant_id, queue_id, entry_id,"
                " entry_at, type, at, fields)"
                " VALUES ($1, 'q', '1-0', now(), 'left', now(), '{}')",
                mine,
            )


async def test_system_sees_every_tenant(
    system_pool: asyncpg.Pool, two_tenants: tuple[str, str]
) -> None:
    """vq_system reads all tenants' rows through its own policy."""
    rows = await system_pool.fetch(
        "SELECT id FROM tenants WHERE id = ANY($1::text[])", list(two_tenants)
    )
    assert {row["id"] for row in rows} == set(two_tenants)


async def test_session_row_cannot_name_another_tenants_queue(
    system_pool: asyncpg.Pool, two_tenants: tuple[str, str], queue_id: str
) -> None:
    """Even vq_system cannot file a session of one tenant under a queue
    of another: queue and tenant are checked as one pair."""
    mine, other = two_tenants
    insert = """
        INSERT INTO user_sessions (tenant_id, queue_id, user_identifier,
            status, ticket, enqueued_at, last_entry_id)
        VALUES ($1, $2, 's1', 'waiting', 'A-1', now(), '1-0')
    """
    async with system_pool.acquire() as connection:
        with pytest.raises(asyncpg.ForeignKeyViolationError):
            await connection.execute(insert, other, queue_id)
        written = connection.transaction()
        await written.start()
        await connection.execute(insert, mine, queue_id)
        await written.rollback()  # no live row left for other tests


async def test_service_roles_cannot_bypass_rls(app_pool: asyncpg.Pool) -> None:
    """Neither service role is a superuser or has BYPASSRLS."""
    rows = await app_pool.fetch(
        "SELECT rolsuper, rolbypassrls FROM pg_roles"
        " WHERE rolname IN ('vq_app', 'vq_system')"
    )
    assert len(rows) == 2
    assert not any(row["rolsuper"] or row["rolbypassrls"] for row in rows)


async def test_pool_refuses_a_superuser(migrated_url: str) -> None:
    """A pool asked to log in as a superuser refuses to start."""
    connection = await asyncpg.connect(migrated_url)
    try:
        user = await connection.fetchval("SELECT current_user")
        is_super = await connection.fetchval(
            "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
        )
    finally:
        await connection.close()
    if not is_super:
        pytest.skip("the test server's user is not a superuser")
    with pytest.raises(UnsafeRole):
        await open_pool(migrated_url, user)
