"""The OpenAPI 3.1 document of the admin API, made from the route table
and the msgspec types (never written by hand), and a plain HTML page that
lists its operations and schemas for people."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from edge.admin.operations import Operation
from edge.admin.permissions import MATRIX, ROLES
from edge.errors import ErrorAnswer

TITLE = "Virtual queue admin API"
VERSION = "1.0.0"
_REF = "#/components/schemas/{name}"
_PARAM = re.compile(r"{(\w+)}")
_PATH_SCHEMAS: dict[str, dict[str, Any]] = {
    "tenantId": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"},
    "queueId": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"},
    "sessionId": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"},
    "userId": {"type": "string", "pattern": "^[0-9]{1,18}$"},
    "keyId": {"type": "string", "pattern": "^[0-9a-f]{16}$"},
}
_ERRORS = {
    "400": "malformed JSON",
    "401": "missing or invalid credentials",
    "403": "the role may not do this",
    "404": "not found, or another tenant's",
    "409": "conflicts with the current state",
    "422": "invalid input",
    "429": "rate limited (see Retry-After)",
}


def document(operations: Sequence[Operation]) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``operations``."""
    types = _types(operations)
    _, components = msgspec.json.schema_components(types, ref_template=_REF)
    paths: dict[str, dict[str, Any]] = {}
    for operation in operations:
        item = paths.setdefault(operation.path, {})
        item[operation.method.lower()] = _operation(operation, components)
    return {
        "openapi": "3.1.0",
        "info": {"title": TITLE, "version": VERSION, "description": _matrix_text()},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "an access token (JWT) or an API key",
                }
            },
        },
        "security": [{"bearer": []}],
    }


def _types(operations: Sequence[Operation]) -> list[Any]:
    found: list[Any] = [ErrorAnswer]
    for operation in operations:
        for kind in (operation.body, operation.query, operation.answer):
            if kind is not None and kind not in found:
                found.append(kind)
    return found


def _operation(operation: Operation, components: dict[str, Any]) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": "success"}
    if operation.answer is not None:
        answer["content"] = _json(_ref(operation.answer))
    responses = {str(operation.status if operation.answer else 204): answer}
    for status, text in _ERRORS.items():
        responses[status] = {"description": text, "content": _json(_ref(ErrorAnswer))}
    spec: dict[str, Any] = {
        "operationId": operation.name,
        "summary": operation.summary,
        "tags": [operation.tag],
        "parameters": _parameters(operation, components),
        "responses": responses,
    }
    if operation.action is None:
        spec["security"] = []
    else:
        spec["description"] = f"Permission `{operation.action}`: " + ", ".join(
            role for role in ROLES if role in MATRIX[operation.action]
        )
    if operation.body is not None:
        spec["requestBody"] = {"required": True, "content": _json(_ref(operation.body))}
    return spec


def _parameters(operation: Operation, components: dict[str, Any]) -> list[Any]:
    found: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": _PATH_SCHEMAS[name]}
        for name in _PARAM.findall(operation.path)
    ]
    for header in operation.headers:
        found.append(
            {
                "name": header,
                "in": "header",
                "required": True,
                "schema": {"type": "string"},
            }
        )
    if operation.query is not None:
        schema = components[operation.query.__name__]
        required = set(schema.get("required", ()))
        for name, prop in schema["properties"].items():
            prop = _not_null(prop)
            found.append(
                {
                    "name": name,
                    "in": "query",
                    "required": name in required,
                    "schema": prop,
                }
            )
    return found


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter's schema without its null alternative: an absent
    parameter is the null."""
    choices = [c for c in schema.get("anyOf", ()) if c != {"type": "null"}]
    if len(choices) == 1:
        rest = {k: v for k, v in schema.items() if k not in ("anyOf", "default")}
        return {**choices[0], **rest}
    return schema


def _ref(kind: type) -> dict[str, str]:
    return {"$ref": _REF.format(name=kind.__name__)}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _matrix_text() -> str:
    lines = ["Permissions by role (a customer's session token opens nothing here):", ""]
    for action, roles in MATRIX.items():
        lines.append(f"- `{action}`: " + ", ".join(r for r in ROLES if r in roles))
    return "\n".join(lines)


def routes(operations: Sequence[Operation]) -> list[Route]:
    """``/openapi.json`` and ``/docs``, built once on first use."""

    @lru_cache(maxsize=1)
    def body() -> bytes:
        return msgspec.json.encode(document(operations))

    @lru_cache(maxsize=1)
    def page() -> str:
        return docs_page(document(operations))

    async def openapi_json(request: Request) -> Response:
        return Response(body(), media_type="application/json")

    async def docs(request: Request) -> Response:
        return HTMLResponse(page())

    return [
        Route("/openapi.json", openapi_json, methods=["GET"]),
        Route("/docs", docs, methods=["GET"]),
    ]


def _sentence(text: str | None) -> str:
    return "" if text is None else ". " + html.escape(text)


def docs_page(spec: dict[str, Any]) -> str:
    """A self-contained HTML page: every operation, then every schema."""
    out = [
        "<!doctype html><html lang=en><meta charset=utf-8>",
        f"<title>{html.escape(TITLE)}</title>",
        "<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60em;margin:2em auto;"
        "padding:0 1em}code,pre{background:#f4f4f4;padding:.1em .3em}"
        "pre{padding:.6em;overflow:auto}h3{margin-bottom:.2em}"
        ".m{font-weight:bold;display:inline-block;width:4.5em}</style>",
        f"<h1>{html.escape(TITLE)}</h1>",
        '<p>The machine-readable document: <a href="/openapi.json">/openapi.json</a>'
        " (OpenAPI 3.1).</p>",
        f"<pre>{html.escape(spec['info']['description'])}</pre>",
        "<h2>Operations</h2>",
    ]
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            out.append(
                f"<h3><span class=m>{method.upper()}</span><code>{html.escape(path)}"
                f"</code></h3><p>{html.escape(op['summary'])}"
                f"{_sentence(op.get('description'))}"
                "</p>"
            )
            body = op.get("requestBody", {}).get("content", {})
            if body:
                ref = body["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
                out.append(f'<p>Body: <a href="#{ref}">{ref}</a></p>')
    out.append("<h2>Schemas</h2>")
    for name, schema in spec["components"]["schemas"].items():
        text = json.dumps(schema, indent=2)
        out.append(f'<h3 id="{name}">{name}</h3><pre>{html.escape(text)}</pre>')
    return "\n".join(out)
