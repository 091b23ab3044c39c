"""Admission tokens: the signed pass a released visitor shows the site.

A token is a JWT signed with EdDSA (Ed25519) under the keyring's current
key, its ``kid`` in the header. Claims: ``iss`` "vq", ``aud`` the target
origin, ``sub`` the session id, ``queue``, ``tenant``, ``iat`` (the time
of release), ``exp`` (release + the active session duration) and ``jti``.
The token is a pure function of the session's release and the key, so
polling again returns the same token and ``jti`` names one admission.

``verify`` needs only the public keys: the connector runs it offline.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

import jwt
from msgspec import Struct

from core.keyring import ALGORITHM, Keyring, KeySet

ISSUER = "vq"
ALGORITHMS = ["EdDSA", "ES256"]
LEEWAY_S = 5


class TokenRejected(Exception):
    """A token failed verification; ``reason`` is a short code."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class UnknownKey(TokenRejected):
    """The token names a key id the verifier does not know (yet)."""


class Admission(Struct, frozen=True, kw_only=True):
    """The verified claims of an admission token."""

    queue: str
    session: str
    tenant: str
    audience: str
    expires: int
    jti: str


class Release(Struct, frozen=True, kw_only=True):
    """What an admission is issued for."""

    queue: str
    session: str
    tenant: str
    audience: str  # the target origin, scheme://host[:port]
    released_s: int
    duration_s: int


def issue(keyring: Keyring, keys: KeySet, release: Release, secret: bytes) -> str:
    """The admission token of ``release``, signed with the current key."""
    claims = {
        "iss": ISSUER,
        "aud": release.audience,
        "sub": release.session,
        "queue": release.queue,
        "tenant": release.tenant,
        "iat": release.released_s,
        "exp": release.released_s + release.duration_s,
        "jti": _jti(secret, release),
    }
    private = keyring.private_key(keys.current)
    headers = {"kid": keys.current.kid}
    return jwt.encode(claims, private, algorithm=ALGORITHM, headers=headers)


def verify(
    token: str, public_keys: Mapping[str, Any], audience: str, now: float
) -> Admission:
    """The claims of ``token`` when it is signed by one of ``public_keys``
    (kid -> key object), meant for ``audience`` and not expired."""
    kid = _kid(token)
    key = public_keys.get(kid)
    if key is None:
        raise UnknownKey("unknown_kid", f"no public key with kid {kid!r}")
    claims = _decode(token, key, audience, now)
    return Admission(
        queue=claims["queue"],
        session=claims["sub"],
        tenant=claims["tenant"],
        audience=audience,
        expires=int(claims["exp"]),
        jti=claims["jti"],
    )


def public_keys(document: Mapping[str, Any]) -> dict[str, Any]:
    """kid -> verifying key for every usable key of a JWKS document."""
    found: dict[str, Any] = {}
    for entry in document.get("keys", []):
        try:
            found[entry["kid"]] = jwt.PyJWK(entry).key
        except (jwt.PyJWKError, KeyError, TypeError):
            continue
    return found


def _kid(token: str) -> str:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise TokenRejected("malformed", "not a JWT") from exc
    kid = header.get("kid")
    if not isinstance(kid, str):
        raise TokenRejected("malformed", "the token names no key id")
    return kid


def _decode(token: str, key: Any, audience: str, now: float) -> dict[str, Any]:
    options: Any = {
        "require": ["iss", "exp", "aud", "sub", "jti", "queue", "tenant"],
        "verify_exp": False,  # checked below against ``now``
        "verify_iat": False,
    }
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=ALGORITHMS,
            audience=audience,
            issuer=ISSUER,
            options=options,
        )
    except jwt.InvalidAudienceError as exc:
        raise TokenRejected("audience", "the token is for another site") from exc
    except jwt.PyJWTError as exc:
        raise TokenRejected("invalid", f"the token is invalid: {exc}") from exc
    if not isinstance(claims["exp"], int) or claims["exp"] + LEEWAY_S < now:
        raise TokenRejected("expired", "the token has expired")
    return claims


def _jti(secret: bytes, release: Release) -> str:
    message = f"jti\x00{release.queue}\x00{release.session}\x00{release.released_s}"
    digest = hmac.new(secret, message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")
