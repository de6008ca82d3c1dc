"""Logins, tokens and sessions: who is calling the gateway."""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
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


log = logging.getLogger("gateway.auth")


class EndedSessions:
    """The sessions that ended lately (a logout, here or at another replica), as this replica knows.

    Instead of reading each request's session, a replica asks every `interval` seconds, in one indexed
    query, which sessions ended since it last asked, and keeps those of the last access-token lifetime
    (an older ending no unexpired access token can carry). A logout here counts at once; one at
    another replica within `interval`. Until the first answer, or when the database has not answered
    for three intervals, each request reads its session as before. `interval` 0: always read it.
    """

    OVERLAP = timedelta(seconds=60)  # asked again each time: endings committed late are still seen

    def __init__(self, interval: float, horizon: timedelta) -> None:
        self.interval = interval
        self.horizon = horizon
        self._ended: dict[str, datetime] = {}
        self._asked_at: float | None = None  # monotonic time of the last answer
        self._up_to: datetime | None = None  # what that answer covered
        self._asking = False

    @property
    def current(self) -> bool:
        return (self.interval > 0 and self._asked_at is not None
                and time.monotonic() - self._asked_at < 3 * self.interval)

    def ended(self, session_id: str) -> bool:
        return session_id in self._ended

    def end(self, session_id: str, at: datetime) -> None:
        self._ended[session_id] = at

    async def refresh(self, session: AsyncSession, now: datetime) -> None:
        """Ask the database, when the last answer is older than the interval (one request asks at a time)."""
        if self.interval <= 0 or self._asking or (
                self._asked_at is not None and time.monotonic() - self._asked_at < self.interval):
            return
        self._asking = True
        try:
            since = (self._up_to or now - self.horizon) - self.OVERLAP
            rows = await session.execute(select(AuthSession.id, AuthSession.revoked_at)
                                         .where(AuthSession.revoked_at >= since))
            for session_id, at in rows.all():
                self._ended[session_id] = at
            forget_before = now - self.horizon - self.OVERLAP
            self._ended = {sid: at for sid, at in self._ended.items() if at >= forget_before}
            self._up_to, self._asked_at = now, time.monotonic()
        except (OperationalError, InterfaceError, DBAPIError, PoolTimeout) as exc:
            log.warning("ended sessions not read (%s): requests read their own session meanwhile",
                        type(exc).__name__)
        finally:
            self._asking = False


@dataclass
class Authenticator:
    session: AsyncSession
    settings: GatewaySettings
    clock: Clock
    ended_sessions: EndedSessions | None = None

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
        now = self.clock.now()
        if self.ended_sessions is not None:
            self.ended_sessions.end(session_id, now)
        auth_session = await self.session.get(AuthSession, session_id)
        if auth_session is not None and auth_session.revoked_at is None:
            auth_session.revoked_at = now
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
        ended = self.ended_sessions
        if ended is not None:
            await ended.refresh(self.session, self.clock.now())
        if ended is not None and ended.current:
            if ended.ended(session_id):
                raise InvalidToken("This session has ended; log in again.", code="session_ended")
        else:
            auth_session = await self.session.get(AuthSession, session_id)
            if auth_session is None or auth_session.revoked_at is not None:
                raise InvalidToken("This session has ended; log in again.", code="session_ended")
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
