"""Admission tokens: issued on release, verified against the JWKS,
refused when tampered, expired, for another site or of an unknown key;
redirect targets never leave the queue's allowed origins."""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest

from core.admission import Release, TokenRejected, UnknownKey, issue, public_keys
from core.admission import verify as verify_token
from core.engine import QueueEngine
from core.keyring import Keyring
from tests.edge.conftest import (
    SECRET,
    SITE_ORIGIN,
    MakeQueue,
    join,
    release_until_active,
)

AUDIENCE = "https://shop.example:443"


async def admitted(
    http: httpx.AsyncClient, engine: QueueEngine, queue_id: str
) -> tuple[str, dict[str, str]]:
    sid, auth = await join(http, queue_id)
    await release_until_active(engine, queue_id, sid)
    return sid, auth


async def jwks_keys(http: httpx.AsyncClient) -> dict[str, object]:
    return public_keys((await http.get("/.well-known/jwks.json")).json())


async def test_a_released_visitor_gets_a_token_and_redirect(
    http: httpx.AsyncClient, make_queue: MakeQueue, engine: QueueEngine
) -> None:
    """Status with a target, once active, carries a signed admission."""
    queue_id = await make_queue(session_duration_s=600)
    sid, auth = await admitted(http, engine, queue_id)
    target = f"{SITE_ORIGIN}/checkout?step=1"

    answer = await http.get(
        f"/v1/queues/{queue_id}/sessions/{sid}", headers=auth, params={"target": target}
    )

    status = answer.json()
    assert status["state"] == "active"
    token = status["admission"]["token"]
    redirect = urlsplit(status["admission"]["redirect"])
    assert redirect.netloc == "shop.example"
    assert parse_qs(redirect.query) == {"step": ["1"], "vq_token": [token]}
    claims = verify_token(token, await jwks_keys(http), AUDIENCE, time.time())
    assert (claims.queue, claims.session, claims.tenant) == (queue_id, sid, "shop")
    assert 590 <= claims.expires - time.time() <= 600


async def test_the_admission_endpoint_and_its_header(
    http: httpx.AsyncClient, make_queue: MakeQueue, engine: QueueEngine
) -> None:
    """The dedicated call returns the token; its header names the kid."""
    queue_id = await make_queue()
    sid, auth = await admitted(http, engine, queue_id)

    answer = await http.post(
        f"/v1/queues/{queue_id}/sessions/{sid}/admission",
        headers=auth,
        json={"target": SITE_ORIGIN + "/"},
    )

    token = answer.json()["token"]
    header = jwt.get_unverified_header(token)
    published = {
        k["kid"] for k in (await http.get("/.well-known/jwks.json")).json()["keys"]
    }
    assert header["alg"] == "EdDSA"
    assert header["kid"] in published
    payload = jwt.decode(token, options={"verify_signature": False})
    assert {"jti", "exp", "iat", "aud", "sub", "queue", "tenant"} <= set(payload)


async def test_no_admission_before_the_release(
    http: httpx.AsyncClient, make_queue: MakeQueue
) -> None:
    """A waiting visitor asking for admission gets 409."""
    queue_id = await make_queue()
    sid, auth = await join(http, queue_id)

    answer = await http.post(
        f"/v1/queues/{queue_id}/sessions/{sid}/admission",
        headers=auth,
        json={"target": SITE_ORIGIN},
    )

    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "not_admitted"


OPEN_REDIRECTS = [
    "//evil.com",
    "//evil.com/path",
    "https://evil.com",
    "https://evil.com@shop.example",
    "https://shop.example@evil.com",
    "https://shop.example.evil.com/",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(document.cookie)",
    "data:text/html,<script>alert(1)</script>",
    "https:\\\\evil.com",
    "https://shop.example\\@evil.com",
    "/\\evil.com",
    "https://shop.example:8443/",
    "http://shop.example/",
    "ftp://shop.example/",
    "https:/shop.example/",
    "https://shop.example\t.evil.com/",
    " https://shop.example/",
    "/relative/path",
    "",
]


@pytest.mark.parametrize("target", OPEN_REDIRECTS)
async def test_open_redirect_attempts_are_refused(
    http: httpx.AsyncClient,
    make_queue: MakeQueue,
    engine: QueueEngine,
    target: str,
) -> None:
    """Targets outside the allowed origins get no token and no page."""
    queue_id = await make_queue()
    sid, auth = await admitted(http, engine, queue_id)

    admission = await http.post(
        f"/v1/queues/{queue_id}/sessions/{sid}/admission",
        headers=auth,
        json={"target": target},
    )
    page = await http.get(f"/w/{queue_id}", params={"target": target})

    assert admission.status_code in (400, 422)
    assert "token" not in admission.text
    assert page.status_code == 400


async def test_a_queue_without_origins_refuses_every_target(
    http: httpx.AsyncClient, make_queue: MakeQueue, engine: QueueEngine
) -> None:
    """No allowed origin configured means no redirect at all."""
    from edge.site import QueueSite

    queue_id = await make_queue(site=QueueSite(tenant_name="Bare"))
    sid, auth = await admitted(http, engine, queue_id)

    answer = await http.post(
        f"/v1/queues/{queue_id}/sessions/{sid}/admission",
        headers=auth,
        json={"target": SITE_ORIGIN + "/"},
    )

    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "target_not_allowed"


def sample_release(**changes: object) -> Release:
    values: dict[str, object] = {
        "queue": "sale",
        "session": "AAAAAAAAAAAA",
        "tenant": "shop",
        "audience": AUDIENCE,
        "released_s": int(time.time()),
        "duration_s": 300,
        **changes,
    }
    return Release(**values)  # type: ignore[arg-type]


async def signed(keyring: Keyring, **changes: object) -> tuple[str, dict[str, object]]:
    keys = await keyring.load()
    token = issue(keyring, keys, sample_release(**changes), SECRET)
    from core.keyring import jwks

    return token, public_keys(jwks(keys))


@pytest.fixture
def keyring(engine: QueueEngine, key_prefix: str) -> Keyring:
    return Keyring(engine.client, secret=SECRET, prefix=key_prefix)


async def test_a_good_token_verifies(keyring: Keyring) -> None:
    """The control case: a fresh token for the audience verifies."""
    token, keys = await signed(keyring)

    assert verify_token(token, keys, AUDIENCE, time.time()).tenant == "shop"


async def test_a_tampered_token_is_refused(keyring: Keyring) -> None:
    """Changing one claim breaks the signature."""
    token, keys = await signed(keyring)
    head, payload, signature = token.split(".")
    claims = jwt.utils.base64url_decode(payload).replace(b'"shop"', b'"evil"')
    forged = f"{head}.{jwt.utils.base64url_encode(claims).decode()}.{signature}"

    with pytest.raises(TokenRejected) as caught:
        verify_token(forged, keys, AUDIENCE, time.time())
    assert caught.value.reason == "invalid"


async def test_an_expired_token_is_refused(keyring: Keyring) -> None:
    """A token past its session duration is refused."""
    token, keys = await signed(keyring, released_s=int(time.time()) - 400)

    with pytest.raises(TokenRejected) as caught:
        verify_token(token, keys, AUDIENCE, time.time())
    assert caught.value.reason == "expired"


async def test_a_token_for_another_site_is_refused(keyring: Keyring) -> None:
    """The audience must be the verifying site's origin."""
    token, keys = await signed(keyring, audience="https://other.example:443")

    with pytest.raises(TokenRejected) as caught:
        verify_token(token, keys, AUDIENCE, time.time())
    assert caught.value.reason == "audience"


async def test_a_token_of_an_unknown_key_is_refused(keyring: Keyring) -> None:
    """A kid missing from the key set is reported as unknown."""
    token, _ = await signed(keyring)

    with pytest.raises(UnknownKey):
        verify_token(token, {}, AUDIENCE, time.time())


async def test_an_unsigned_token_is_refused(keyring: Keyring) -> None:
    """alg=none never passes, whatever its claims."""
    _, keys = await signed(keyring)
    kid = next(iter(keys))
    payload = {"iss": "vq", "aud": AUDIENCE, "exp": int(time.time()) + 60}
    header = jwt.utils.base64url_encode(
        json.dumps({"alg": "none", "kid": kid}).encode()
    )
    body = jwt.utils.base64url_encode(json.dumps(payload).encode())
    forged = f"{header.decode()}.{body.decode()}."

    with pytest.raises(TokenRejected):
        verify_token(forged, keys, AUDIENCE, time.time())


async def test_rotation_publishes_the_previous_key_for_overlap(
    http: httpx.AsyncClient, keyring: Keyring
) -> None:
    """After a rotation, next is current, and the old current stays
    published so tokens already issued keep verifying."""
    before = await keyring.load()
    token = issue(keyring, before, sample_release(), SECRET)

    after = await keyring.rotate()

    assert after.current.kid == before.next.kid
    assert after.previous is not None
    assert after.previous.kid == before.current.kid
    assert after.next.kid not in {before.current.kid, before.next.kid}
    from core.keyring import jwks

    keys = public_keys(jwks(after))
    assert verify_token(token, keys, AUDIENCE, time.time()).tenant == "shop"


async def test_private_keys_are_stored_encrypted(
    keyring: Keyring, engine: QueueEngine, key_prefix: str
) -> None:
    """The stored key set holds no raw private key; another secret
    cannot open it."""
    keys = await keyring.load()
    stranger = Keyring(
        engine.client, secret=b"another-secret-of-32-bytes-long!", prefix=key_prefix
    )

    from cryptography.exceptions import InvalidTag

    with pytest.raises(InvalidTag):
        stranger.private_key(keys.current)
    assert keyring.private_key(keys.current) is not None
