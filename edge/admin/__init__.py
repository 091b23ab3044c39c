"""The admin JSON API: tenants, sign-in and roles, queues, sessions and
staff actions, users, API keys, the audit log, and its OpenAPI document.

``ROUTES`` is mounted by edge/app.py; ``open_admin`` and ``close_admin``
run in the edge's lifespan (the API answers 503 without a database).
"""

from __future__ import annotations

from edge.admin import api_keys, audit, auth, queues, sessions, tenants, users
from edge.admin.context import close_admin, open_admin
from edge.admin.openapi import routes as openapi_routes
from edge.admin.operations import Operation, routes

OPERATIONS: list[Operation] = [
    *auth.OPERATIONS,
    *tenants.OPERATIONS,
    *queues.OPERATIONS,
    *sessions.OPERATIONS,
    *users.OPERATIONS,
    *api_keys.OPERATIONS,
    *audit.OPERATIONS,
]
ROUTES = [*routes(OPERATIONS), *openapi_routes(OPERATIONS)]

__all__ = ["OPERATIONS", "ROUTES", "close_admin", "open_admin"]
