"""Each queue's waiting room follows its tenant's settings.

The waiting room reads a queue's presentation and allowed redirect origins
from its QueueSite (edge/site.py). The admin API writes it from the
tenant's name, branding, locale and allowed origins whenever a queue is
created or changed, again for every live queue of a tenant whose
settings change, and, when a worker starts, for every active queue whose
site Redis lost (a queue without a site refuses every redirect).
Strings and the proof-of-work difficulty already stored for the queue are
kept; they live in Redis alone.
"""

from __future__ import annotations

import logging

import asyncpg
import msgspec

from core.engine import QueueEngine
from edge.admin import schemas
from edge.site import QueueSite, read_site, write_site
from persistence import queues, tenants
from persistence.tenants import TenantRecord

logger = logging.getLogger(__name__)


def site_of(tenant: TenantRecord, queue_name: str, stored: QueueSite) -> QueueSite:
    """The site of a queue of ``tenant``, from what is stored for it."""
    settings = msgspec.convert(tenant.configuration, schemas.TenantSettings)
    branding = settings.branding
    colours = stored.colours
    if branding.primary_color:
        colours = msgspec.structs.replace(colours, accent=branding.primary_color)
    return msgspec.structs.replace(
        stored,
        tenant_name=branding.display_name or tenant.name,
        title=queue_name,
        colours=colours,
        locale=settings.locale,
        allowed_origins=list(settings.allowed_redirect_origins),
    )


async def publish_site(
    engine: QueueEngine, tenant: TenantRecord, queue_id: str, queue_name: str
) -> None:
    """Writes the queue's site from its tenant's settings."""
    stored = await read_site(engine, queue_id)
    await write_site(engine, queue_id, site_of(tenant, queue_name, stored))


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
                await publish_site(engine, tenant, queue.id, queue.name)
                restored += 1
    logger.info("queue sites restored count=%d", restored)
    return restored
