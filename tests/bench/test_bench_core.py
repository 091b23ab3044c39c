"""`python -m bench core --quick` runs end to end against the session's Redis
and prints every result once, well formed. Speeds are never asserted: the
numbers depend on the machine."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import redis

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
TARGETED = ("join_vs_zadd", "position_p99_ms_1m", "bytes_per_waiting_1m")
REQUIRED = (*TARGETED, "release_per_s")
SERVER_SIDE = "position_server_p99_ms_1m"
TIMEOUT_S = 600


def run_bench(redis_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "VQ_REDIS_URL": redis_url}
    return subprocess.run(
        [sys.executable, "-m", "bench", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )


@pytest.fixture(scope="module")
def core_run(redis_url: str) -> subprocess.CompletedProcess[str]:
    done = run_bench(redis_url, "core", "--quick")
    assert done.returncode == 0, done.stderr[-3000:]
    return done


@pytest.fixture(scope="module")
def results(
    core_run: subprocess.CompletedProcess[str],
) -> dict[str, list[dict[str, Any]]]:
    by_name: dict[str, list[dict[str, Any]]] = {}
    for line in core_run.stdout.splitlines():
        result = json.loads(line)
        by_name.setdefault(result["name"], []).append(result)
    return by_name


def test_every_required_result_appears_once(
    results: dict[str, list[dict[str, Any]]],
) -> None:
    """Each required name is printed exactly once, and nothing unknown."""
    counts = {name: len(results.get(name, [])) for name in REQUIRED}
    assert counts == dict.fromkeys(REQUIRED, 1)
    assert set(results) <= {*REQUIRED, SERVER_SIDE}


def test_results_carry_a_positive_value_and_a_unit(
    results: dict[str, list[dict[str, Any]]],
) -> None:
    """Every line has a name, a positive number and a unit."""
    for name, (result, *_) in results.items():
        assert result["value"] > 0, name
        assert isinstance(result["unit"], str) and result["unit"], name


def test_targets_carry_ok(results: dict[str, list[dict[str, Any]]]) -> None:
    """Every result with a target says whether it met it."""
    for name in (*TARGETED, SERVER_SIDE):
        for result in results.get(name, []):
            assert isinstance(result["target"], str), name
            assert isinstance(result["ok"], bool), name


def test_join_is_compared_with_zadd(results: dict[str, list[dict[str, Any]]]) -> None:
    """join_vs_zadd carries its ZADD baseline and the ratio of the two."""
    (result,) = results["join_vs_zadd"]
    assert result["baseline"] > 0
    assert result["ratio"] == pytest.approx(
        result["value"] / result["baseline"], rel=0.01
    )


def test_server_side_p99_only_on_redis_7(
    redis_url: str, results: dict[str, list[dict[str, Any]]]
) -> None:
    """The server-side p99 line appears exactly when Redis is 7 or later."""
    with redis.Redis.from_url(redis_url) as client:
        major = int(str(client.info("server")["redis_version"]).split(".")[0])
    assert len(results.get(SERVER_SIDE, [])) == (1 if major >= 7 else 0)


def test_keys_are_deleted(
    redis_url: str, core_run: subprocess.CompletedProcess[str]
) -> None:
    """No key under the run's own prefix is left in Redis once it ends."""
    found = re.search(r"prefix=(vqbench-core-[0-9a-f]+)", core_run.stderr)
    assert found is not None
    with redis.Redis.from_url(redis_url) as client:
        assert list(client.scan_iter(match=f"{found.group(1)}:*")) == []


def test_only_runs_the_named_benchmark(redis_url: str) -> None:
    """--only NAME prints that result alone."""
    done = run_bench(redis_url, "core", "--quick", "--only", "join_vs_zadd")
    assert done.returncode == 0, done.stderr[-3000:]
    names = [json.loads(line)["name"] for line in done.stdout.splitlines()]
    assert names == ["join_vs_zadd"]


def test_no_suite_lists_the_suites(redis_url: str) -> None:
    """`python -m bench` alone lists the suites and exits 0."""
    done = run_bench(redis_url)
    assert done.returncode == 0
    assert "core" in done.stdout.split()


def test_unknown_suite_exits_2(redis_url: str) -> None:
    """An unknown suite name is refused with exit status 2."""
    done = run_bench(redis_url, "nosuch")
    assert done.returncode == 2
    assert "nosuch" in done.stderr
