"""A Redis client that merges the commands of concurrent callers.

Commands issued during one turn of the event loop go out together in
pipelines (not transactions): a batch as soon as it holds EAGER_BATCH
commands, the rest when the turn ends. One write and one read for many
requests instead of one each, which is most of the cost of a Redis call
in Python, while Redis need not wait for the whole turn to start. Each
caller still gets its own reply or its own error. Script calls keep
working: a NOSCRIPT error reaches its caller, which loads the script and
retries, as with a plain client.

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
# A batch goes out as soon as it holds this many commands, not at the end
# of the turn: Redis, on another core, starts on it while this process
# goes on with the turn's other requests. Batches of a whole turn left
# Redis idle while the edge parsed, then the edge idle while Redis ran
# them (bench edge, two shared cores: polls and joins 10 to 20% faster;
# 4 measured a little better than 8, 16 or 32, and 1 or 2 worse).
EAGER_BATCH = 4
# Eager batches each hold a connection until their replies are in; past
# this many in flight, commands wait for the turn's end again (one batch
# then), so a surge does not open a connection per few requests.
MAX_EAGER_IN_FLIGHT = 32

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
        """Queues one command for the next batch without waiting: its reply
        or error settles the future. A caller that submits, then awaits
        another command, sends both in one batch unless the first filled
        it (EAGER_BATCH)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        if not self._pending:
            loop.call_soon(self._flush)
        self._pending.append((args, options, future))
        if (
            len(self._pending) >= EAGER_BATCH
            and len(self._flushing) < MAX_EAGER_IN_FLIGHT
        ):
            self._flush()
        return future

    def execute_command(self, *args: Any, **options: Any) -> asyncio.Future[Any]:  # type: ignore[override]
        # The future itself, awaitable as redis-py's coroutine is, without
        # a coroutine frame around it: one less per Redis call.
        return self.submit(*args, **options)

    def _flush(self) -> None:
        # Not pool.get_connection(): it probes every connection with a
        # zero-timeout read, a cancelled wait per batch. A connection goes
        # back to the pool drained, or disconnected when a batch failed.
        pool = self.connection_pool
        while self._pending:
            batch = self._pending[:MAX_BATCH]
            del self._pending[:MAX_BATCH]
            try:
                conn = pool.get_available_connection()  # type: ignore[no-untyped-call]
            except Exception as exc:  # the pool is at its connection limit
                _fail(batch, exc)
                continue
            written = _write_now(conn, batch)
            task = asyncio.create_task(self._send(conn, batch, written))
            self._flushing.add(task)
            task.add_done_callback(self._flushing.discard)

    async def _send(
        self, conn: Connection, batch: list[Pending], written: bool
    ) -> None:
        pool = self.connection_pool
        try:
            if not written:  # a new connection, or a timed write
                await conn.connect()  # type: ignore[no-untyped-call]
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


def _write_now(conn: Connection, batch: list[Pending]) -> bool:
    """Writes ``batch`` at once on an open connection without a socket
    timeout, so that Redis gets it while the turn goes on; False leaves
    connecting and writing to the sending task. No drain: a connection
    carries one batch at a time, read back before it is used again."""
    writer = conn._writer
    if writer is None or not conn.is_connected or conn.socket_timeout:
        return False
    try:
        packed = conn.pack_commands([args for args, _, _ in batch])
    except Exception:  # the sending task packs again, and fails the batch
        return False
    writer.writelines(packed)
    return True


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
