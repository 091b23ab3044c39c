"""When a visitor should poll again: seldom at the back, often near the
front, so a million waiting visitors poll gently."""

from __future__ import annotations

import math

from core.model import SessionView

MIN_POLL_S = 2
MAX_POLL_S = 60
IDLE_POLL_S = 15  # ended sessions and closed queues
PREQUEUE_POLL_S = 20  # the draw at the event start is pushed over /ws too


def poll_after(view: SessionView) -> int:
    """Seconds until the next status poll of ``view``'s visitor."""
    if view.state == "active":
        return MIN_POLL_S
    if view.position is None:
        return PREQUEUE_POLL_S if view.state == "prequeue" else IDLE_POLL_S
    by_position = math.sqrt(view.position)
    by_estimate = view.estimate.p50_s / 4 if view.estimate else MAX_POLL_S
    return int(max(MIN_POLL_S, min(MAX_POLL_S, by_position, by_estimate)))


def queue_poll_after(waiting: int) -> int:
    """Seconds until the next poll of a public queue status."""
    return int(max(MIN_POLL_S, min(MAX_POLL_S, math.sqrt(waiting) / 4)))
