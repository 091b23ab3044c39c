"""The lighter parts of the WebSocket protocol: the inbox and the
writable flag behave as the asyncio Queue and Event they replace."""

from __future__ import annotations

import asyncio

from edge.wsprotocol import Flag, Inbox


async def test_the_inbox_hands_messages_over_in_order() -> None:
    """A reader waiting on an empty inbox gets each message, in order."""
    inbox = Inbox()
    reader = asyncio.create_task(inbox.get())
    await asyncio.sleep(0)
    assert not reader.done()
    inbox.put_nowait({"type": "websocket.connect"})
    inbox.put_nowait({"type": "websocket.disconnect", "code": 1000})
    assert await reader == {"type": "websocket.connect"}
    assert inbox.qsize() == 1 and not inbox.empty()
    assert (await inbox.get())["type"] == "websocket.disconnect"
    assert inbox.empty()


async def test_the_flag_holds_writers_while_cleared() -> None:
    """Waiters pass a set flag at once and wait on a cleared one."""
    flag = Flag()
    assert flag.is_set()
    await flag.wait()
    flag.clear()
    waiters = [asyncio.create_task(flag.wait()) for _ in range(2)]
    await asyncio.sleep(0)
    assert not any(w.done() for w in waiters)
    flag.set()
    await asyncio.gather(*waiters)
    assert flag.is_set()
