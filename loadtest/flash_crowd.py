"""A flash crowd on one waiting room: a surge of joins, polling at the
pace the edge asks for, release, and the connector's check of the token.

Headless run against a local `make up` (which serves the edge on
127.0.0.1:8000) after `python -m loadtest.setup` made the queue:

    .venv/bin/locust -f loadtest/flash_crowd.py --headless \\
        -u 500 -r 100 -t 60s --host http://127.0.0.1:8000

Releases come from the ticker of `vq up`; the queue admits 6000 a
minute. Any answer of 400 or more counts as a failure (429 included: the
run sets the limits high), and the exit code is 1 when one occurred.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from locust import HttpUser, between, events, task

QUEUE = "flash"
TARGET = "http://127.0.0.1:9000/"


class Visitor(HttpUser):
    """One visitor: joins once, polls until released, takes the token."""

    wait_time = between(0.1, 0.5)

    def on_start(self) -> None:
        body = {"client_id": "lt-" + secrets.token_hex(8)}
        answer = self.client.post(
            f"/v1/queues/{QUEUE}/sessions", json=body, name="join"
        )
        data: dict[str, Any] = answer.json()
        self.sid = data["session_id"]
        self.auth = {"Authorization": f"Bearer {data['token']}"}
        self.next_poll = 0.0
        self.admitted = False

    @task
    def poll(self) -> None:
        if self.admitted or time.monotonic() < self.next_poll:
            return
        url = f"/v1/queues/{QUEUE}/sessions/{self.sid}"
        answer = self.client.get(
            url, params={"target": TARGET}, headers=self.auth, name="status"
        )
        status = answer.json()
        self.next_poll = time.monotonic() + min(status["poll_after_s"], 5)
        if status["state"] == "active":
            self.check_token(status["admission"]["token"])

    def check_token(self, token: str) -> None:
        """What the connector does: verify offline with the JWKS."""
        from core.admission import public_keys, verify

        jwks = self.client.get("/.well-known/jwks.json", name="jwks").json()
        verify(token, public_keys(jwks), "http://127.0.0.1:9000", time.time())
        self.admitted = True
        self.client.post(
            f"/v1/queues/{QUEUE}/sessions/{self.sid}/done",
            headers=self.auth,
            name="done",
        )


@events.quitting.add_listener  # type: ignore[untyped-decorator]
def _fail_on_errors(environment: Any, **kwargs: Any) -> None:
    if environment.stats.total.num_failures:
        environment.process_exit_code = 1
