"""The edge's public keys, fetched once and kept; fetched again when a
token names a key id we do not know, at most once per interval."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
import urllib.request
from typing import Any

from core.admission import public_keys

logger = logging.getLogger(__name__)

FETCH_TIMEOUT_S = 5.0


class KeyCache:
    """kid -> public key, from a JWKS URL."""

    def __init__(self, url: str, min_interval_s: float = 10.0) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError("the JWKS URL must be http(s)")
        self._url = url
        self._min_interval = min_interval_s
        self._keys: dict[str, Any] = {}
        self._fetched_at = float("-inf")
        self._lock = threading.Lock()

    @property
    def keys(self) -> dict[str, Any]:
        return self._keys

    def refresh(self) -> bool:
        """Fetches the keys unless fetched within the interval; True
        when a fetch happened and succeeded."""
        with self._lock:
            if time.monotonic() - self._fetched_at < self._min_interval:
                return False
            self._fetched_at = time.monotonic()
            try:
                self._keys = public_keys(self._fetch())
            except (OSError, ValueError) as exc:
                logger.warning("jwks fetch failed url=%s error=%s", self._url, exc)
                return False
        logger.info("jwks fetched url=%s keys=%d", self._url, len(self._keys))
        return True

    async def refresh_async(self) -> bool:
        """``refresh`` off the event loop."""
        return await asyncio.to_thread(self.refresh)

    def _fetch(self) -> Any:
        headers = {"Accept": "application/json"}
        # The scheme was checked to be http(s) when the cache was made.
        request = urllib.request.Request(self._url, headers=headers)  # noqa: S310
        with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT_S) as answer:  # noqa: S310
            return json.loads(answer.read(1 << 20))
