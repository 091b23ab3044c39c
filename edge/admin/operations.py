"""The route table of the admin API: each Operation names its method,
path, permission, and request and answer types. The Starlette routes and
the OpenAPI document are both made from this table.

Every request goes through the same steps: rate limit (per client IP),
credentials, tenant and role checks, query and body decoding; only then
does the handler run, with everything typed in a Call.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from edge.admin import permissions
from edge.admin.context import Admin, admin_of
from edge.admin.permissions import Action
from edge.admin.tokens import BadToken, Principal, Role, same_digest, split_api_key
from edge.bodies import read_json, refuse_nul
from edge.errors import ApiError
from edge.responses import json_answer, no_content
from persistence import api_keys

logger = logging.getLogger(__name__)

T = TypeVar("T")
Handler = Callable[["Call"], Awaitable[Any]]


@dataclass(frozen=True)
class Operation:
    """One endpoint of the admin API."""

    method: str
    path: str
    handler: Handler
    summary: str
    action: Action | None  # None: no credentials needed (sign-in)
    body: type | None = None
    query: type | None = None
    answer: type | None = None  # None: 204 No Content
    status: int = 200
    tag: str = "admin"
    headers: tuple[str, ...] = ()  # request headers it reads (If-Match)

    @property
    def name(self) -> str:
        return self.handler.__name__


@dataclass(frozen=True)
class Call:
    """A request that passed every check, with its decoded parts."""

    request: Request
    admin: Admin
    principal: Principal | None
    body: Any
    query: Any

    @property
    def who(self) -> Principal:
        assert self.principal is not None
        return self.principal

    def param(self, name: str) -> str:
        return str(self.request.path_params[name])

    @property
    def tenant_id(self) -> str:
        return self.param("tenantId")

    @property
    def actor(self) -> str:
        return self.who.subject


def routes(operations: Sequence[Operation]) -> list[Route]:
    """Starlette routes of the operations, one route per path."""
    by_path: dict[str, dict[str, Operation]] = {}
    for operation in operations:
        by_path.setdefault(operation.path, {})[operation.method] = operation
    return [
        Route(path, _dispatch(ops), methods=list(ops)) for path, ops in by_path.items()
    ]


def _dispatch(
    operations: dict[str, Operation],
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        operation = operations.get(request.method)
        if operation is None:  # HEAD of a GET
            operation = operations["GET"]
        return await run(operation, request)

    return endpoint


async def run(operation: Operation, request: Request) -> Response:
    """Runs one operation through every check."""
    admin = admin_of(request)
    await admin.limits.check_ip(request, "admin")
    refuse_nul(map(str, request.path_params.values()), "the path")
    refuse_nul(request.query_params.values(), "the query")
    principal = None
    if operation.action is not None:
        principal = await authenticate(admin, request)
        await authorize(admin, principal, operation.action, request)

    query = _query(request, operation.query) if operation.query else None
    body: Any = None
    if operation.body is not None:
        kind: type[Any] = operation.body
        body = await read_json(request, kind)
    call = Call(request, admin, principal, body, query)
    result = await operation.handler(call)
    if isinstance(result, Response):
        return result
    if operation.answer is None:
        return no_content()
    return json_answer(result, operation.status)


async def authenticate(admin: Admin, request: Request) -> Principal:
    """The principal of the bearer access token or API key; 401 without."""
    scheme, _, credential = request.headers.get("authorization", "").partition(" ")
    credential = credential.strip()
    if scheme.lower() != "bearer" or not credential:
        raise _unauthorized("send an access token or API key as Authorization: Bearer")
    key = split_api_key(credential)
    if key is not None:
        return await _api_key(admin, *key)
    try:
        return admin.tokens.check(credential)
    except BadToken as exc:
        raise _unauthorized("the access token is invalid or expired") from exc


async def _api_key(admin: Admin, key_id: str, secret: str) -> Principal:
    found = await api_keys.lookup(admin.system_pool, key_id)
    if found is None or not same_digest(found[1], secret):
        raise _unauthorized("the API key is invalid or revoked")
    record = found[0]
    role: Role = "manager" if record.role == "manager" else "staff"
    return Principal(subject=f"key:{record.id}", role=role, tenant_id=record.tenant_id)


async def authorize(
    admin: Admin, principal: Principal, action: Action, request: Request
) -> None:
    """Tenant first (404 for another's), then the role (403)."""
    tenant_id = request.path_params.get("tenantId")
    if tenant_id is not None:
        permissions.check_tenant(principal, tenant_id)
    elif principal.tenant_id is not None:
        status = await admin.tenant_status(principal.tenant_id)
        if status == "suspended":
            raise _suspended()
    permissions.check_role(principal, action)
    if tenant_id is not None:
        status = await admin.tenant_status(tenant_id)
        if status is None:
            raise permissions.not_found()
        if status == "suspended" and principal.role != "admin":
            raise _suspended()


def _query(request: Request, kind: type[Any]) -> Any:
    values = dict(request.query_params)
    try:
        return msgspec.convert(values, kind, strict=False)
    except msgspec.ValidationError as exc:
        raise ApiError(422, "invalid_input", str(exc)) from exc


def _unauthorized(message: str) -> ApiError:
    return ApiError(
        401, "unauthorized", message, headers={"WWW-Authenticate": "Bearer"}
    )


def _suspended() -> ApiError:
    return ApiError(403, "tenant_suspended", "this tenant is suspended")
