"""The `vq` command: one entry point for every process of the queue.

A subcommand is a Command: a name, a line of help and a handler that gets
the settings and the parsed arguments and returns the exit status.
"""

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import FrameType

from deploy.checks import check_postgres, check_redis
from deploy.embedded import start_servers
from deploy.errors import DeployError
from deploy.logs import configure_logging
from deploy.runner import Runtime, Service, run_until_signal
from deploy.secret import resolve_secret
from deploy.settings import ENVIRONMENT, Settings

logger = logging.getLogger(__name__)

Handler = Callable[[Settings, argparse.Namespace], int]


@dataclass(frozen=True)
class Command:
    """A subcommand of `vq`."""

    name: str
    help: str
    handler: Handler


def main(argv: Sequence[str] | None = None) -> int:
    """Run the subcommand named in argv; invalid settings exit with a message."""
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        configure_logging(settings.log_level)
        handler: Handler = args.handler
        return handler(settings, args)
    except DeployError as exc:
        raise SystemExit(f"vq: error: {exc}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vq",
        description="Virtual queue: waiting rooms and service lines.",
        epilog=_environment_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    commands.required = True
    for command in COMMANDS:
        sub = commands.add_parser(
            command.name, help=command.help, description=command.help
        )
        sub.set_defaults(handler=command.handler)
    return parser


def up(settings: Settings, args: argparse.Namespace) -> int:
    """Start the servers and the services; stop them all on SIGINT or SIGTERM."""
    # Until the event loop takes over, SIGTERM unwinds like Ctrl-C, so the
    # servers started so far are stopped.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        _up(settings)
    except KeyboardInterrupt:
        logger.info("vq interrupted during start-up")
    logger.info("vq stopped")
    return 0


def up_services() -> list[Service]:
    """The services `vq up` runs beside the servers.

    None yet: the edge and the worker join this list once they exist.
    """
    return []


def _up(settings: Settings) -> None:
    secret = resolve_secret(settings)
    with start_servers(settings) as urls:
        runtime = Runtime(settings=settings, urls=urls, secret=secret)
        try:
            asyncio.run(_serve(runtime))
        finally:
            # The servers stop next: a second signal must not cut that short.
            _ignore_stop_signals()


async def _serve(runtime: Runtime) -> None:
    await check_redis(runtime.urls.redis)
    await check_postgres(runtime.urls.database)
    await run_until_signal(runtime, up_services())


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _ignore_stop_signals() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def _environment_help() -> str:
    header = ("variable", "default", "meaning")
    rows = [header, *ENVIRONMENT]
    name_width = max(len(name) for name, _, _ in rows)
    default_width = max(len(default) for _, default, _ in rows)
    lines = [
        f"  {name:<{name_width}}  {default:<{default_width}}  {meaning}"
        for name, default, meaning in rows
    ]
    return "environment (an empty value counts as unset):\n" + "\n".join(lines)


COMMANDS: tuple[Command, ...] = (
    Command(
        "up",
        "start Redis and PostgreSQL (embedded unless their URLs are set) "
        "and run until SIGINT or SIGTERM",
        up,
    ),
)

if __name__ == "__main__":
    sys.exit(main())
