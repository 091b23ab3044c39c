"""The edge's settings: read from VQ_EDGE_* variables and checked."""

from __future__ import annotations

import pytest

from deploy.errors import SettingsError
from deploy.settings import Settings
from edge.service import config_of, redis_url_of


def test_edge_settings_reach_the_edge_config() -> None:
    """Host, port, limits and proxy trust come from the environment."""
    settings = Settings.from_env(
        {
            "VQ_EDGE_HOST": "0.0.0.0",
            "VQ_EDGE_PORT": "8080",
            "VQ_EDGE_IP_LIMIT": "50/second",
            "VQ_EDGE_SESSION_LIMIT": "0",
            "VQ_EDGE_TRUST_PROXY": "1",
            "VQ_KEY_PREFIX": "stage",
        }
    )
    config = config_of(settings, "redis://cache:6379/0", "s" * 40)

    assert (settings.edge_host, settings.edge_port) == ("0.0.0.0", 8080)
    assert (config.ip_limit, config.session_limit) == ("50/second", "0")
    assert config.trust_proxy is True
    assert config.prefix == "stage"
    assert config.secret == b"s" * 40


@pytest.mark.parametrize("value", ["lots", "10 per minute", "0/minute", "5/week"])
def test_a_bad_rate_is_refused(value: str) -> None:
    """A limit must read like 300/minute, or be 0."""
    with pytest.raises(SettingsError, match="VQ_EDGE_IP_LIMIT"):
        Settings.from_env({"VQ_EDGE_IP_LIMIT": value})


def test_without_a_url_the_commands_reach_the_embedded_redis() -> None:
    """`vq edge` and `vq keys rotate` default to the Redis of `vq up`."""
    settings = Settings.from_env({"VQ_EMBEDDED_REDIS_PORT": "16400"})

    assert redis_url_of(settings) == "redis://127.0.0.1:16400/0"
