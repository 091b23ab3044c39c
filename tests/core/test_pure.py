"""Pure helpers: session ids, the fairness draw, local time offsets."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core import errors, fairness, ids, localtime


def test_session_ids_are_keyed_and_stable() -> None:
    """The same visitor key gives the same id; another secret another one."""
    first = ids.session_id(b"k" * 32, "q1", "alice")
    assert first == ids.session_id(b"k" * 32, "q1", "alice")
    assert first != ids.session_id(b"j" * 32, "q1", "alice")
    assert first != ids.session_id(b"k" * 32, "q2", "alice")
    assert ids.SESSION_ID.match(first)


def test_fresh_visitor_keys_differ() -> None:
    """Visitors without a key get distinct random ones."""
    assert len({ids.new_visitor_key() for _ in range(100)}) == 100


def test_draw_order_is_reproducible_and_uses_the_seed() -> None:
    """The draw depends on the seed only, and priorities stay first."""
    entrants = [(f"s{i:02d}", 1 if i == 7 else 0) for i in range(30)]
    seed, commitment = fairness.new_seed()
    order = fairness.draw_order(seed, entrants)
    assert order == fairness.draw_order(seed, list(reversed(entrants)))
    assert order[0] == "s07" and sorted(order) == sorted(e[0] for e in entrants)
    assert order != fairness.draw_order(fairness.new_seed()[0], entrants)
    assert fairness.seed_matches(seed, commitment)
    assert not fairness.seed_matches(seed + "0", commitment)


def test_offsets_table_lists_daylight_saving_changes() -> None:
    """The offsets table has each clock change of the coming year."""
    table = localtime.offsets_table("Europe/Paris", datetime(2027, 1, 1, tzinfo=UTC))
    pairs = [tuple(map(int, p.split(":"))) for p in table.split(",")]
    assert [offset for _, offset in pairs] == [3600, 7200, 3600]
    spring = datetime.fromtimestamp(pairs[1][0] / 1000, UTC)
    assert spring == datetime(2027, 3, 28, 1, tzinfo=UTC)


def test_unknown_zone_is_invalid_input() -> None:
    """An unknown time zone name is refused as bad input."""
    with pytest.raises(errors.InvalidInput):
        localtime.offsets_table("Nowhere/Atlantis", datetime.now(UTC))
