"""The signing secret: from the environment or kept in the data folder."""

from pathlib import Path

import pytest

from deploy.errors import SettingsError
from deploy.secret import load_or_create_secret, resolve_secret
from deploy.settings import Settings


def test_creates_a_private_hex_secret(tmp_path: Path) -> None:
    """A missing secret file is made: 32 random bytes in hex, mode 0600."""
    path = tmp_path / "data" / "secret"

    secret = load_or_create_secret(path)

    assert len(bytes.fromhex(secret)) == 32
    assert path.read_text().strip() == secret
    assert path.stat().st_mode & 0o777 == 0o600


def test_reuses_the_stored_secret(tmp_path: Path) -> None:
    """A later start reads the same secret back."""
    path = tmp_path / "secret"

    assert load_or_create_secret(path) == load_or_create_secret(path)


def test_rejects_a_short_stored_secret(tmp_path: Path) -> None:
    """A truncated secret file is an error, not a weak key."""
    path = tmp_path / "secret"
    path.write_text("abc\n")

    with pytest.raises(SettingsError, match="32 characters or more"):
        load_or_create_secret(path)


def test_environment_secret_wins(tmp_path: Path) -> None:
    """VQ_SECRET is used as is and no secret file is written."""
    settings = Settings(data_dir=tmp_path, secret="e" * 40)

    assert resolve_secret(settings) == "e" * 40
    assert not (tmp_path / "secret").exists()


def test_secret_file_lives_in_the_data_dir(tmp_path: Path) -> None:
    """Without VQ_SECRET the secret is kept in <data dir>/secret."""
    settings = Settings(data_dir=tmp_path)

    secret = resolve_secret(settings)

    assert (tmp_path / "secret").read_text().strip() == secret
