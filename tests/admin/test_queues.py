"""Queues through the admin API: definitions, ETags, live changes, the
audit log and the tenant's limits."""

from __future__ import annotations

import asyncpg
import httpx

from core.engine import QueueEngine
from edge.site import QueueSite, read_site, write_site
from tests.admin.conftest import World, ok
from workers.worker import bring_up_to_date


async def test_waiting_users_come_live_from_the_engine(
    http: httpx.AsyncClient, world: World, engine: QueueEngine
) -> None:
    """The listing counts the visitors waiting in Redis right now."""
    for _ in range(3):
        await engine.join(world.a.queues[1])
    answer = ok(
        await http.get(
            f"/v1/tenants/{world.a.id}/queues", headers=world.headers("staff")
        )
    )
    counts = {q["id"]: q["waitingUsers"] for q in answer["queues"]}
    assert counts == {world.a.queues[0]: 0, world.a.queues[1]: 3}


async def test_updates_need_the_current_etag_and_are_audited(
    http: httpx.AsyncClient, world: World, engine: QueueEngine
) -> None:
    """PATCH without If-Match is 428, with a stale tag 412, with the
    current one applied to Redis and recorded with before and after."""
    headers = world.headers("manager")
    path = f"/v1/tenants/{world.a.id}/queues/{world.a.queues[0]}"
    etag = (await http.get(path, headers=headers)).headers["etag"]
    change = {
        "name": "Front desk",
        "settings": {"mode": "service", "serviceTimeS": 120},
    }

    assert (await http.patch(path, json=change, headers=headers)).status_code == 428
    stale = {**headers, "If-Match": '"0"'}
    assert (await http.patch(path, json=change, headers=stale)).status_code == 412
    fresh = {**headers, "If-Match": etag}
    answer = await http.patch(path, json=change, headers=fresh)
    assert ok(answer)["name"] == "Front desk"
    assert answer.headers["etag"] != etag
    assert (await engine.get_config(world.a.queues[0])).service_time_s == 120

    log = ok(
        await http.get(
            f"/v1/tenants/{world.a.id}/audit",
            params={"action": "queue.update"},
            headers=headers,
        )
    )
    entry = log["entries"][0]
    assert entry["actor"] == f"user:{world.a.manager_id}"
    assert (entry["before"]["name"], entry["after"]["name"]) == ("Desk", "Front desk")


async def test_live_changes_reach_the_engine_and_the_definition(
    http: httpx.AsyncClient, world: World, engine: QueueEngine
) -> None:
    """Pause and a new capacity change the running queue and stay in the
    stored definition; resume opens it again."""
    headers = world.headers("manager")
    path = f"/v1/tenants/{world.a.id}/queues/{world.a.queues[0]}"
    ok(await http.post(path + "/pause", headers=headers))
    ok(await http.patch(path + "/live", json={"maxWaiting": 7}, headers=headers))
    config = await engine.get_config(world.a.queues[0])
    assert (config.state, config.max_waiting) == ("paused", 7)
    stored = ok(await http.get(path, headers=headers))
    assert (stored["status"], stored["settings"]["maxWaiting"]) == ("paused", 7)

    ok(await http.post(path + "/resume", headers=headers))
    assert (await engine.get_config(world.a.queues[0])).state == "open"


async def test_archiving_closes_the_queue_and_hides_it(
    http: httpx.AsyncClient, world: World, engine: QueueEngine
) -> None:
    """DELETE archives: the engine closes the queue and the default
    listing leaves it out."""
    headers = world.headers("manager")
    base = f"/v1/tenants/{world.a.id}/queues"
    ok(await http.delete(f"{base}/{world.a.queues[1]}", headers=headers), 204)
    assert (await engine.get_config(world.a.queues[1])).state == "closed"
    listed = ok(await http.get(base, headers=headers))["queues"]
    assert [q["id"] for q in listed] == world.a.queues[:1]


async def test_tenant_limits_bound_queues_and_waiting(
    http: httpx.AsyncClient, world: World
) -> None:
    """With a limit of 2 queues a third is refused; the waiting limit per
    queue caps each queue's max waiting."""
    admin = world.headers("admin")
    limits = {"settings": {"limits": {"queues": 2, "waitingPerQueue": 50}}}
    ok(await http.patch(f"/v1/tenants/{world.a.id}", json=limits, headers=admin))
    body = {"name": "Extra", "settings": {"mode": "service"}}
    base = f"/v1/tenants/{world.a.id}/queues"
    refused = await http.post(base, json=body, headers=admin)
    assert refused.json()["error"]["code"] == "queue_limit"

    ok(await http.delete(f"{base}/{world.a.queues[1]}", headers=admin), 204)
    made = ok(await http.post(base, json=body, headers=admin), 201)
    assert made["settings"]["maxWaiting"] == 50


async def test_bad_queue_input_is_answered_4xx(
    http: httpx.AsyncClient, world: World
) -> None:
    """Malformed JSON, unknown fields and broken settings get JSON 4xx."""
    headers = world.headers("manager")
    base = f"/v1/tenants/{world.a.id}/queues"
    for content in (b"{", b'{"name": "x", "settings": {"mode": "x"}}', b'{"zz": 1}'):
        answer = await http.post(base, content=content, headers=headers)
        assert answer.status_code in (400, 422), answer.text
        assert "error" in answer.json()
    times = {
        "mode": "service",
        "openAt": "2030-01-02T00:00:00Z",
        "closeAt": "2030-01-01T00:00:00Z",
    }
    answer = await http.post(
        base, json={"name": "x", "settings": times}, headers=headers
    )
    assert answer.status_code == 422


async def test_nul_characters_are_refused_4xx(
    http: httpx.AsyncClient, world: World
) -> None:
    """A NUL in a body, path or query (PostgreSQL cannot store it) is a 422."""
    admin = world.headers("admin")
    tenant = f"/v1/tenants/{world.a.id}"
    refused = [
        await http.patch(tenant, content=b'{"name": "a\\u0000b"}', headers=admin),
        await http.patch(tenant, content=b'{"name": "\\\\\\u0000"}', headers=admin),
        await http.get("/v1/tenants/a%00b", headers=admin),
        await http.get(f"{tenant}/audit?actor=a%00b", headers=admin),
    ]
    for answer in refused:
        assert answer.status_code == 422, answer.text
        assert answer.json()["error"]["code"] == "invalid_input"

    escaped = await http.patch(tenant, json={"name": "a\\u0000b"}, headers=admin)
    assert ok(escaped)["name"] == "a\\u0000b"


async def test_waiting_rooms_follow_the_tenant_settings(
    http: httpx.AsyncClient, world: World, engine: QueueEngine
) -> None:
    """A queue's waiting room takes its tenant's name, colour and allowed
    origins at creation, and again when the tenant's settings change."""
    admin, tenant = world.headers("admin"), world.a.id
    settings = {
        "branding": {"displayName": "Bank of Tests", "primaryColor": "#123456"},
        "allowedRedirectOrigins": ["https://bank.example"],
    }
    ok(
        await http.patch(
            f"/v1/tenants/{tenant}", json={"settings": settings}, headers=admin
        )
    )
    created = ok(
        await http.post(
            f"/v1/tenants/{tenant}/queues",
            json={"name": "Loans", "settings": {"mode": "service"}},
            headers=admin,
        ),
        201,
    )
    site = await read_site(engine, created["id"])
    assert (site.tenant_name, site.title) == ("Bank of Tests", "Loans")
    assert site.colours.accent == "#123456"
    assert site.allowed_origins == ["https://bank.example"]

    settings["allowedRedirectOrigins"] = ["https://new.example"]
    ok(
        await http.patch(
            f"/v1/tenants/{tenant}", json={"settings": settings}, headers=admin
        )
    )
    for queue_id in (created["id"], *world.a.queues):
        site = await read_site(engine, queue_id)
        assert site.allowed_origins == ["https://new.example"]


async def test_a_queues_waiting_room_settings_reach_its_site(
    http: httpx.AsyncClient, world: World, engine: QueueEngine
) -> None:
    """Proof of work and page words set on a queue are kept with it, shown
    back, written to its site, kept by other changes and replaced by new
    ones."""
    headers = world.headers("manager")
    room = {"powDifficulty": 8, "strings": {"heading": "Hang on"}}
    made = await http.post(
        f"/v1/tenants/{world.a.id}/queues",
        json={
            "name": "Drop",
            "settings": {"mode": "waiting_room"},
            "waitingRoom": room,
        },
        headers=headers,
    )
    queue_id = ok(made, 201)["id"]
    assert ok(made, 201)["waitingRoom"] == room
    site = await read_site(engine, queue_id)
    assert (site.pow_difficulty, site.strings) == (8, {"heading": "Hang on"})

    path = f"/v1/tenants/{world.a.id}/queues/{queue_id}"
    renamed = await http.patch(
        path,
        json={"name": "Drop 2"},
        headers={**headers, "If-Match": made.headers["etag"]},
    )
    assert ok(renamed)["waitingRoom"] == room
    assert (await read_site(engine, queue_id)).pow_difficulty == 8

    cleared = await http.patch(
        path,
        json={"waitingRoom": {"powDifficulty": 0}},
        headers={**headers, "If-Match": renamed.headers["etag"]},
    )
    assert ok(cleared)["waitingRoom"] == {"powDifficulty": 0, "strings": {}}
    site = await read_site(engine, queue_id)
    assert (site.pow_difficulty, site.strings, site.title) == (0, {}, "Drop 2")


async def test_waiting_room_settings_out_of_range_are_refused(
    http: httpx.AsyncClient, world: World
) -> None:
    """Words the page does not have and work past 24 bits are a 422, and
    no queue is made."""
    headers = world.headers("manager")
    path = f"/v1/tenants/{world.a.id}/queues"
    before = ok(await http.get(path, headers=headers))["queues"]
    refused = [
        await http.post(
            path,
            json={"name": "X", "settings": {"mode": "service"}, "waitingRoom": room},
            headers=headers,
        )
        for room in ({"strings": {"headline": "Hi"}}, {"powDifficulty": 25})
    ]
    for answer in refused:
        assert answer.status_code == 422, answer.text
        assert answer.json()["error"]["code"] == "invalid_input"
    assert "headline" in refused[0].json()["error"]["message"]
    assert ok(await http.get(path, headers=headers))["queues"] == before


async def test_a_worker_start_writes_the_sites_redis_lost(
    http: httpx.AsyncClient,
    world: World,
    engine: QueueEngine,
    system_pool: asyncpg.Pool,
) -> None:
    """Sites live in Redis; after Redis lost one, a worker's start-up
    writes it again from the tenant's and the queue's settings, and leaves
    the others."""
    admin, tenant = world.headers("admin"), world.b.id
    settings = {"allowedRedirectOrigins": ["https://shop.example"]}
    updated = ok(
        await http.patch(
            f"/v1/tenants/{tenant}", json={"settings": settings}, headers=admin
        )
    )
    lost, kept = world.b.queues
    path = f"/v1/tenants/{tenant}/queues/{lost}"
    etag = (await http.get(path, headers=admin)).headers["etag"]
    room = {"waitingRoom": {"powDifficulty": 6}}
    ok(await http.patch(path, json=room, headers={**admin, "If-Match": etag}))
    await engine.client.delete(engine.keys(lost).site)
    own = QueueSite(title="Kept as it is", allowed_origins=["https://own.example"])
    await write_site(engine, kept, own)
    assert (await read_site(engine, lost)).allowed_origins == []

    await bring_up_to_date(engine, system_pool)

    site = await read_site(engine, lost)
    assert site.allowed_origins == ["https://shop.example"]
    assert (site.tenant_name, site.pow_difficulty) == (updated["name"], 6)
    assert await read_site(engine, kept) == own
