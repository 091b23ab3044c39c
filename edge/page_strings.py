"""The waiting page's words in English; a queue's site may replace any of
them (its ``strings``), for its locale or its tone. ``{name}`` marks a
value filled in on the page."""

from __future__ import annotations

from typing import Final

STRINGS: Final[dict[str, str]] = {
    "title": "Waiting room",
    "heading": "You are in line",
    "joining": "Getting you a place in line\u2026",
    "checking": "Checking your browser\u2026",
    "waiting": "Please keep this page open. We will take you through when it "
    "is your turn.",
    "position": "Your place in line",
    "estimate": "Estimated wait",
    "range": "{low} to {high}",
    "minutes": "about {n} min",
    "under_minute": "under a minute",
    "unknown": "not known yet",
    "ticket": "Your ticket",
    "prequeue": "The line opens in",
    "prequeue_wait": "You are early: you will get your place when the line opens.",
    "prequeue_note": "Everyone who arrives before the start gets a random place "
    "in line at the start, so there is no need to hurry.",
    "paused": "The line is paused for now. You keep your place.",
    "closed": "The line is closed for now. You keep your place.",
    "released": "It is your turn! Taking you to the site\u2026",
    "called": "It is your turn: please go to {counter}.",
    "ended": "Your place in line has ended.",
    "ended_left": "You left the line.",
    "ended_expired": "Your place in line expired because this page was closed.",
    "ended_served": "Thank you for waiting.",
    "ended_no_show": "We called you, but did not see you.",
    "ended_transferred": "You were moved to another line.",
    "error_queue_closed": "This line is closed.",
    "error_joins_paused": "This line is not taking new visitors right now.",
    "error_queue_full": "This line is full right now.",
    "error_queue_not_found": "There is no such line.",
    "error_rate_limited": "Too many tries from your network; please wait a moment.",
    "retrying": "We could not reach the waiting room. Trying again\u2026",
    "live": "This page updates by itself.",
    "polling": "This page checks for news every {s} s.",
    "leave": "Leave the line",
    "noscript": "This waiting room needs JavaScript to keep your place.",
}


def strings_for(overrides: dict[str, str]) -> dict[str, str]:
    """The page strings, with a site's replacements for known names."""
    return {name: overrides.get(name, text) for name, text in STRINGS.items()}
