"""The script loader's conventions: names, headers, KEYS, includes."""

from __future__ import annotations

from pathlib import Path

import pytest
from redis.asyncio import Redis

from core import scripts
from core.scripts import ScriptSourceError, read_all, read_source


def test_every_script_follows_the_conventions() -> None:
    """Each lua/ script loads: header, KEYS 1..N, includes expanded once."""
    sources = read_all()
    assert len(sources) >= 15
    for source in sources.values():
        assert "@include" not in source.text
        assert source.text.count("local function loadHash") <= 1


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("joinQueue.lua", "--[[ x ]]\nreturn KEYS[1]"),
        ("joinQueue-2.lua", "--[[ x ]]\nreturn KEYS[1]"),
        ("joinQueue-1.lua", "return KEYS[1]"),
        ("joinQueue-1.lua", '--[[ x ]]\n--- @include "nothing"\nreturn KEYS[1]'),
    ],
)
def test_loader_refuses_a_broken_script(tmp_path: Path, name: str, text: str) -> None:
    """Wrong name, KEYS count, header or include is refused at load time."""
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ScriptSourceError):
        read_source(path)


async def test_scripts_compile_on_the_server(redis_client: Redis) -> None:
    """Every expanded script compiles on the Redis under test."""
    for source in read_all().values():
        sha = await redis_client.script_load(source.text)
        assert len(sha) == 40


async def test_wrong_key_count_is_refused(redis_client: Redis) -> None:
    """Calling a script with another number of keys than its name says fails."""
    registry = scripts.Scripts(redis_client)
    with pytest.raises(ScriptSourceError):
        await registry.run("heartbeat", ["only-one"], [0, "x"])
