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
from deploy.embedded import EmbeddedPostgres, ServerUrls, start_servers
from deploy.errors import DeployError
from deploy.logs import configure_logging
from deploy.runner import Runtime, Service, run_until_signal
from deploy.secret import resolve_secret
from deploy.settings import ENVIRONMENT, Settings
from edge.service import (
    add_keys_arguments,
    edge_command,
    edge_service,
    keys_command,
)
from persistence.migrate import migrate
from workers.recovery import rebuild_on
from workers.worker import run_worker as worker_service

logger = logging.getLogger(__name__)

Handler = Callable[[Settings, argparse.Namespace], int]


@dataclass(frozen=True)
class Command:
    """A subcommand of `vq`."""

    name: str
    help: str
    handler: Handler
    arguments: Callable[[argparse.ArgumentParser], None] | None = None


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
        if command.arguments is not None:
            command.arguments(sub)
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
    """The services `vq up` runs beside the servers."""
    return [edge_service, worker_service]


def worker(settings: Settings, args: argparse.Namespace) -> int:
    """Run one worker alone, to scale out beside `vq up` or other workers."""
    runtime = Runtime(
        settings=settings, urls=_running_urls(settings), secret=resolve_secret(settings)
    )
    asyncio.run(_serve_alone(runtime, worker_service))
    logger.info("vq worker stopped")
    return 0


async def _serve_alone(runtime: Runtime, service: Service) -> None:
    await check_redis(runtime.urls.redis)
    await check_postgres(runtime.urls.database)
    await run_until_signal(runtime, [service])


def _running_urls(settings: Settings) -> ServerUrls:
    """The servers of the settings, else those a `vq up` on this machine
    started on the embedded ports."""
    redis_url = settings.redis_url or (
        f"redis://127.0.0.1:{settings.embedded_redis_port}/0"
    )
    database_url = settings.database_url or (
        f"postgresql://postgres@127.0.0.1:{settings.embedded_postgres_port}/vq"
    )
    return ServerUrls(redis=redis_url, database=database_url)


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
    await migrate(runtime.urls.database, _role_passwords(runtime.settings))
    await run_until_signal(runtime, up_services())


def migrate_command(settings: Settings, args: argparse.Namespace) -> int:
    """Apply the database migrations (on the embedded PostgreSQL unless
    VQ_DATABASE_URL is set), then exit."""
    passwords = _role_passwords(settings)
    if settings.database_url is not None:
        asyncio.run(migrate(settings.database_url, passwords))
        return 0
    folder = settings.data_dir / "postgres"
    with EmbeddedPostgres(folder, settings.embedded_postgres_port) as server:
        asyncio.run(migrate(server.url, passwords))
    return 0


def rebuild_command(settings: Settings, args: argparse.Namespace) -> int:
    """Rebuild, from PostgreSQL, the queues a running Redis lost."""
    urls = _running_urls(settings)
    secret = resolve_secret(settings)
    rebuilt = asyncio.run(rebuild_on(urls.redis, urls.database, settings, secret))
    print(
        f"rebuilt queues={rebuilt.queues} sessions={rebuilt.sessions} "
        f"skipped={rebuilt.skipped} failed={','.join(rebuilt.failed) or '-'}"
    )
    return 1 if rebuilt.failed else 0


def _role_passwords(settings: Settings) -> dict[str, str]:
    given = {
        "vq_app": settings.database_app_password,
        "vq_system": settings.database_system_password,
    }
    return {role: password for role, password in given.items() if password}


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
    Command(
        "migrate",
        "apply the database migrations and set the service roles' "
        "passwords when given, then exit",
        migrate_command,
    ),
    Command(
        "worker",
        "run one worker (release ticker, event flusher, jobs) on the servers "
        "of VQ_REDIS_URL / VQ_DATABASE_URL, else on those of a running `vq up`",
        worker,
    ),
    Command(
        "rebuild",
        "rebuild, from PostgreSQL, the live state of every queue the running "
        "Redis lost (same order and positions), then exit",
        rebuild_command,
    ),
    Command(
        "edge",
        "serve the edge (visitor API, waiting room, WebSocket) on "
        "VQ_EDGE_HOST:VQ_EDGE_PORT against a running Redis",
        edge_command,
    ),
    Command(
        "keys",
        "manage the admission signing keys: `vq keys rotate`",
        keys_command,
        add_keys_arguments,
    ),
)

if __name__ == "__main__":
    sys.exit(main())
