"""Migrations on a fresh database, applied once however often they run."""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest_asyncio

from persistence.migrate import apply_migrations, migrate

TABLES = {"tenants", "queues", "user_sessions", "queue_events", "users", "audit_log"}


@pytest_asyncio.fixture
async def fresh_url(database_url: str) -> AsyncIterator[str]:
    """A database of this test alone, with nothing in it."""
    name = f"vq_mig_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(database_url)
    try:
        await admin.execute(f"CREATE DATABASE {name}")
        yield urlunsplit(urlsplit(database_url)._replace(path=f"/{name}"))
        await admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
    finally:
        await admin.close()


async def test_migrations_make_every_table(fresh_url: str) -> None:
    """A fresh database gets every table, forced RLS on each."""
    applied = await migrate(fresh_url)
    connection = await asyncpg.connect(fresh_url)
    try:
        rows = await connection.fetch(
            "SELECT relname, relforcerowsecurity FROM pg_class"
            " WHERE relname = ANY($1::text[])",
            list(TABLES),
        )
    finally:
        await connection.close()
    assert applied[0] == "0001.roles"
    assert {row["relname"] for row in rows} == TABLES
    assert all(row["relforcerowsecurity"] for row in rows)


async def test_migrations_apply_once(fresh_url: str) -> None:
    """A second run applies nothing and fails on nothing."""
    first = apply_migrations(fresh_url)
    again = apply_migrations(fresh_url)
    assert first and again == []


async def test_event_partitions_are_made_ahead(fresh_url: str) -> None:
    """Migrating makes this month's partition and the default one."""
    apply_migrations(fresh_url)
    connection = await asyncpg.connect(fresh_url)
    try:
        names = await connection.fetch(
            "SELECT c.relname FROM pg_inherits i"
            " JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = 'queue_events'::regclass"
        )
        month = await connection.fetchval(
            "SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY_MM')"
        )
    finally:
        await connection.close()
    found = {row["relname"] for row in names}
    assert {"queue_events_default", f"queue_events_{month}"} <= found


async def test_vq_migrate_applies_them(fresh_url: str) -> None:
    """`vq migrate` migrates the database VQ_DATABASE_URL names."""
    env = {**os.environ, "VQ_DATABASE_URL": fresh_url}
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "deploy.cli", "migrate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert apply_migrations(fresh_url) == []
