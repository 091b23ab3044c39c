"""Each queue's waiting room follows its tenant's settings.

The waiting room reads a queue's presentation and allowed redirect origins
from its QueueSite (edge/site.py), which lives in Redis. The admin API
writes it from the tenant's name, branding, locale and allowed origins and
the queue's own waiting-room settings (proof of work, page words, stored
with its definition) whenever a queue is created or changed, again for
every live queue of a tenant whose settings change, and, when a worker
starts, for every active queue whose site Redis lost (a queue without a
site refuses every redirect).
"""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
import msgspec

from core.engine import QueueEngine
from edge.admin import schemas
from edge.errors import ApiError
from edge.page_strings import STRINGS
from edge.site import QueueSite, read_site, write_site
from persistence import queues, tenants
from persistence.queues import QueueDefinition
from persistence.tenants import TenantRecord

logger = logging.getLogger(__name__)


def site_of(
    tenant: TenantRecord,
    queue_name: str,
    stored: QueueSite,
    room: schemas.WaitingRoom | None = None,
) -> QueueSite:
    """The site of a queue of ``tenant``, from what is stored for it and,
    when given, the queue's own waiting-room settings."""
    settings = msgspec.convert(tenant.configuration, schemas.TenantSettings)
    branding = settings.branding
    colours = stored.colours
    if branding.primary_color:
        colours = msgspec.structs.replace(colours, accent=branding.primary_color)
    site = msgspec.structs.replace(
        stored,
        tenant_name=branding.display_name or tenant.name,
        title=queue_name,
        colours=colours,
        locale=settings.locale,
        allowed_origins=list(settings.allowed_redirect_origins),
    )
    if room is None:
        return site
    return msgspec.structs.replace(
        site, pow_difficulty=room.pow_difficulty, strings=dict(room.strings)
    )


async def publish_site(
    engine: QueueEngine,
    tenant: TenantRecord,
    queue_id: str,
    queue_name: str,
    room: schemas.WaitingRoom | None = None,
) -> None:
    """Writes the queue's site from its tenant's settings and ``room``
    (without it, the proof of work and words in Redis stay)."""
    stored = await read_site(engine, queue_id)
    await write_site(engine, queue_id, site_of(tenant, queue_name, stored, room))


def stored_room(room: schemas.WaitingRoom) -> dict[str, Any]:
    """The waiting-room settings as a definition keeps them; 422 for a
    page word the waiting page does not have."""
    unknown = sorted(set(room.strings) - set(STRINGS))
    if unknown:
        raise ApiError(
            422,
            "invalid_input",
            f"the waiting page has no words named {', '.join(unknown)}",
            "waitingRoom.strings",
        )
    stored: dict[str, Any] = msgspec.to_builtins(room)
    return stored


def room_of(definition: QueueDefinition) -> schemas.WaitingRoom:
    """A definition's waiting-room settings (the defaults when unset)."""
    try:
        return msgspec.convert(definition.waiting_room, schemas.WaitingRoom)
    except msgspec.ValidationError as exc:
        logger.warning(
            "stored waiting room unreadable queue=%s error=%s", definition.id, exc
        )
        return schemas.WaitingRoom()


async def restore_missing(engine: QueueEngine, pool: asyncpg.Pool) -> int:
    """Writes the site of every active queue that has none in Redis from
    its tenant's settings (vq_system pool); returns how many. Sites still
    there are left as they are: the admin API keeps them current."""
    restored = 0
    async with pool.acquire() as connection:
        known: dict[str, TenantRecord | None] = {}
        for queue in await queues.active(pool):
            if await engine.client.exists(engine.keys(queue.id).site):
                continue
            tenant_id = queue.config.tenant_id
            if tenant_id not in known:
                known[tenant_id] = await tenants.get(connection, tenant_id)
            tenant = known[tenant_id]
            if tenant is not None:
                room = room_of(queue)
                await publish_site(engine, tenant, queue.id, queue.name, room)
                restored += 1
    logger.info("queue sites restored count=%d", restored)
    return restored
