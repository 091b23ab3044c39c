"""Kiosk tickets with a QR code, and the display board feed."""

from __future__ import annotations

import httpx

from core.engine import QueueEngine
from tests.edge.conftest import MakeQueue
from tests.edge.test_ws import receive_until, send, socket


async def test_a_kiosk_ticket_has_a_number_and_a_qr_code(
    http: httpx.AsyncClient, make_queue: MakeQueue
) -> None:
    """The ticket comes with a follow URL (token in the fragment) and an
    SVG QR code; the URL's page opens."""
    queue_id = await make_queue(mode="service", ticket_prefix="B")

    answer = await http.post(f"/v1/queues/{queue_id}/tickets")
    ticket = answer.json()
    page = await http.get(ticket["follow_url"].split("#")[0])

    assert answer.status_code == 201
    assert ticket["ticket"] == "B-001"
    assert "#" in ticket["follow_url"]
    assert ticket["qr_svg"].startswith("<svg")
    assert page.status_code == 200
    assert ticket["session_id"] in page.text


async def test_the_display_board_shows_called_tickets(
    edge_url: str, http: httpx.AsyncClient, make_queue: MakeQueue, engine: QueueEngine
) -> None:
    """A board lists recent calls at once, then each new call live."""
    queue_id = await make_queue(mode="service")
    for _ in range(2):
        await http.post(f"/v1/queues/{queue_id}/tickets")
    await engine.call_next(queue_id, "Counter 1")

    async with socket(edge_url) as ws:
        await send(ws, type="display", tenantId="shop", queueId=queue_id)
        board = await receive_until(ws, "board")
        await engine.call_next(queue_id, "Counter 2")
        called = await receive_until(ws, "called")

    assert [c["ticket"] for c in board["recent"]] == ["A-001"]
    assert board["recent"][0]["counter"] == "Counter 1"
    assert called == {
        "type": "called",
        "queueId": queue_id,
        "ticket": "A-002",
        "counter": "Counter 2",
    }
