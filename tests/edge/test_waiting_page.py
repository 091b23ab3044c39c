"""The waiting page: small, accessible, in the tenant's look and words,
never a way out to another site."""

from __future__ import annotations

import re

import httpx

from edge.site import Colours, QueueSite
from tests.edge.conftest import SITE_ORIGIN, MakeQueue


async def test_the_page_is_small_and_in_the_tenants_look(
    http: httpx.AsyncClient, make_queue: MakeQueue
) -> None:
    """Under 30 KB, with the tenant's name, colours, locale and words."""
    site = QueueSite(
        tenant_name="Boulangerie",
        colours=Colours(background="#faf0e6", text="#111111", accent="#7a1f1f"),
        locale="fr",
        strings={"heading": "Vous êtes dans la file"},
        allowed_origins=[SITE_ORIGIN],
    )
    queue_id = await make_queue(site=site)

    page = await http.get(f"/w/{queue_id}", params={"target": SITE_ORIGIN + "/"})

    assert page.status_code == 200
    assert len(page.content) < 30 * 1024
    assert '<html lang="fr">' in page.text
    assert "Boulangerie" in page.text
    assert "--accent: #7a1f1f" in page.text
    assert "Vous êtes dans la file" in page.text
    assert 'role="status"' in page.text and 'aria-live="polite"' in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


async def test_tenant_text_cannot_inject_markup(
    http: httpx.AsyncClient, make_queue: MakeQueue
) -> None:
    """Names and strings are escaped, in HTML and in the script block."""
    evil = "</script><script>alert(1)</script>"
    site = QueueSite(
        tenant_name=evil, strings={"waiting": evil}, allowed_origins=[SITE_ORIGIN]
    )
    queue_id = await make_queue(site=site)

    page = await http.get(f"/w/{queue_id}")

    assert evil not in page.text
    assert len(re.findall(r"</script>", page.text)) == 2  # the page's own


async def test_unknown_queues_and_bad_targets_get_no_page(
    http: httpx.AsyncClient, make_queue: MakeQueue
) -> None:
    """404 for no such queue, 400 for a target outside its origins."""
    queue_id = await make_queue()

    missing = await http.get("/w/no-such-queue")
    bad_id = await http.get("/w/bad%20id")
    evil = await http.get(f"/w/{queue_id}", params={"target": "https://evil.com/"})

    assert missing.status_code == 404
    assert bad_id.status_code == 404
    assert evil.status_code == 400
