"""``python -m bench SUITE [--quick] [--only NAME]``: runs one benchmark
suite, one JSON result per line on standard output; with no suite, lists
the suites."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TextIO, cast

from deploy.errors import SettingsError
from deploy.logs import configure_logging
from deploy.settings import Settings

SuiteMain = Callable[[Sequence[str]], int]


@dataclass(frozen=True)
class Suite:
    """A suite: the module whose ``main(argv)`` runs it, and what it measures."""

    module: str
    help: str


SUITES = {
    "core": Suite("bench.core", "engine costs: joins, releases, positions, memory"),
    "flush": Suite("bench.flush", "streams into PostgreSQL: throughput and lag"),
    "edge": Suite("bench.edge", "edge: joins and polls vs bare, WebSocket fan-out"),
    "admin": Suite("bench.admin", "admin API: queue listing, tenant switching"),
}


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the suite named first in ``argv``; returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        _list_suites()
        return 0
    suite = SUITES.get(args[0])
    if suite is None:
        print(f"bench: unknown suite {args[0]!r}", file=sys.stderr)
        _list_suites(sys.stderr)
        return 2

    try:
        configure_logging(Settings.from_env().log_level)
    except SettingsError as exc:
        raise SystemExit(f"bench: error: {exc}") from None
    run = cast(SuiteMain, importlib.import_module(suite.module).main)
    return run(args[1:])


def _list_suites(out: TextIO | None = None) -> None:
    stream = out or sys.stdout
    print("usage: python -m bench SUITE [--quick] [--only NAME]", file=stream)
    for name, suite in SUITES.items():
        print(f"  {name:<8} {suite.help}", file=stream)


if __name__ == "__main__":
    sys.exit(main())
