"""Loading the Lua scripts of lua/.

A script file is named ``verbObject-N.lua`` where N is the number of KEYS it
takes; the loader checks that the script uses exactly KEYS[1] to KEYS[N] and
opens with a ``--[[ ]]`` header. Lines ``--- @include "name"`` are replaced by
``lua/includes/name.lua`` (itself expanded), each include at most once per
script. Scripts run by SHA; redis-py reloads one that the server forgot
(NOSCRIPT after a restart) and retries.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import NoScriptError

LUA_DIR = Path(__file__).resolve().parent.parent / "lua"

_NAME = re.compile(r"^(?P<name>[a-z][A-Za-z]*)-(?P<keys>\d+)\.lua$")
_INCLUDE = re.compile(r'^--- @include "(?P<name>[A-Za-z]+)"$', re.MULTILINE)
_KEY_USE = re.compile(r"KEYS\[(\d+)\]")


class ScriptSourceError(Exception):
    """A Lua file breaks the conventions above (a bug, not an input error)."""


@dataclass(frozen=True, slots=True)
class ScriptSource:
    """One expanded script, ready to load."""

    name: str
    num_keys: int
    text: str


def _expand(text: str, seen: set[str]) -> str:
    def include(match: re.Match[str]) -> str:
        name = match.group("name")
        if name in seen:
            return ""
        seen.add(name)
        path = LUA_DIR / "includes" / f"{name}.lua"
        if not path.is_file():
            raise ScriptSourceError(f"missing include {name!r}")
        return _expand(path.read_text(), seen)

    return _INCLUDE.sub(include, text)


def read_source(path: Path) -> ScriptSource:
    """Reads and checks one script file."""
    match = _NAME.match(path.name)
    if match is None:
        raise ScriptSourceError(f"{path.name}: not named verbObject-N.lua")
    name, num_keys = match.group("name"), int(match.group("keys"))

    raw = path.read_text()
    if not raw.startswith("--[["):
        raise ScriptSourceError(f"{path.name}: no --[[ ]] header")
    used = {int(i) for i in _KEY_USE.findall(raw)}
    if used != set(range(1, num_keys + 1)):
        raise ScriptSourceError(f"{path.name}: uses KEYS {sorted(used)}")
    return ScriptSource(name, num_keys, _expand(raw, set()))


def read_all() -> dict[str, ScriptSource]:
    """Every script of lua/, by name."""
    sources = [read_source(p) for p in sorted(LUA_DIR.glob("*.lua"))]
    return {s.name: s for s in sources}


class Scripts:
    """The scripts of lua/ for one client, called by name and run by SHA.

    A server that does not know a script (NOSCRIPT: restarted, or its cache
    flushed) gets it loaded, and the call is made again.
    """

    def __init__(self, client: Redis) -> None:
        self._client = client
        self._sources = read_all()
        self._shas = {
            name: hashlib.sha1(source.text.encode()).hexdigest()  # noqa: S324
            for name, source in self._sources.items()
        }

    def sha(self, name: str) -> str:
        """The SHA1 a script runs under."""
        return self._shas[name]

    async def load(self, name: str) -> str:
        """Makes sure the server knows script ``name`` (before a pipeline)."""
        sha: str = await self._client.script_load(self._sources[name].text)
        return sha

    async def run(self, name: str, keys: list[str], args: list[Any]) -> Any:
        """Runs script ``name``; the KEYS count is checked against its file."""
        num_keys = self._sources[name].num_keys
        if len(keys) != num_keys:
            raise ScriptSourceError(f"{name}: {len(keys)} keys given")
        command = ("EVALSHA", self._shas[name], num_keys, *keys, *args)
        try:
            return await self._client.execute_command(*command)  # type: ignore[no-untyped-call]
        except NoScriptError:
            await self.load(name)
            return await self._client.execute_command(*command)  # type: ignore[no-untyped-call]
