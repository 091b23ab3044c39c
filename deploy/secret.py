"""The signing secret: from VQ_SECRET, or generated once and kept on disk."""

import logging
import os
import secrets
from pathlib import Path

from deploy.errors import SettingsError
from deploy.settings import MIN_SECRET_LENGTH, Settings

logger = logging.getLogger(__name__)

SECRET_BYTES = 32


def resolve_secret(settings: Settings) -> str:
    """Return VQ_SECRET when set, else the secret kept in the data folder."""
    if settings.secret is not None:
        logger.info("secret source=environment")
        return settings.secret
    return load_or_create_secret(settings.data_dir / "secret")


def load_or_create_secret(path: Path) -> str:
    """Read the secret at path; create it (hex, mode 0600) when missing."""
    try:
        return _read_secret(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        return _create_secret(path)
    except FileExistsError:
        # Another process created it between our read and our create.
        return _read_secret(path)


def _read_secret(path: Path) -> str:
    value = path.read_text().strip()
    if len(value) < MIN_SECRET_LENGTH:
        raise SettingsError(
            f"secret file {path} must hold {MIN_SECRET_LENGTH} characters or more"
        )
    if path.stat().st_mode & 0o077:
        logger.warning("secret file readable by others path=%s", path)
    logger.info("secret source=file path=%s", path)
    return value


def _create_secret(path: Path) -> str:
    value = secrets.token_hex(SECRET_BYTES)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(value + "\n")
    logger.info("secret created path=%s", path)
    return value
