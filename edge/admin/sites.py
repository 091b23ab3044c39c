"""Each queue's waiting room follows its tenant's settings.

The waiting room reads a queue's presentation and allowed redirect origins
from its QueueSite (edge/site.py). The admin API writes it from the
tenant's name, branding, locale and allowed origins whenever a queue is
created or changed, and again for every live queue of a tenant whose
settings change. Strings and the proof-of-work difficulty already stored
for the queue are kept.
"""

from __future__ import annotations

import msgspec

from core.engine import QueueEngine
from edge.admin import schemas
from edge.site import QueueSite, read_site, write_site
from persistence.tenants import TenantRecord


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
