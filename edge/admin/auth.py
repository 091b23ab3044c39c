"""Sign-in, token refresh, sign-out and the TOTP second factor.

Sign-in is slow on purpose where it must be (Argon2id, run off the event
loop) and refuses fast where it can: an account locked by repeated
failures answers 429 with Retry-After before any hash is checked. An
unknown email costs the same hash check as a wrong password. Refresh
tokens rotate on every use; a spent one shown again ends its family.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import math
import time
import uuid
from datetime import UTC, datetime, timedelta

import pyotp
from starlette.responses import Response

from core.passwords import hash_password, lock_after, needs_rehash, verify_password
from edge.admin import schemas
from edge.admin.context import Admin
from edge.admin.operations import Call, Operation
from edge.admin.permissions import Action
from edge.admin.tokens import (
    ACCESS_TTL_S,
    REFRESH_TTL_S,
    Principal,
    digest,
    new_family,
    new_refresh_token,
)
from edge.errors import ApiError
from edge.responses import no_content
from persistence import refresh_tokens, users

logger = logging.getLogger(__name__)

TOTP_ISSUER = "Virtual queue"
TOTP_WINDOW = 1  # codes of the previous and next 30 s step pass too
_REFRESH_TTL = timedelta(seconds=REFRESH_TTL_S)


async def login(call: Call) -> schemas.TokenPair:
    body: schemas.LoginRequest = call.body
    admin = call.admin
    state = await users.sign_in_state(admin.system_pool, body.email)
    if state is not None:
        _refuse_if_locked(state.locked_until)

    stored = state.password_hash if state is not None else None
    good = await asyncio.to_thread(verify_password, stored, body.password)
    if state is None or not good or state.user.disabled:
        if state is not None:
            await _failed(admin, state)
        raise _bad_credentials()
    if state.tenant_status == "suspended":
        raise ApiError(403, "tenant_suspended", "this tenant is suspended")
    if state.user.totp_enabled:
        await _second_factor(admin, state, body.totp_code)

    rehash = None
    if needs_rehash(state.password_hash):
        rehash = await asyncio.to_thread(hash_password, body.password)
    await users.record_success(admin.system_pool, state.user.id, rehash)
    logger.info("signed in user=%d role=%s", state.user.id, state.user.role)
    return await _token_pair(admin, state.user, new_family())


async def refresh(call: Call) -> schemas.TokenPair:
    body: schemas.RefreshRequest = call.body
    admin = call.admin
    spent = await refresh_tokens.spend(admin.system_pool, digest(body.refresh_token))
    if spent is None:
        raise ApiError(401, "invalid_refresh_token", "sign in again")
    state = await users.sign_in_state_by_id(admin.system_pool, spent.user_id)
    if state is None or state.user.disabled:
        raise ApiError(401, "invalid_refresh_token", "sign in again")
    if state.tenant_status == "suspended":
        raise ApiError(403, "tenant_suspended", "this tenant is suspended")
    return await _token_pair(admin, state.user, spent.family)


async def logout(call: Call) -> Response:
    """Ends the refresh token's family; unknown tokens answer the same."""
    body: schemas.RefreshRequest = call.body
    await refresh_tokens.revoke(call.admin.system_pool, digest(body.refresh_token))
    return no_content()


async def me(call: Call) -> schemas.Me:
    who = call.who
    return schemas.Me(subject=who.subject, role=who.role, tenant_id=who.tenant_id)


async def totp_enrol(call: Call) -> schemas.TotpEnrolment:
    """A new TOTP secret, enabled once a code from it is confirmed."""
    user_id = _user_id(call.who)
    state = await users.sign_in_state_by_id(call.admin.system_pool, user_id)
    assert state is not None
    if state.user.totp_enabled:
        raise ApiError(409, "totp_enabled", "a second factor is enrolled already")
    secret = pyotp.random_base32()
    sealed = call.admin.sealer.seal(secret, f"user:{user_id}")
    await users.set_totp(call.admin.system_pool, user_id, sealed, enabled=False)
    uri = pyotp.TOTP(secret).provisioning_uri(
        name=state.user.email, issuer_name=TOTP_ISSUER
    )
    return schemas.TotpEnrolment(secret=secret, uri=uri)


async def totp_confirm(call: Call) -> Response:
    body: schemas.TotpConfirm = call.body
    user_id = _user_id(call.who)
    admin = call.admin
    state = await users.sign_in_state_by_id(admin.system_pool, user_id)
    assert state is not None
    if state.totp_secret is None or state.user.totp_enabled:
        raise ApiError(409, "totp_not_pending", "enrol a second factor first")
    step = _matching_step(admin, state.totp_secret, user_id, body.code)
    if step is None:
        raise ApiError(422, "invalid_totp", "wrong code", "code")
    await users.set_totp(admin.system_pool, user_id, state.totp_secret, enabled=True)
    await users.use_totp_step(admin.system_pool, user_id, step)
    logger.info("totp enabled user=%d", user_id)
    return no_content()


async def _second_factor(admin: Admin, state: users.SignIn, code: str | None) -> None:
    if code is None:
        raise ApiError(401, "totp_required", "send the code as totpCode", "totpCode")
    assert state.totp_secret is not None
    step = _matching_step(admin, state.totp_secret, state.user.id, code)
    fresh = step is not None and await users.use_totp_step(
        admin.system_pool, state.user.id, step
    )
    if not fresh:
        await _failed(admin, state)
        raise ApiError(401, "invalid_totp", "wrong or used code", "totpCode")


def _matching_step(admin: Admin, sealed: bytes, user_id: int, code: str) -> int | None:
    """The time step whose code is ``code`` (constant-time checks)."""
    totp = pyotp.TOTP(admin.sealer.open(sealed, f"user:{user_id}"))
    now = time.time()
    found = None
    for offset in range(-TOTP_WINDOW, TOTP_WINDOW + 1):
        at = now + offset * totp.interval
        if hmac.compare_digest(totp.at(at).encode(), code.encode()):
            found = totp.timecode(datetime.fromtimestamp(at, UTC))
    return found


async def _failed(admin: Admin, state: users.SignIn) -> None:
    lock = lock_after(state.failed_logins + 1)
    count = await users.record_failure(admin.system_pool, state.user.id, lock)
    logger.warning("sign-in failed user=%d failures=%d", state.user.id, count)


def _refuse_if_locked(locked_until: datetime | None) -> None:
    if locked_until is None:
        return
    wait = (locked_until - datetime.now(UTC)).total_seconds()
    if wait > 0:
        raise ApiError(
            429,
            "login_locked",
            "too many failed sign-ins; try again later",
            headers={"Retry-After": str(math.ceil(wait))},
        )


async def _token_pair(
    admin: Admin, user: users.UserRecord, family: uuid.UUID
) -> schemas.TokenPair:
    principal = Principal(
        subject=f"user:{user.id}",
        role="admin" if user.role == "admin" else _tenant_role(user.role),
        tenant_id=user.tenant_id,
    )
    token = new_refresh_token()
    await refresh_tokens.store(
        admin.system_pool,
        user.id,
        family,
        digest(token),
        _REFRESH_TTL,
    )
    return schemas.TokenPair(
        access_token=admin.tokens.issue(principal),
        refresh_token=token,
        expires_in=ACCESS_TTL_S,
    )


def _tenant_role(role: str) -> schemas.Role:
    return "manager" if role == "manager" else "staff"


def _user_id(principal: Principal) -> int:
    if principal.user_id is None:
        raise ApiError(403, "users_only", "API keys have no second factor")
    return principal.user_id


def _bad_credentials() -> ApiError:
    return ApiError(401, "invalid_credentials", "wrong email or password")


OPERATIONS = [
    Operation(
        "POST",
        "/auth/login",
        login,
        "Sign in",
        None,
        body=schemas.LoginRequest,
        answer=schemas.TokenPair,
        tag="auth",
    ),
    Operation(
        "POST",
        "/auth/refresh",
        refresh,
        "Trade a refresh token for new tokens",
        None,
        body=schemas.RefreshRequest,
        answer=schemas.TokenPair,
        tag="auth",
    ),
    Operation(
        "POST",
        "/auth/logout",
        logout,
        "End the session of a refresh token",
        None,
        body=schemas.RefreshRequest,
        tag="auth",
    ),
    Operation(
        "GET",
        "/auth/me",
        me,
        "Who the credentials name",
        Action.SELF,
        answer=schemas.Me,
        tag="auth",
    ),
    Operation(
        "POST",
        "/auth/totp",
        totp_enrol,
        "Enrol a TOTP second factor",
        Action.SELF,
        answer=schemas.TotpEnrolment,
        status=201,
        tag="auth",
    ),
    Operation(
        "POST",
        "/auth/totp/confirm",
        totp_confirm,
        "Enable the enrolled second factor with a code",
        Action.SELF,
        body=schemas.TotpConfirm,
        tag="auth",
    ),
]
