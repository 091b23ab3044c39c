"""Sign-in, refresh rotation, sign-out, lockout, TOTP and API keys."""

from __future__ import annotations

import time

import asyncpg
import httpx
import pyotp

from tests.admin.conftest import PASSWORD, World, add_user, bearer, ok


async def login(http: httpx.AsyncClient, email: str, **extra: str) -> httpx.Response:
    return await http.post(
        "/auth/login", json={"email": email, "password": PASSWORD, **extra}
    )


async def test_login_answers_a_token_pair_that_opens_the_api(
    http: httpx.AsyncClient, world: World
) -> None:
    """/auth/login answers accessToken, refreshToken and expiresIn 900; the
    access token names the user, their role and tenant."""
    pair = ok(await login(http, world.a.manager_email))
    assert pair["expiresIn"] == 900
    me = ok(await http.get("/auth/me", headers=bearer(pair["accessToken"])))
    assert me == {
        "subject": f"user:{world.a.manager_id}",
        "role": "manager",
        "tenantId": world.a.id,
    }


async def test_refresh_rotates_and_a_reused_token_ends_the_family(
    http: httpx.AsyncClient, world: World
) -> None:
    """Each refresh spends its token; showing a spent one again revokes
    every token of its family, the newest included."""
    first = ok(await login(http, world.a.staff_email))["refreshToken"]
    second = ok(await http.post("/auth/refresh", json={"refreshToken": first}))
    reuse = await http.post("/auth/refresh", json={"refreshToken": first})
    assert reuse.status_code == 401
    after = await http.post(
        "/auth/refresh", json={"refreshToken": second["refreshToken"]}
    )
    assert after.status_code == 401


async def test_logout_ends_the_refresh_token(
    http: httpx.AsyncClient, world: World
) -> None:
    """After /auth/logout the refresh token no longer refreshes."""
    token = ok(await login(http, world.a.staff_email))["refreshToken"]
    ok(await http.post("/auth/logout", json={"refreshToken": token}), 204)
    answer = await http.post("/auth/refresh", json={"refreshToken": token})
    assert answer.status_code == 401


async def test_repeated_failures_lock_the_account(
    http: httpx.AsyncClient, system_pool: asyncpg.Pool
) -> None:
    """After three wrong passwords the account refuses even the right one
    with 429 and Retry-After; an unknown email gets the wrong-password 401."""
    _, email = await add_user(system_pool, None, "admin")
    for _ in range(3):
        wrong = await http.post("/auth/login", json={"email": email, "password": "x"})
        assert wrong.json()["error"]["code"] == "invalid_credentials"
    locked = await login(http, email)
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) >= 1
    unknown = await login(http, "nobody-at-all@example.com")
    assert unknown.status_code == 401
    assert unknown.json()["error"]["code"] == "invalid_credentials"


async def test_totp_enrolled_user_needs_a_fresh_code(
    http: httpx.AsyncClient, world: World
) -> None:
    """Once TOTP is confirmed, sign-in needs a code, and a code used once
    is refused the second time."""
    headers = world.headers("manager")
    enrolment = ok(await http.post("/auth/totp", headers=headers), 201)
    totp = pyotp.TOTP(enrolment["secret"])
    ok(
        await http.post(
            "/auth/totp/confirm", json={"code": totp.now()}, headers=headers
        ),
        204,
    )

    missing = await login(http, world.a.manager_email)
    assert missing.json()["error"]["code"] == "totp_required"
    # The confirmation used the current step: the next code signs in once.
    code = totp.at(time.time() + totp.interval)
    ok(await login(http, world.a.manager_email, totpCode=code))
    replay = await login(http, world.a.manager_email, totpCode=code)
    assert replay.json()["error"]["code"] == "invalid_totp"


async def test_api_keys_work_until_revoked_and_are_never_shown_again(
    http: httpx.AsyncClient, world: World
) -> None:
    """A key opens its tenant's API; listings never show its secret; a
    revoked key gets 401."""
    headers = world.headers("manager")
    made = ok(
        await http.post(
            f"/v1/tenants/{world.a.id}/api-keys",
            json={"name": "kiosk", "role": "staff", "queueIds": world.a.queues[:1]},
            headers=headers,
        ),
        201,
    )
    key = made["key"]
    ok(await http.get(f"/v1/tenants/{world.a.id}/queues", headers=bearer(key)))
    listed = (
        await http.get(f"/v1/tenants/{world.a.id}/api-keys", headers=headers)
    ).text
    secret = key.split("_", 2)[2]  # vqk_<id>_<secret>; the secret may hold "_"
    assert secret not in listed
    path = f"/v1/tenants/{world.a.id}/api-keys/{made['apiKey']['id']}"
    ok(await http.delete(path, headers=headers), 204)
    answer = await http.get(f"/v1/tenants/{world.a.id}/queues", headers=bearer(key))
    assert answer.status_code == 401


async def test_suspended_tenants_users_are_refused(
    http: httpx.AsyncClient, world: World
) -> None:
    """After an admin suspends a tenant its users cannot sign in."""
    ok(
        await http.post(
            f"/v1/tenants/{world.a.id}/suspend", headers=world.headers("admin")
        )
    )
    answer = await login(http, world.a.staff_email)
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "tenant_suspended"
