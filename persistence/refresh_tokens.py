"""Refresh tokens: stored as SHA-256 digests in families (vq_system pool).

Signing in starts a family; each refresh spends its token and adds the
next one to the same family. Spending is one conditional UPDATE, so two
concurrent refreshes with one token cannot both succeed. A spent or
revoked token shown again revokes its whole family: a thief and the owner
both lose the session, and the owner signs in again.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

import asyncpg

INSERT = """
INSERT INTO refresh_tokens (user_id, family, token_hash, expires_at)
VALUES ($1, $2, $3, now() + $4::interval)
"""
SPEND = """
UPDATE refresh_tokens SET used_at = now()
WHERE token_hash = $1 AND used_at IS NULL AND revoked_at IS NULL
    AND expires_at > now()
RETURNING user_id, family
"""
FIND = "SELECT family FROM refresh_tokens WHERE token_hash = $1"
REVOKE_FAMILY = """
UPDATE refresh_tokens SET revoked_at = coalesce(revoked_at, now())
WHERE family = $1
"""
REVOKE_USER = """
UPDATE refresh_tokens SET revoked_at = coalesce(revoked_at, now())
WHERE user_id = $1 AND revoked_at IS NULL
"""


@dataclass(frozen=True)
class Spent:
    """A refresh token that was live and is now spent."""

    user_id: int
    family: uuid.UUID


async def store(
    pool: asyncpg.Pool,
    user_id: int,
    family: uuid.UUID,
    token_hash: bytes,
    ttl: timedelta,
) -> None:
    await pool.execute(INSERT, user_id, family, token_hash, ttl)


async def spend(pool: asyncpg.Pool, token_hash: bytes) -> Spent | None:
    """Spends a live token. A token that exists but is spent, revoked or
    expired revokes its family; both answer None."""
    async with pool.acquire() as connection, connection.transaction():
        row = await connection.fetchrow(SPEND, token_hash)
        if row is not None:
            return Spent(user_id=row["user_id"], family=row["family"])
        family = await connection.fetchval(FIND, token_hash)
        if family is not None:
            await connection.execute(REVOKE_FAMILY, family)
    return None


async def revoke(pool: asyncpg.Pool, token_hash: bytes) -> bool:
    """Revokes the family of a token (sign-out); False for an unknown one."""
    async with pool.acquire() as connection, connection.transaction():
        family = await connection.fetchval(FIND, token_hash)
        if family is None:
            return False
        await connection.execute(REVOKE_FAMILY, family)
    return True


async def revoke_user(pool: asyncpg.Pool, user_id: int) -> None:
    """Ends every session of a user (disabled, password changed)."""
    await pool.execute(REVOKE_USER, user_id)
