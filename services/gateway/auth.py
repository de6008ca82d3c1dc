"""Logins, tokens and sessions: who is calling the gateway."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway.channels.base import ProviderIdentity as LoginIdentity
from services.gateway.config import GatewaySettings
from services.gateway.models import Account, AuthSession, ProviderIdentity
from shared.clock import Clock
from shared.contracts.auth import Me, TokenPair
from shared.contracts.common import Channel
from shared.contracts.identity import Identity, Role
from shared.errors import Problem, Unauthorized
from shared.ids import new_id

_ALGORITHM = "HS256"
_AUDIENCE = "assured-tour"
_hasher = PasswordHasher()
# Verifying against this keeps an unknown username as slow as a wrong password.
_DUMMY_HASH = _hasher.hash("not-a-real-password")

SCOPES = {
    Role.consumer: ["complaints:own", "evaluations:own"],
    Role.merchant_staff: ["complaints:merchant", "responses:merchant"],
    Role.official: ["complaints:region", "actions:region", "reports:region"],
    Role.admin: ["complaints:all", "actions:all", "accounts:manage", "merchants:manage"],
}
PROVIDER_CHANNELS = {"wechat": Channel.wechat_miniprogram, "alipay": Channel.alipay_miniprogram,
                     "douyin": Channel.douyin, "kuaishou": Channel.kuaishou}


class InvalidCredentials(Unauthorized):
    code, title = "invalid_credentials", "Invalid credentials"


class InvalidToken(Unauthorized):
    code, title = "invalid_token", "Invalid or expired token"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def identity_of(account: Account) -> Identity:
    return Identity(subject=account.id, role=Role(account.role), region_code=account.region_code,
                    merchant_id=account.merchant_id, channel=account.channel, display_name=account.display_name)


def me_of(account: Account) -> Me:
    role = Role(account.role)
    return Me(id=account.id, role=role, display_name=account.display_name, region_code=account.region_code,
              merchant_id=account.merchant_id, channel=account.channel, scopes=SCOPES.get(role, []))


class OpenSessions:
    """Sessions this replica found open in the last `ttl` seconds, so that a burst of requests reads the
    session row once, not once each. A logout here forgets at once; one at another replica is seen
    here within `ttl` (the access token itself lives longer than that anyway). Bounded in size."""

    def __init__(self, ttl: float, size: int = 100_000) -> None:
        self.ttl = ttl
        self.size = size
        self._seen: OrderedDict[str, float] = OrderedDict()

    def fresh(self, session_id: str) -> bool:
        checked = self._seen.get(session_id)
        return checked is not None and time.monotonic() - checked < self.ttl

    def remember(self, session_id: str) -> None:
        if self.ttl <= 0:
            return
        self._seen[session_id] = time.monotonic()
        self._seen.move_to_end(session_id)
        while len(self._seen) > self.size:
            self._seen.popitem(last=False)

    def forget(self, session_id: str) -> None:
        self._seen.pop(session_id, None)


@dataclass
class Authenticator:
    session: AsyncSession
    settings: GatewaySettings
    clock: Clock
    open_sessions: OpenSessions | None = None

    async def login_consumer(self, login: LoginIdentity) -> TokenPair:
        """A mini-program user: their provider id maps to one account, created at first login."""
        now = self.clock.now()
        query = select(ProviderIdentity).where(ProviderIdentity.provider == login.provider,
                                               ProviderIdentity.external_id == login.external_id)
        link = (await self.session.execute(query)).scalar_one_or_none()
        if link is None:
            account = Account(id=new_id("usr"), role=Role.consumer.value, channel=PROVIDER_CHANNELS[login.provider],
                              display_name=None, disabled=False, created_at=now)
            self.session.add(account)
            self.session.add(ProviderIdentity(id=new_id("pid"), provider=login.provider,
                                              external_id=login.external_id, unionid=login.unionid,
                                              account_id=account.id, created_at=now))
            await self.session.flush()
        else:
            account = await self.session.get(Account, link.account_id)
            assert account is not None
        return await self._open_session(account)

    async def login_staff(self, username: str, password: str) -> TokenPair:
        account = (await self.session.execute(select(Account).where(Account.username == username))
                   ).scalar_one_or_none()
        try:
            _hasher.verify(account.password_hash if account and account.password_hash else _DUMMY_HASH, password)
            ok = account is not None
        except (VerificationError, InvalidHashError):
            ok = False
        if not ok or account is None or account.disabled:
            raise InvalidCredentials("The username or password is wrong.")
        return await self._open_session(account)

    async def _open_session(self, account: Account) -> TokenPair:
        if account.disabled:
            raise InvalidCredentials("This account is disabled.")
        now = self.clock.now()
        refresh = "rt_" + secrets.token_urlsafe(32)
        auth_session = AuthSession(id=new_id("ses"), account_id=account.id, refresh_hash=_digest(refresh),
                                   created_at=now, expires_at=now + timedelta(days=self.settings.refresh_token_days))
        self.session.add(auth_session)
        await self.session.flush()
        return self._tokens(account, auth_session, refresh)

    def _tokens(self, account: Account, auth_session: AuthSession, refresh: str) -> TokenPair:
        now = self.clock.now()
        ttl = timedelta(minutes=self.settings.access_token_minutes)
        claims = {"sub": account.id, "sid": auth_session.id, "aud": _AUDIENCE,
                  "iat": int(now.timestamp()), "exp": int((now + ttl).timestamp()),
                  **identity_of(account).model_dump(mode="json", exclude_none=True, exclude={"subject"})}
        access = jwt.encode(claims, self.settings.jwt_secret, algorithm=_ALGORITHM)
        return TokenPair(access_token=access, refresh_token=refresh, expires_in=int(ttl.total_seconds()),
                         account=me_of(account))

    async def refresh(self, refresh_token: str) -> TokenPair:
        """A new token pair for a live session; the old refresh token stops working."""
        now = self.clock.now()
        query = select(AuthSession).where(AuthSession.refresh_hash == _digest(refresh_token)).with_for_update()
        auth_session = (await self.session.execute(query)).scalar_one_or_none()
        if auth_session is None or auth_session.revoked_at is not None or auth_session.expires_at <= now:
            raise InvalidToken("The refresh token is not valid; log in again.")
        account = await self.session.get(Account, auth_session.account_id)
        if account is None or account.disabled:
            raise InvalidToken("The account is no longer active.")
        refresh = "rt_" + secrets.token_urlsafe(32)
        auth_session.refresh_hash = _digest(refresh)
        await self.session.flush()
        return self._tokens(account, auth_session, refresh)

    async def logout(self, session_id: str) -> None:
        if self.open_sessions is not None:
            self.open_sessions.forget(session_id)
        auth_session = await self.session.get(AuthSession, session_id)
        if auth_session is not None and auth_session.revoked_at is None:
            auth_session.revoked_at = self.clock.now()
            await self.session.flush()

    async def authenticate(self, bearer: str) -> tuple[Identity, str]:
        """The identity behind an access token, if its session is still open."""
        try:
            claims = jwt.decode(bearer, self.settings.jwt_secret, algorithms=[_ALGORITHM], audience=_AUDIENCE,
                                options={"verify_exp": False})
        except jwt.PyJWTError as exc:
            raise InvalidToken("The access token is not valid.") from exc
        if claims.get("exp", 0) < self.clock.now().timestamp():
            raise InvalidToken("The access token has expired; refresh it.", code="token_expired")
        session_id = str(claims.get("sid", ""))
        if self.open_sessions is None or not self.open_sessions.fresh(session_id):
            auth_session = await self.session.get(AuthSession, session_id)
            if auth_session is None or auth_session.revoked_at is not None:
                raise InvalidToken("This session has ended; log in again.", code="session_ended")
            if self.open_sessions is not None:
                self.open_sessions.remember(session_id)
        identity = Identity(subject=claims["sub"], role=claims["role"], region_code=claims.get("region_code"),
                            merchant_id=claims.get("merchant_id"), channel=claims.get("channel"),
                            display_name=claims.get("display_name"))
        return identity, session_id

    async def me(self, account_id: str) -> Me:
        account = await self.session.get(Account, account_id)
        if account is None:
            raise InvalidToken("The account no longer exists.")
        return me_of(account)


class StaffExists(Problem):
    status, code, title = 409, "username_taken", "Username taken"


async def create_staff(session: AsyncSession, clock: Clock, *, username: str, password: str, role: Role,
                       display_name: str | None = None, region_code: str | None = None,
                       merchant_id: str | None = None) -> Account:
    """A staff account: officials need a region, merchant staff a merchant."""
    if role == Role.official and not region_code:
        raise Problem("An official needs a region.", status=422, code="region_required")
    if role == Role.merchant_staff and not merchant_id:
        raise Problem("Merchant staff need a merchant.", status=422, code="merchant_required")
    if role not in (Role.official, Role.merchant_staff, Role.admin):
        raise Problem("Staff are officials, merchant staff or admins.", status=422, code="invalid_role")
    if (await session.execute(select(Account.id).where(Account.username == username))).first():
        raise StaffExists(f"The username {username} is taken.")
    account = Account(id=new_id("usr"), role=role.value, username=username, password_hash=hash_password(password),
                      display_name=display_name or username, region_code=region_code, merchant_id=merchant_id,
                      disabled=False, created_at=clock.now())
    session.add(account)
    await session.flush()
    return account
