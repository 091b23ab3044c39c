"""`vq up` run as a real process, as a newcomer runs it."""

import asyncio
import os
import re
import signal
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio
import redis.asyncio as aioredis

from deploy._utils import free_port

VQ = str(Path(sys.executable).with_name("vq"))
# A bound for a stuck process, not a measured time.
PATIENCE = 120.0
SERVERS = ("redis", "postgres")


class VqUp:
    """A running `vq up` and the log lines it has written so far."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[str] = []

    @property
    def log(self) -> str:
        return "".join(self.lines)

    async def wait_for(self, event: str) -> None:
        """Read log lines until one contains event."""
        assert self.process.stderr is not None
        async with asyncio.timeout(PATIENCE):
            while not self.lines or event not in self.lines[-1]:
                line = await self.process.stderr.readline()
                if not line:
                    raise AssertionError(f"vq up ended first:\n{self.log}")
                self.lines.append(line.decode())

    async def stop(self, sig: signal.Signals = signal.SIGTERM) -> int:
        """Send sig, read the log to its end and return the exit status."""
        assert self.process.stderr is not None
        if self.process.returncode is None:
            self.process.send_signal(sig)
        async with asyncio.timeout(PATIENCE):
            rest = await self.process.stderr.read()
            self.lines.append(rest.decode())
            return await self.process.wait()

    def field(self, event: str, name: str) -> str:
        """The value of field name on the first line containing event."""
        match = re.search(rf"{re.escape(event)}.* {name}=(\S+)", self.log)
        assert match, f"no {name}= on a {event!r} line:\n{self.log}"
        return match.group(1)


@pytest.fixture
def data_dir() -> Iterator[Path]:
    # A folder outside pytest's private temporary root, see conftest.py.
    with tempfile.TemporaryDirectory(
        prefix="vq-test-", ignore_cleanup_errors=True
    ) as root:
        yield Path(root) / "var"


@pytest_asyncio.fixture
async def vq_up() -> AsyncIterator[list[VqUp]]:
    started: list[VqUp] = []
    yield started
    for vq in started:
        await vq.stop()


async def start_vq(started: list[VqUp], env: dict[str, str]) -> VqUp:
    process = await asyncio.create_subprocess_exec(
        VQ,
        "up",
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    started.append(VqUp(process))
    return started[-1]


def vq_env(data_dir: Path, **variables: str) -> dict[str, str]:
    """This environment without VQ_* variables, plus the given ones."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VQ_")}
    # The edge listens on a free port: 8000 may be taken on this machine.
    return {**env, "VQ_DATA_DIR": str(data_dir), "VQ_EDGE_PORT": "0", **variables}


def is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=str)
async def test_up_runs_embedded_servers_until_signalled(
    vq_up: list[VqUp], data_dir: Path, sig: signal.Signals
) -> None:
    """`vq up` starts both servers on the set ports and stops them on a signal."""
    redis_port, postgres_port = free_port(), free_port()
    env = vq_env(
        data_dir,
        VQ_EMBEDDED_REDIS_PORT=str(redis_port),
        VQ_EMBEDDED_POSTGRES_PORT=str(postgres_port),
    )
    vq = await start_vq(vq_up, env)
    await vq.wait_for("vq ready")

    redis_url = vq.field("redis started", "url")
    database_url = vq.field("postgres started", "url")
    assert redis_url == f"redis://127.0.0.1:{redis_port}/0"
    assert database_url == f"postgresql://postgres@127.0.0.1:{postgres_port}/vq"
    await _assert_answers(redis_url, database_url)

    pids = [int(vq.field(f"{name} started", "pid")) for name in SERVERS]
    assert await vq.stop(sig) == 0
    assert "redis stopped" in vq.log
    assert "postgres stopped" in vq.log
    assert not [pid for pid in pids if is_alive(pid)]


async def test_up_with_urls_starts_no_server(
    vq_up: list[VqUp], data_dir: Path, redis_url: str, database_url: str
) -> None:
    """With both URLs set `vq up` checks and logs them and starts nothing."""
    env = vq_env(data_dir, VQ_REDIS_URL=redis_url, VQ_DATABASE_URL=database_url)
    vq = await start_vq(vq_up, env)
    await vq.wait_for("vq ready")

    assert vq.field("redis answers", "url") == redis_url
    assert vq.field("postgres answers", "url") == database_url
    assert "redis started" not in vq.log
    assert "postgres started" not in vq.log
    assert await vq.stop() == 0
    assert await asyncio.to_thread(os.listdir, data_dir) == ["secret"]


def test_bad_port_exits_with_a_message(data_dir: Path) -> None:
    """An invalid port ends `vq up` with status 1, one message, no traceback."""
    env = vq_env(data_dir, VQ_EMBEDDED_POSTGRES_PORT="99999")

    result = subprocess.run(
        [VQ, "up"], env=env, capture_output=True, text=True, timeout=PATIENCE
    )

    assert result.returncode == 1
    assert "VQ_EMBEDDED_POSTGRES_PORT must be a port number" in result.stderr
    assert "Traceback" not in result.stderr
    assert not data_dir.exists()


def test_help_lists_commands_and_environment() -> None:
    """`vq --help` names the up command and every VQ_* variable."""
    result = subprocess.run(
        [VQ, "--help"], capture_output=True, text=True, timeout=PATIENCE
    )

    assert result.returncode == 0
    assert re.search(r"^\s+up\s", result.stdout, re.MULTILINE)
    for name in ("VQ_REDIS_URL", "VQ_DATABASE_URL", "VQ_SECRET", "VQ_DATA_DIR"):
        assert name in result.stdout


async def _assert_answers(redis_url: str, database_url: str) -> None:
    client = aioredis.Redis.from_url(redis_url)
    try:
        assert await client.ping()
    finally:
        await client.aclose()
    connection = await asyncpg.connect(database_url)
    try:
        assert await connection.fetchval("SELECT 1") == 1
    finally:
        await connection.close()
