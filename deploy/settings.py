"""Settings of a deployment, read once from VQ_* environment variables.

An empty variable counts as unset. `vq --help` prints ENVIRONMENT.
"""

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from deploy.errors import SettingsError

ENVIRONMENT: tuple[tuple[str, str, str], ...] = (
    ("VQ_REDIS_URL", "unset", "Redis; unset: start an embedded one"),
    ("VQ_DATABASE_URL", "unset", "PostgreSQL; unset: start an embedded one"),
    ("VQ_DATA_DIR", "./var", "embedded servers' data and the secret"),
    ("VQ_KEY_PREFIX", "vq", "prefix of every Redis key"),
    ("VQ_SECRET", "unset", "signing secret; unset: <data dir>/secret"),
    ("VQ_LOG_LEVEL", "INFO", "DEBUG, INFO, WARNING, ERROR or CRITICAL"),
    ("VQ_EMBEDDED_REDIS_PORT", "16379", "embedded Redis port; 0: any"),
    ("VQ_EMBEDDED_POSTGRES_PORT", "15432", "embedded PostgreSQL port; 0: any"),
    ("VQ_DATABASE_APP_PASSWORD", "unset", "password of role vq_app; unset: none"),
    ("VQ_DATABASE_SYSTEM_PASSWORD", "unset", "password of vq_system; unset: none"),
    ("VQ_EDGE_HOST", "127.0.0.1", "address the edge listens on"),
    ("VQ_EDGE_PORT", "8000", "port the edge listens on; 0: any"),
    ("VQ_EDGE_IP_LIMIT", "300/minute", "requests per client IP; 0: no limit"),
    ("VQ_EDGE_SESSION_LIMIT", "120/minute", "requests per session; 0: no limit"),
    ("VQ_EDGE_TRUST_PROXY", "0", "1: take the client IP from X-Forwarded-For"),
    ("VQ_ADMIN_LIMIT", "1000/minute", "admin API requests per client IP; 0: none"),
    ("VQ_ADMIN_EMAIL", "unset", "platform admin the edge creates if missing"),
    ("VQ_ADMIN_PASSWORD", "unset", "that admin's first password"),
)

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
REDIS_SCHEMES = ("redis", "rediss", "unix")
POSTGRES_SCHEMES = ("postgresql", "postgres")
MIN_SECRET_LENGTH = 32

# Braces and colons would collide with the hash tags of queue keys.
KEY_PREFIX_PATTERN = re.compile(r"[A-Za-z0-9_.-]+")
# A rate limit in the notation of the `limits` library: "300/minute".
RATE_PATTERN = re.compile(r"[1-9][0-9]{0,8}/(second|minute|hour|day)")


@dataclass(frozen=True)
class Settings:
    """Everything a process needs to know about where it runs."""

    redis_url: str | None = None
    database_url: str | None = None
    data_dir: Path = Path("var")
    key_prefix: str = "vq"
    secret: str | None = field(default=None, repr=False)
    log_level: str = "INFO"
    embedded_redis_port: int = 16379
    embedded_postgres_port: int = 15432
    database_app_password: str | None = field(default=None, repr=False)
    database_system_password: str | None = field(default=None, repr=False)
    edge_host: str = "127.0.0.1"
    edge_port: int = 8000
    edge_ip_limit: str = "300/minute"
    edge_session_limit: str = "120/minute"
    edge_trust_proxy: bool = False
    admin_limit: str = "1000/minute"
    admin_email: str | None = None
    admin_password: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        """Read the settings, raising SettingsError on an invalid value."""
        env = _Env(os.environ if environ is None else environ)
        return cls(
            redis_url=env.url("VQ_REDIS_URL", REDIS_SCHEMES),
            database_url=env.url("VQ_DATABASE_URL", POSTGRES_SCHEMES),
            data_dir=Path(env.text("VQ_DATA_DIR", "var")).expanduser().absolute(),
            key_prefix=env.key_prefix("VQ_KEY_PREFIX", "vq"),
            secret=env.secret("VQ_SECRET"),
            log_level=env.choice("VQ_LOG_LEVEL", "INFO", LOG_LEVELS),
            embedded_redis_port=env.port("VQ_EMBEDDED_REDIS_PORT", 16379),
            embedded_postgres_port=env.port("VQ_EMBEDDED_POSTGRES_PORT", 15432),
            database_app_password=env.get("VQ_DATABASE_APP_PASSWORD"),
            database_system_password=env.get("VQ_DATABASE_SYSTEM_PASSWORD"),
            edge_host=env.text("VQ_EDGE_HOST", "127.0.0.1"),
            edge_port=env.port("VQ_EDGE_PORT", 8000),
            edge_ip_limit=env.rate("VQ_EDGE_IP_LIMIT", "300/minute"),
            edge_session_limit=env.rate("VQ_EDGE_SESSION_LIMIT", "120/minute"),
            edge_trust_proxy=env.flag("VQ_EDGE_TRUST_PROXY"),
            admin_limit=env.rate("VQ_ADMIN_LIMIT", "1000/minute"),
            admin_email=env.get("VQ_ADMIN_EMAIL"),
            admin_password=env.get("VQ_ADMIN_PASSWORD"),
        )


class _Env:
    """Typed, validated reads of environment variables."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def get(self, name: str) -> str | None:
        value = self._environ.get(name, "").strip()
        return value or None

    def text(self, name: str, default: str) -> str:
        return self.get(name) or default

    def url(self, name: str, schemes: tuple[str, ...]) -> str | None:
        value = self.get(name)
        if value is not None and urlsplit(value).scheme not in schemes:
            expected = ", ".join(f"{scheme}://" for scheme in schemes)
            raise SettingsError(f"{name} must start with one of {expected}")
        return value

    def port(self, name: str, default: int) -> int:
        value = self.text(name, str(default))
        if not value.isdigit() or int(value) > 65535:
            raise SettingsError(
                f"{name} must be a port number from 0 to 65535, got {value!r}"
            )
        return int(value)

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        value = self.text(name, default).upper()
        if value not in choices:
            raise SettingsError(f"{name} must be one of {', '.join(choices)}")
        return value

    def key_prefix(self, name: str, default: str) -> str:
        value = self.text(name, default)
        if not KEY_PREFIX_PATTERN.fullmatch(value):
            allowed = "letters, digits, '_', '.' and '-'"
            raise SettingsError(f"{name} may hold only {allowed}, got {value!r}")
        return value

    def rate(self, name: str, default: str) -> str:
        value = self.text(name, default).lower()
        if value != "0" and not RATE_PATTERN.fullmatch(value):
            raise SettingsError(
                f"{name} must read like 300/minute (or 0 for none), got {value!r}"
            )
        return value

    def flag(self, name: str) -> bool:
        value = self.text(name, "0")
        if value not in ("0", "1"):
            raise SettingsError(f"{name} must be 0 or 1, got {value!r}")
        return value == "1"

    def secret(self, name: str) -> str | None:
        value = self.get(name)
        if value is not None and len(value) < MIN_SECRET_LENGTH:
            raise SettingsError(
                f"{name} must be at least {MIN_SECRET_LENGTH} characters long"
            )
        return value
