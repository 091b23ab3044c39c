"""Admission signing keys, kept in Redis: current, next and previous.

The key set is one JSON document at ``<prefix>:jwks``. Private keys are
stored encrypted (AES-GCM under a key derived from the service secret by
HKDF, the key id as associated data), so a Redis dump alone signs nothing.
Tokens are signed with the current key; the next key is published ahead
of its use and the previous one stays published after a rotation, so
verifiers with a cached key set keep accepting tokens across a rotation.
"""

from __future__ import annotations

import base64
import logging
import os
import secrets
import time
from typing import Any

import msgspec
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from redis import exceptions as redis_errors
from redis.asyncio import Redis

from core.errors import StoreError

logger = logging.getLogger(__name__)

ALGORITHM = "EdDSA"
_HKDF_INFO = b"vq admission signing keys"
_RAW = serialization.Encoding.Raw


class StoredKey(msgspec.Struct, frozen=True):
    """One signing key as stored: public JWK, encrypted private key."""

    kid: str
    public: dict[str, str]
    sealed: str  # base64(nonce + AES-GCM ciphertext of the raw private key)
    created_ms: int


class KeySet(msgspec.Struct, frozen=True):
    """The signing keys in use, as stored in Redis."""

    current: StoredKey
    next: StoredKey
    previous: StoredKey | None = None

    def published(self) -> list[StoredKey]:
        """The keys a verifier must know: current, next and previous."""
        keys = [self.current, self.next]
        return keys if self.previous is None else [*keys, self.previous]


_decoder = msgspec.json.Decoder(KeySet)
_encoder = msgspec.json.Encoder()


def keyset_key(prefix: str) -> str:
    """The Redis key of the key set (no hash tag: no script touches it)."""
    return f"{prefix}:jwks"


class Keyring:
    """Reads, creates and rotates the key set; opens private keys."""

    def __init__(self, client: Redis, *, secret: bytes, prefix: str) -> None:
        self._client = client
        self._key = keyset_key(prefix)
        self._aead = AESGCM(_derive(secret))
        self._opened: dict[str, Ed25519PrivateKey] = {}

    async def load(self) -> KeySet:
        """The stored key set, made on first use."""
        raw = await self._call(self._client.get(self._key))
        if raw is not None:
            return _decoder.decode(raw)
        fresh = KeySet(current=self._new_key(), next=self._new_key())
        await self._call(self._client.set(self._key, _encoder.encode(fresh), nx=True))
        # Another process may have made one first: the stored one wins.
        stored = await self._call(self._client.get(self._key))
        return _decoder.decode(stored)

    async def rotate(self) -> KeySet:
        """Promotes next to current, keeps current as previous, makes a
        new next. Safe against a concurrent rotation (optimistic lock)."""
        await self.load()
        try:
            new: KeySet = await self._client.transaction(
                self._rotate, self._key, value_from_callable=True
            )
        except redis_errors.RedisError as exc:
            raise StoreError(f"key rotation failed: {exc}") from exc
        logger.info("keys rotated current=%s next=%s", new.current.kid, new.next.kid)
        return new

    async def _rotate(self, pipe: Any) -> KeySet:
        old = _decoder.decode(await pipe.get(self._key))
        new = KeySet(current=old.next, next=self._new_key(), previous=old.current)
        pipe.multi()
        pipe.set(self._key, _encoder.encode(new))
        return new

    def private_key(self, stored: StoredKey) -> Ed25519PrivateKey:
        """The private key of ``stored``, decrypted once and cached."""
        key = self._opened.get(stored.kid)
        if key is None:
            sealed = base64.b64decode(stored.sealed)
            raw = self._aead.decrypt(sealed[:12], sealed[12:], stored.kid.encode())
            key = Ed25519PrivateKey.from_private_bytes(raw)
            self._opened[stored.kid] = key
        return key

    def _new_key(self) -> StoredKey:
        private = Ed25519PrivateKey.generate()
        kid = secrets.token_urlsafe(12)
        raw = private.private_bytes(
            _RAW, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
        nonce = os.urandom(12)
        sealed = nonce + self._aead.encrypt(nonce, raw, kid.encode())
        return StoredKey(
            kid=kid,
            public=public_jwk(private, kid),
            sealed=base64.b64encode(sealed).decode(),
            created_ms=int(time.time() * 1000),
        )

    async def _call(self, awaitable: Any) -> Any:
        try:
            return await awaitable
        except redis_errors.RedisError as exc:
            raise StoreError(f"key set unavailable: {exc}") from exc


def public_jwk(private: Ed25519PrivateKey, kid: str) -> dict[str, str]:
    """The public half of ``private`` as a JWK (RFC 8037)."""
    raw = private.public_key().public_bytes(_RAW, serialization.PublicFormat.Raw)
    x = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": x,
        "kid": kid,
        "alg": ALGORITHM,
        "use": "sig",
    }


def jwks(keys: KeySet) -> dict[str, list[dict[str, str]]]:
    """The JSON Web Key Set document of ``keys``."""
    return {"keys": [k.public for k in keys.published()]}


def _derive(secret: bytes) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO)
    return hkdf.derive(secret)
