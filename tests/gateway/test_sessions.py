"""Sessions and the gateway's secrets: a token is good only for a session that exists and is open, a reused
refresh token ends its session, passwords are checked off the event loop, and each secret rotates alone."""

from __future__ import annotations

import threading
from typing import Any

import jwt
import pytest
from sqlalchemy import select

from services.gateway import auth as gateway_auth
from services.gateway.models import AuthSession, PartnerKey
from services.gateway.partners import Partners, partner_cipher
from shared.auth import issue_internal_token, verify_internal_token
from shared.clock import system_clock
from shared.contracts.identity import Role
from shared.errors import Unauthorized
from tests.conftest import SANYA, consumer
from tests.gateway.test_gateway import add_staff, bearer, wechat_login
from tests.support import JWT_SECRET, Stack


def forged(claims: dict[str, Any], secret: str = JWT_SECRET) -> dict[str, str]:
    """A token signed with the right key, whose session the attacker made up."""
    now = int(system_clock.now().timestamp())
    token = jwt.encode({"aud": "assured-tour", "iat": now, "exp": now + 600, **claims}, secret, algorithm="HS256")
    return {"Authorization": f"Bearer {token}"}


async def test_a_token_for_a_session_that_never_existed_is_refused_while_the_cache_is_fresh(stack: Stack) -> None:
    await add_staff(stack, "root", "root-pass-1234", Role.admin)
    tokens = (
        await stack.gateway.post("/v1/auth/staff/login", json={"username": "root", "password": "root-pass-1234"})
    ).json()
    assert (await stack.gateway.get("/v1/me", headers=bearer(tokens))).status_code == 200
    assert stack.apps["gateway"].state.sessions.current  # the replica asked which sessions ended: the fast path
    admin_id = tokens["account"]["id"]
    invented = forged({"sub": admin_id, "sid": "ses_01INVENTED0000000000000000", "role": "admin"})
    for path in ("/v1/me", "/v1/claims", "/v1/ledger/check"):
        refused = await stack.gateway.get(path, headers=invented)
        assert refused.status_code == 401 and refused.json()["code"] == "session_ended", (path, refused.text)
    # A real session of a consumer, claimed for the admin: the session is not the admin's.
    alice = await wechat_login(stack.gateway, "alice")
    alice_sid = jwt.decode(alice["access_token"], options={"verify_signature": False})["sid"]
    borrowed = forged({"sub": admin_id, "sid": alice_sid, "role": "admin"})
    assert (await stack.gateway.get("/v1/ledger/check", headers=borrowed)).status_code == 401
    assert (await stack.gateway.get("/v1/me", headers=bearer(alice))).status_code == 200


async def test_reusing_a_refresh_token_ends_the_session(stack: Stack) -> None:
    first = await wechat_login(stack.gateway, "mallory-victim")
    second = (await stack.gateway.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})).json()
    assert (await stack.gateway.get("/v1/me", headers=bearer(second))).status_code == 200
    stolen = await stack.gateway.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert stolen.status_code == 401 and stolen.json()["code"] == "refresh_token_reused"
    # Neither holder keeps the session: the legitimate one logs in again.
    after = await stack.gateway.get("/v1/me", headers=bearer(second))
    assert after.status_code == 401 and after.json()["code"] == "session_ended"
    renewed = await stack.gateway.post("/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert renewed.status_code == 401
    async with stack.apps["gateway"].state.sessionmaker() as session:
        ended = (
            await session.scalars(select(AuthSession).where(AuthSession.account_id == first["account"]["id"]))
        ).one()
    assert ended.revoked_at is not None and ended.end_reason == "refresh_reused"


async def test_passwords_are_checked_in_a_worker_thread(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    await add_staff(stack, "sanya", "sanya-pass-123", Role.official, region_code=SANYA)
    threads: list[threading.Thread] = []
    real_verify = gateway_auth._verify

    def verify(stored: str, password: str) -> bool:
        threads.append(threading.current_thread())
        return real_verify(stored, password)

    monkeypatch.setattr(gateway_auth, "_verify", verify)
    ok = await stack.gateway.post("/v1/auth/staff/login", json={"username": "sanya", "password": "sanya-pass-123"})
    assert ok.status_code == 200
    assert threads and all(t is not threading.main_thread() for t in threads)  # the event loop runs on main


async def test_partner_secrets_survive_a_jwt_rotation_and_rotate_with_their_own_keys(stack: Stack) -> None:
    app = stack.apps["gateway"]
    settings = app.state.settings.model_copy(update={"partner_secret_keys": "a" * 40})
    async with app.state.sessionmaker() as session:
        partner, key, secret = await Partners.of(session, settings).create("OTA", None)
        await session.commit()
    rotated_jwt = settings.model_copy(update={"jwt_secret": "another-jwt-secret-0123456789abcdef"})
    with_new_key = settings.model_copy(update={"partner_secret_keys": f"{'b' * 40},{'a' * 40}"})
    only_new_key = settings.model_copy(update={"partner_secret_keys": "b" * 40})
    async with app.state.sessionmaker() as session:
        stored = await session.get(PartnerKey, key.id)
        assert stored is not None and secret not in stored.secret_encrypted
        assert Partners.of(session, rotated_jwt).secret_of(stored) == secret  # the JWT secret plays no part
        assert Partners.of(session, with_new_key).secret_of(stored) == secret
        with pytest.raises(Exception):  # noqa: B017 - cryptography's InvalidToken: not readable without the key
            Partners.of(session, only_new_key).secret_of(stored)
        assert await Partners.of(session, with_new_key).reencrypt_all() >= 1
        await session.commit()
    async with app.state.sessionmaker() as session:
        stored = await session.get(PartnerKey, key.id)
        assert stored is not None and Partners.of(session, only_new_key).secret_of(stored) == secret
        # Secrets kept as releases before this one kept them (under the JWT secret) are read once, to move them.
        legacy = legacy_encrypted(settings.jwt_secret, "psk_legacy")
        assert partner_cipher(only_new_key, legacy_jwt_secret=settings.jwt_secret).decrypt(legacy) == b"psk_legacy"


def legacy_encrypted(jwt_secret: str, secret: str) -> bytes:
    import base64
    import hashlib

    from cryptography.fernet import Fernet

    key = base64.urlsafe_b64encode(hashlib.sha256(b"partner-keys:" + jwt_secret.encode()).digest())
    return Fernet(key).encrypt(secret.encode())


async def test_tokens_signed_before_a_rotation_are_accepted_only_while_the_previous_secret_is_set(stack: Stack) -> None:
    tokens = await wechat_login(stack.gateway, "rotating")
    app = stack.apps["gateway"]
    before = app.state.settings
    try:
        app.state.settings = before.model_copy(update={"jwt_secret": "n" * 40, "jwt_previous_secret": JWT_SECRET})
        assert (await stack.gateway.get("/v1/me", headers=bearer(tokens))).status_code == 200
        app.state.settings = before.model_copy(update={"jwt_secret": "n" * 40})
        refused = await stack.gateway.get("/v1/me", headers=bearer(tokens))
        assert refused.status_code == 401 and refused.json()["code"] == "invalid_token"
    finally:
        app.state.settings = before
    identity = consumer()
    old = issue_internal_token(identity, "o" * 40)
    assert verify_internal_token(old, "n" * 40, previous="o" * 40).subject == identity.subject
    with pytest.raises(Unauthorized):
        verify_internal_token(old, "n" * 40)
