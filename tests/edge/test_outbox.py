"""The outbox of a WebSocket: queued messages, the wait of its writer,
and the drop of a client that falls behind."""

from __future__ import annotations

from edge.outbox import CLOSE_TOO_SLOW, MAX_PENDING, Outbox


async def test_a_push_ends_the_wait_and_take_gets_every_message() -> None:
    """The writer's future is done on a push; messages come out in order."""
    outbox = Outbox()
    waiting = outbox.wait()
    assert not waiting.done()
    outbox.push("a")
    outbox.push("b")
    assert waiting.done()
    assert outbox.take() == ["a", "b"]
    assert outbox.take() == []


async def test_a_wait_with_messages_queued_is_over_at_once() -> None:
    """Nothing pushed before the wait is missed."""
    outbox = Outbox()
    outbox.push("a")
    assert outbox.wait().done()


async def test_a_client_that_falls_behind_is_dropped() -> None:
    """Past MAX_PENDING waiting messages the outbox closes with 4408."""
    outbox = Outbox()
    for n in range(MAX_PENDING + 1):
        outbox.push(str(n))
    assert outbox.closed
    assert outbox.close_code == CLOSE_TOO_SLOW
    assert outbox.take() == []


async def test_a_close_ends_the_wait_and_keeps_its_first_code() -> None:
    """A close wakes the writer; later closes and pushes change nothing."""
    outbox = Outbox()
    waiting = outbox.wait()
    outbox.close(4403, "wrong token")
    outbox.close(1000)
    outbox.push("late")
    assert waiting.done()
    assert outbox.take() == []
    assert (outbox.close_code, outbox.close_reason) == (4403, "wrong token")
    assert outbox.wait().done()
