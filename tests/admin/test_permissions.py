"""Every endpoint against every role, and against every other tenant."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from core.engine import QueueEngine
from core.session_token import session_token
from edge.admin import OPERATIONS
from edge.admin.operations import Operation
from edge.admin.permissions import MATRIX, ROLES, Action, allowed
from tests.admin.conftest import Tenant, World, bearer
from tests.edge.conftest import SECRET

GUARDED = [op for op in OPERATIONS if op.action is not None]
DOCS = Path(__file__).parents[2] / "docs" / "permissions.md"


def path_of(operation: Operation, tenant: Tenant, ids: dict[str, str]) -> str:
    values = {
        "tenantId": tenant.id,
        "queueId": tenant.queues[0],
        "userId": str(tenant.staff_id),
        "keyId": "0" * 16,
        **ids,
    }
    return re.sub(r"{(\w+)}", lambda m: values[m.group(1)], operation.path)


async def send(
    http: httpx.AsyncClient, op: Operation, path: str, headers: dict[str, str]
) -> httpx.Response:
    body: dict[str, str] | None = {} if op.body is not None else None
    return await http.request(op.method, path, json=body, headers=headers)


@pytest.mark.parametrize("role", ["admin", "manager", "staff", "key"])
async def test_every_endpoint_answers_each_role_as_the_matrix_says(
    http: httpx.AsyncClient, world: World, engine: QueueEngine, role: str
) -> None:
    """A role the matrix allows is never refused (401/403) nor failed (5xx);
    a role it does not allow gets 403. API keys carry their role."""
    joined = await engine.join(world.a.queues[0])
    ids = {"sessionId": joined.session.session_id}
    matrix_role = "manager" if role == "key" else role
    for op in GUARDED:
        if role == "key" and op.action is Action.SELF and op.method == "POST":
            continue  # second factors are for people: pinned in test_auth
        answer = await send(http, op, path_of(op, world.a, ids), world.headers(role))
        where = f"{op.method} {op.path} as {role}: {answer.text}"
        if allowed(matrix_role, op.action):  # type: ignore[arg-type]
            assert answer.status_code not in (401, 403), where
            assert answer.status_code < 500, where
        else:
            assert answer.status_code == 403, where
            assert answer.json()["error"]["code"] == "forbidden"


async def test_customers_and_strangers_open_nothing(
    http: httpx.AsyncClient, world: World, engine: QueueEngine
) -> None:
    """A visitor's session token, a forged token and no token all get 401."""
    joined = await engine.join(world.a.queues[0])
    sid = joined.session.session_id
    customer = bearer(session_token(SECRET, world.a.queues[0], sid))
    forged = bearer("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl")
    for op in GUARDED:
        for headers in (customer, forged, {}):
            answer = await send(
                http, op, path_of(op, world.a, {"sessionId": sid}), headers
            )
            assert answer.status_code == 401, f"{op.method} {op.path}: {answer.text}"


@pytest.mark.parametrize("role", ["manager", "staff", "key"])
async def test_another_tenants_ids_are_not_found(
    http: httpx.AsyncClient, world: World, engine: QueueEngine, role: str
) -> None:
    """A user of tenant A naming tenant B, or B's queue, session or user
    under A, gets 404 on every endpoint: never a hint that it exists."""
    joined = await engine.join(world.b.queues[0])
    b_ids = {"sessionId": joined.session.session_id}
    headers = world.headers(role)
    for op in GUARDED:
        if "{tenantId}" not in op.path:
            continue
        answer = await send(http, op, path_of(op, world.b, b_ids), headers)
        assert answer.status_code == 404, f"{op.method} {op.path}: {answer.text}"

        mixed = {"queueId": world.b.queues[0], "userId": str(world.b.staff_id)}
        if not ({"{queueId}", "{userId}"} & set(re.findall(r"{\w+}", op.path))):
            continue
        role_of = "manager" if role == "key" else role
        if not allowed(role_of, op.action):  # type: ignore[arg-type]
            continue
        answer = await send(http, op, path_of(op, world.a, {**b_ids, **mixed}), headers)
        assert answer.status_code in (404, 422), f"{op.method} {op.path}: {answer.text}"
        assert answer.status_code == 404 or op.body is not None


def test_the_documented_matrix_is_the_enforced_one() -> None:
    """docs/permissions.md lists exactly the roles MATRIX allows."""
    rows = {}
    for line in DOCS.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == len(ROLES) + 3 and cells[0].startswith("`"):
            rows[cells[0].strip("`")] = {
                role
                for role, cell in zip(ROLES, cells[1:], strict=False)
                if cell == "yes"
            }
    assert rows == {str(a): set(roles) for a, roles in MATRIX.items()}
