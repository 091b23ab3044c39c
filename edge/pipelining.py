"""A Redis client that merges the commands of concurrent callers.

Every command issued during one turn of the event loop goes out in one
pipeline (not a transaction) when the turn ends: one write and one read
for many requests instead of one each, which is most of the cost of a
Redis call in Python. Each caller still gets its own reply or its own
error. Script calls keep working: a NOSCRIPT error reaches its caller,
which loads the script and retries, as with a plain client.

Pub/sub and WATCH transactions bypass the merging (they use connections
of their own), so the same client serves every need of the edge.
Commands are packed by hiredis, as in ``core.store``: packing a script
call in Python costs more than its share of the round trip. Replies that
need no conversion (script results, counters) are read straight from the
hiredis reader, skipping three layers of redis-py coroutines per reply;
once the first reply of a batch is in, the others mostly are too, and are
taken without a coroutine at all.
"""

from __future__ import annotations

import asyncio
from typing import Any

from redis._parsers.hiredis import NOT_ENOUGH_DATA, _AsyncHiredisParser
from redis.asyncio import Redis
from redis.asyncio.connection import Connection
from redis.exceptions import ConnectionError, ResponseError

from core.store import PackedConnection

MAX_BATCH = 512

Pending = tuple[tuple[Any, ...], dict[str, Any], asyncio.Future[Any]]


def connect(url: str) -> PipeliningRedis:
    """A merging client of the Redis at ``url``, replies decoded to str."""
    options: dict[str, Any] = {}
    if url.startswith("redis://"):
        options["connection_class"] = PackedConnection
    client: PipeliningRedis = PipeliningRedis.from_url(
        url, decode_responses=True, **options
    )
    return client


class PipeliningRedis(Redis):
    """``redis.asyncio.Redis`` whose commands are sent in merged batches."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pending: list[Pending] = []
        self._flushing: set[asyncio.Task[None]] = set()
        self._callbacks = frozenset(name.upper() for name in self.response_callbacks)

    def submit(self, *args: Any, **options: Any) -> asyncio.Future[Any]:
        """Queues one command for this turn's batch without waiting: its
        reply or error settles the future. A caller that submits, then
        awaits another command, sends both in one batch."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        if not self._pending:
            loop.call_soon(self._flush)
        self._pending.append((args, options, future))
        return future

    def execute_command(self, *args: Any, **options: Any) -> asyncio.Future[Any]:  # type: ignore[override]
        # The future itself, awaitable as redis-py's coroutine is, without
        # a coroutine frame around it: one less per Redis call.
        return self.submit(*args, **options)

    def _flush(self) -> None:
        while self._pending:
            batch = self._pending[:MAX_BATCH]
            del self._pending[:MAX_BATCH]
            task = asyncio.create_task(self._send(batch))
            self._flushing.add(task)
            task.add_done_callback(self._flushing.discard)

    async def _send(self, batch: list[Pending]) -> None:
        # Not pool.get_connection(): it probes every connection with a
        # zero-timeout read, a cancelled wait per batch. A connection goes
        # back to the pool drained, or disconnected when a batch failed.
        pool = self.connection_pool
        try:
            conn = pool.get_available_connection()  # type: ignore[no-untyped-call]
        except Exception as exc:  # the pool is at its connection limit
            _fail(batch, exc)
            return
        try:
            await conn.connect()
            packed = conn.pack_commands([args for args, _, _ in batch])
            await conn.send_packed_command(packed)
            for args, options, future in batch:
                reply = self._read_reply(conn, args[0], options)
                if reply is NOT_ENOUGH_DATA:  # the first, mostly: then the rest
                    reply = await self._reply(conn, args[0], options)
                _settle(future, reply)
        except BaseException as exc:  # every caller learns of the failure
            await conn.disconnect()
            _fail(batch, exc)
            if not isinstance(exc, Exception):
                raise
        finally:
            await pool.release(conn)

    def _read_reply(self, conn: Connection, name: str, options: Any) -> Any:
        """A plain reply already read from the socket, without a coroutine;
        NOT_ENOUGH_DATA when it is not there yet or needs redis-py."""
        parser = conn._parser
        if not self._plain(parser, name, options):
            return NOT_ENOUGH_DATA
        assert isinstance(parser, _AsyncHiredisParser)
        reader = parser._reader
        if reader is None or not parser._connected:
            return NOT_ENOUGH_DATA  # _reply raises
        reply = reader.gets()
        return reply if reply is NOT_ENOUGH_DATA else _checked(reply)

    def _plain(self, parser: Any, name: str, options: Any) -> bool:
        return (
            not options
            and name.upper() not in self._callbacks
            and isinstance(parser, _AsyncHiredisParser)
        )

    async def _reply(self, conn: Connection, name: str, options: Any) -> Any:
        """The parsed reply of one command, or its error reply."""
        parser = conn._parser
        if self._plain(parser, name, options):
            assert isinstance(parser, _AsyncHiredisParser)
            return await _plain_reply(parser)
        try:
            return await self.parse_response(conn, name, **options)
        except ResponseError as exc:
            return exc


async def _plain_reply(parser: _AsyncHiredisParser) -> Any:
    """A reply read straight from hiredis, as redis-py's read_response
    would give it (error replies returned, connection errors raised)."""
    reader = parser._reader
    if reader is None or not parser._connected:
        raise ConnectionError("the connection closed before its replies came")
    reply = reader.gets()
    while reply is NOT_ENOUGH_DATA:
        await parser.read_from_socket()
        reply = reader.gets()
    return _checked(reply)


def _checked(reply: Any) -> Any:
    """``reply``, or the connection error hiredis put in its place."""
    if isinstance(reply, ConnectionError):
        raise reply
    if isinstance(reply, list) and reply and isinstance(reply[0], ConnectionError):
        raise reply[0]
    return reply


def _settle(future: asyncio.Future[Any], reply: Any) -> None:
    if future.done():
        return
    if isinstance(reply, Exception):
        future.set_exception(reply)
    else:
        future.set_result(reply)


def _fail(batch: list[Pending], exc: BaseException) -> None:
    for _, _, future in batch:
        if future.done():
            continue
        if isinstance(exc, Exception):
            future.set_exception(exc)
        else:
            future.cancel()
