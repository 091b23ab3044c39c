"""Credentials of the admin API: access tokens, refresh tokens, API keys
and the sealing of TOTP secrets.

Access tokens are JWTs (HS256) valid 15 minutes, signed under a key
derived from the service secret by HKDF, so rotating the secret ends every
session. Refresh tokens and API keys are random; only their SHA-256 is
stored, and checks compare digests in constant time. TOTP secrets are
stored sealed with AES-GCM under another derived key, the user id as
associated data.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Literal

import jwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

Role = Literal["admin", "manager", "staff"]

ACCESS_TTL_S = 900
REFRESH_TTL_S = 7 * 86400
ISSUER = "vq-admin"
API_KEY_PREFIX = "vqk"
_ALGORITHM = "HS256"


class BadToken(Exception):
    """A token that is malformed, forged, expired or of another kind."""


@dataclass(frozen=True)
class Principal:
    """Who is asking: a user or an API key, their tenant and role."""

    subject: str  # 'user:<id>' or 'key:<id>'
    role: Role
    tenant_id: str | None  # None for platform admins

    @property
    def user_id(self) -> int | None:
        kind, _, value = self.subject.partition(":")
        return int(value) if kind == "user" else None


def derive(secret: bytes, label: str) -> bytes:
    """A 32-byte key for ``label`` derived from the service secret."""
    info = f"vq admin {label}".encode()
    kdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info)
    return kdf.derive(secret)


class AccessTokens:
    """Issues and checks the access JWTs of one service secret."""

    def __init__(self, secret: bytes) -> None:
        self._key = derive(secret, "access tokens")

    def issue(self, principal: Principal, now: float | None = None) -> str:
        issued = int(time.time() if now is None else now)
        claims = {
            "iss": ISSUER,
            "sub": principal.subject,
            "role": principal.role,
            "tid": principal.tenant_id,
            "iat": issued,
            "exp": issued + ACCESS_TTL_S,
            "jti": secrets.token_urlsafe(12),
        }
        return jwt.encode(claims, self._key, algorithm=_ALGORITHM)

    def check(self, token: str) -> Principal:
        """The principal of a valid token; BadToken otherwise."""
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[_ALGORITHM],
                issuer=ISSUER,
                options={"require": ["exp", "iat", "sub", "iss"]},
            )
        except jwt.PyJWTError as exc:
            raise BadToken(str(exc)) from exc
        role, tenant = claims.get("role"), claims.get("tid")
        if role not in ("admin", "manager", "staff"):
            raise BadToken("unknown role")
        if (role == "admin") != (tenant is None):
            raise BadToken("role and tenant disagree")
        return Principal(subject=str(claims["sub"]), role=role, tenant_id=tenant)


def digest(text: str) -> bytes:
    """The SHA-256 of a token or key secret, as stored."""
    return hashlib.sha256(text.encode()).digest()


def same_digest(stored: bytes, text: str) -> bool:
    """Constant-time check of ``text`` against a stored digest."""
    return hmac.compare_digest(stored, digest(text))


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def new_family() -> uuid.UUID:
    return uuid.uuid4()


def new_api_key() -> tuple[str, str, str]:
    """(key id, secret, the full key shown once: 'vqk_<id>_<secret>')."""
    key_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    return key_id, secret, f"{API_KEY_PREFIX}_{key_id}_{secret}"


def split_api_key(key: str) -> tuple[str, str] | None:
    """(key id, secret) of a well-formed API key, else None."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != API_KEY_PREFIX or len(parts[1]) != 16:
        return None
    return parts[1], parts[2]


class Sealer:
    """AES-GCM sealing of small secrets (TOTP seeds) bound to an owner."""

    def __init__(self, secret: bytes) -> None:
        self._aead = AESGCM(derive(secret, "totp secrets"))

    def seal(self, plain: str, owner: str) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, plain.encode(), owner.encode())

    def open(self, sealed: bytes, owner: str) -> str:
        nonce, body = sealed[:12], sealed[12:]
        return self._aead.decrypt(nonce, body, owner.encode()).decode()


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")
