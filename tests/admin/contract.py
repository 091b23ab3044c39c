"""CI's contract check of the admin API: schemathesis against a live edge.

``python -m tests.admin.contract [--max-examples N]`` starts an embedded
Redis and PostgreSQL in a temporary folder, migrates, serves the edge with
a platform admin, signs in, makes a tenant with a queue, then runs
schemathesis on /openapi.json with a bounded number of examples per
operation. It fails on any 5xx and on any answer that breaks the schema.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
import tempfile
from pathlib import Path

import httpx

from deploy.embedded import EmbeddedPostgres, EmbeddedRedis
from edge.server import running_edge
from persistence.migrate import apply_migrations
from tests.edge.conftest import edge_config

EMAIL = "ci-admin@example.com"
CHECKS = "not_a_server_error,response_schema_conformance"


async def contract(redis_url: str, database_url: str, examples: int) -> int:
    password = secrets.token_urlsafe(16)
    config = edge_config(
        redis_url,
        "vqcontract",
        database_url=database_url,
        admin_limit="1000000/minute",
        admin_email=EMAIL,
        admin_password=password,
    )
    async with running_edge(config) as url:
        token = await _prepare(url, password)
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "schemathesis.cli", "run", f"{url}/openapi.json",
            "--checks", CHECKS, "--max-examples", str(examples),
            "--phases", "examples,coverage,fuzzing",
            "--header", f"Authorization: Bearer {token}",
            "--suppress-health-check", "all",
        )  # fmt: skip
        return await process.wait()


async def _prepare(url: str, password: str) -> str:
    """Signs in as the admin and makes a tenant with one queue."""
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        answer = await http.post(
            "/auth/login", json={"email": EMAIL, "password": password}
        )
        answer.raise_for_status()
        token: str = answer.json()["accessToken"]
        headers = {"Authorization": f"Bearer {token}"}
        tenant = await http.post(
            "/v1/tenants", json={"id": "acme", "name": "Acme"}, headers=headers
        )
        tenant.raise_for_status()
        queue = {"id": "desk", "name": "Desk", "settings": {"mode": "service"}}
        made = await http.post("/v1/tenants/acme/queues", json=queue, headers=headers)
        made.raise_for_status()
    return token


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.admin.contract")
    parser.add_argument("--max-examples", type=int, default=10)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="vq-contract-") as folder,
        EmbeddedRedis(Path(folder) / "redis") as redis_server,
        EmbeddedPostgres(Path(folder) / "postgres") as postgres,
    ):
        apply_migrations(postgres.url)
        return asyncio.run(contract(redis_server.url, postgres.url, args.max_examples))


if __name__ == "__main__":
    sys.exit(main())
