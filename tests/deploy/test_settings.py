"""Settings read from VQ_* environment variables."""

import re
from pathlib import Path

import pytest

from deploy.errors import SettingsError
from deploy.settings import Settings


def test_defaults_when_nothing_is_set() -> None:
    """An empty environment gives embedded servers on the documented ports."""
    settings = Settings.from_env({})

    assert settings.redis_url is None
    assert settings.database_url is None
    assert settings.data_dir == Path("var").absolute()
    assert settings.key_prefix == "vq"
    assert settings.secret is None
    assert settings.log_level == "INFO"
    assert settings.embedded_redis_port == 16379
    assert settings.embedded_postgres_port == 15432


def test_reads_every_variable() -> None:
    """Each variable sets its field."""
    settings = Settings.from_env(
        {
            "VQ_REDIS_URL": "redis://cache:6380/2",
            "VQ_DATABASE_URL": "postgresql://app:pw@db:5433/queue",
            "VQ_DATA_DIR": "/srv/vq",
            "VQ_KEY_PREFIX": "stage",
            "VQ_SECRET": "s" * 40,
            "VQ_LOG_LEVEL": "debug",
            "VQ_EMBEDDED_REDIS_PORT": "0",
            "VQ_EMBEDDED_POSTGRES_PORT": "25432",
        }
    )

    assert settings.redis_url == "redis://cache:6380/2"
    assert settings.database_url == "postgresql://app:pw@db:5433/queue"
    assert settings.data_dir == Path("/srv/vq")
    assert settings.key_prefix == "stage"
    assert settings.secret == "s" * 40
    assert settings.log_level == "DEBUG"
    assert settings.embedded_redis_port == 0
    assert settings.embedded_postgres_port == 25432


def test_empty_value_counts_as_unset() -> None:
    """An exported but empty URL still means an embedded server."""
    settings = Settings.from_env({"VQ_REDIS_URL": "", "VQ_DATABASE_URL": " "})

    assert settings.redis_url is None
    assert settings.database_url is None


@pytest.mark.parametrize("value", ["abc", "-1", "65536", "80.5"])
def test_rejects_a_bad_port(value: str) -> None:
    """A port that is not 0-65535 fails with the variable's name and value."""
    expected = rf"VQ_EMBEDDED_REDIS_PORT .* 0 to 65535, got '{re.escape(value)}'"
    with pytest.raises(SettingsError, match=expected):
        Settings.from_env({"VQ_EMBEDDED_REDIS_PORT": value})


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("VQ_REDIS_URL", "http://cache", "VQ_REDIS_URL must start with"),
        ("VQ_DATABASE_URL", "mysql://db/x", "VQ_DATABASE_URL must start with"),
        ("VQ_LOG_LEVEL", "LOUD", "VQ_LOG_LEVEL must be one of"),
        ("VQ_KEY_PREFIX", "vq:{a}", "VQ_KEY_PREFIX may hold only"),
        ("VQ_SECRET", "short", "VQ_SECRET must be at least 32"),
    ],
)
def test_rejects_invalid_values(name: str, value: str, message: str) -> None:
    """Each invalid value fails with a message naming its variable."""
    with pytest.raises(SettingsError, match=message):
        Settings.from_env({name: value})


def test_repr_hides_the_secret() -> None:
    """The secret never shows in a repr, so never in a log line."""
    settings = Settings.from_env({"VQ_SECRET": "x" * 40})

    assert "x" * 40 not in repr(settings)
