"""What the connector decides for one request, with no I/O of its own:
pass, trade a query token for a cookie, or send to the waiting room."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from core.admission import TokenRejected, UnknownKey, verify
from edge.redirects import origin_of

TOKEN_PARAM = "vq_token"  # noqa: S105 - a parameter name
COOKIE = "vq_admission"


@dataclass(frozen=True)
class ConnectorConfig:
    """Where the waiting room is, which queue guards this site, and the
    site's own origin (the tokens' audience)."""

    edge_url: str
    queue_id: str
    origin: str
    cookie_name: str = COOKIE
    single_use: bool = False  # a token URL admits one browser only
    exempt_paths: tuple[str, ...] = ()  # path prefixes let through
    jwks_url: str | None = None  # default: <edge_url>/.well-known/jwks.json
    jwks_min_interval_s: float = 10.0  # between two fetches on unknown kids

    def audience(self) -> str:
        found = origin_of(self.origin)
        if found is None:
            raise ValueError(f"not an http(s) origin: {self.origin!r}")
        return found

    def keys_url(self) -> str:
        return self.jwks_url or self.edge_url.rstrip("/") + "/.well-known/jwks.json"


@dataclass(frozen=True)
class Pass:
    """Let the request through."""


@dataclass(frozen=True)
class Redirect:
    """Answer 302 to ``location``, setting the cookie when given."""

    location: str
    cookie: str | None = None
    max_age: int = 0


@dataclass(frozen=True)
class Refetch:
    """The token names an unknown key: fetch the JWKS and decide again."""


Decision = Pass | Redirect | Refetch


@dataclass
class SpentTokens:
    """Token ids already redeemed, until they expire (one process)."""

    _spent: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def spend(self, jti: str, expires: int, now: float) -> bool:
        """True the first time ``jti`` is spent."""
        with self._lock:
            if len(self._spent) > 10_000:
                self._spent = {k: v for k, v in self._spent.items() if v > now}
            if jti in self._spent:
                return False
            self._spent[jti] = expires
            return True


class Gate:
    """The connector's decisions for one protected site."""

    def __init__(
        self, config: ConnectorConfig, clock: Callable[[], float] = time.time
    ) -> None:
        self.config = config
        self._audience = config.audience()
        self._spent = SpentTokens()
        self._clock = clock

    def decide(
        self,
        path: str,
        query: str,
        cookies: Mapping[str, str],
        keys: Mapping[str, Any],
        retried: bool = False,
    ) -> Decision:
        """The decision for a request of ``path`` and ``query``."""
        if any(path.startswith(p) for p in self.config.exempt_paths):
            return Pass()
        params = parse_qsl(query, keep_blank_values=True)
        token = next((v for k, v in params if k == TOKEN_PARAM), None)
        rest = [(k, v) for k, v in params if k != TOKEN_PARAM]
        url = self._url(path, urlencode(rest))
        if token is not None:
            return self._redeem(token, url, keys, retried)
        cookie = cookies.get(self.config.cookie_name)
        if cookie is not None:
            verdict = self._check(cookie, keys)
            if verdict == "ok":
                return Pass()
            if verdict == "unknown" and not retried:
                return Refetch()
        return self.to_waiting_room(url)

    def to_waiting_room(self, url: str) -> Redirect:
        edge = self.config.edge_url.rstrip("/")
        queue = quote(self.config.queue_id, safe="")
        return Redirect(f"{edge}/w/{queue}?target={quote(url, safe='')}")

    def _redeem(
        self, token: str, url: str, keys: Mapping[str, Any], retried: bool
    ) -> Decision:
        try:
            admission = verify(token, keys, self._audience, self._clock())
        except UnknownKey:
            return self.to_waiting_room(url) if retried else Refetch()
        except TokenRejected:
            return self.to_waiting_room(url)
        now = self._clock()
        if self.config.single_use and not self._spent.spend(
            admission.jti, admission.expires, now
        ):
            return self.to_waiting_room(url)
        return Redirect(url, cookie=token, max_age=max(1, int(admission.expires - now)))

    def _check(self, token: str, keys: Mapping[str, Any]) -> str:
        """ok, unknown (key id) or bad."""
        try:
            verify(token, keys, self._audience, self._clock())
        except UnknownKey:
            return "unknown"
        except TokenRejected:
            return "bad"
        return "ok"

    def _url(self, path: str, query: str) -> str:
        base = self.config.origin.rstrip("/")
        return f"{base}{path}?{query}" if query else f"{base}{path}"


def cookie_header(config: ConnectorConfig, token: str, max_age: int) -> str:
    """The Set-Cookie value carrying an admission."""
    secure = "; Secure" if config.origin.startswith("https://") else ""
    return (
        f"{config.cookie_name}={token}; Max-Age={max_age}; Path=/; HttpOnly; "
        f"SameSite=Lax{secure}"
    )


def parse_cookies(header: str) -> dict[str, str]:
    """Cookie header -> name: value (the last of a repeated name wins)."""
    found = {}
    for part in header.split(";"):
        name, sep, value = part.strip().partition("=")
        if sep:
            found[name] = value
    return found
