"""A Redis client that merges the commands of concurrent callers.

Every command issued during one turn of the event loop goes out in one
pipeline (not a transaction) when the turn ends: one write and one read
for many requests instead of one each, which is most of the cost of a
Redis call in Python. Each caller still gets its own reply or its own
error. Script calls keep working: a NOSCRIPT error reaches its caller,
which loads the script and retries, as with a plain client.

Pub/sub and WATCH transactions bypass the merging (they use connections
of their own), so the same client serves every need of the edge.
"""

from __future__ import annotations

import asyncio
from typing import Any

from redis.asyncio import Redis

MAX_BATCH = 512

Pending = tuple[tuple[Any, ...], dict[str, Any], asyncio.Future[Any]]


class PipeliningRedis(Redis):
    """``redis.asyncio.Redis`` whose commands are sent in merged batches."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pending: list[Pending] = []
        self._flushing: set[asyncio.Task[None]] = set()

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        if not self._pending:
            loop.call_soon(self._flush)
        self._pending.append((args, options, future))
        return await future

    def _flush(self) -> None:
        while self._pending:
            batch = self._pending[:MAX_BATCH]
            del self._pending[:MAX_BATCH]
            task = asyncio.create_task(self._send(batch))
            self._flushing.add(task)
            task.add_done_callback(self._flushing.discard)

    async def _send(self, batch: list[Pending]) -> None:
        pipe = self.pipeline(transaction=False)
        for args, options, _ in batch:
            pipe.pipeline_execute_command(*args, **options)  # type: ignore[no-untyped-call]
        try:
            replies = await pipe.execute(raise_on_error=False)
        except asyncio.CancelledError:
            for _, _, future in batch:
                future.cancel()
            raise
        except Exception as exc:  # every caller learns of the failure
            for _, _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, _, future), reply in zip(batch, replies, strict=True):
            if future.done():
                continue
            if isinstance(reply, Exception):
                future.set_exception(reply)
            else:
                future.set_result(reply)
