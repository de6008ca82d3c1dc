"""Logins, tokens and sessions: who is calling the gateway."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway.config import GatewaySettings
from services.gateway.errors import (
    InvalidCredentials,
    InvalidRole,
    InvalidToken,
    LoginLocked,
    MerchantRequired,
    RefreshTokenReused,
    RegionRequired,
    SessionEnded,
    StaffExists,
    TokenExpired,
)
from services.gateway.logins.base import ProviderIdentity as LoginIdentity
from services.gateway.logins.registry import channel_of
from services.gateway.models import (
    Account,
    AuthSession,
    LoginAudit,
    LoginThrottle,
    ProviderIdentity,
    UsedRefreshToken,
)
from shared.clock import Clock
from shared.contracts.auth import Me, TokenPair
from shared.contracts.common import Channel
from shared.contracts.identity import Identity, Role
from shared.divisions import divisions
from shared.errors import UnknownRegion
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


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _verify(stored: str, password: str) -> bool:
    try:
        return bool(_hasher.verify(stored, password))
    except (VerificationError, InvalidHashError):
        return False


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def identity_of(account: Account) -> Identity:
    return Identity(
        subject=account.id,
        role=Role(account.role),
        region_code=account.region_code,
        merchant_id=account.merchant_id,
        channel=Channel(account.channel) if account.channel is not None else None,
        display_name=account.display_name,
    )


def me_of(account: Account) -> Me:
    role = Role(account.role)
    return Me(
        id=account.id,
        role=role,
        display_name=account.display_name,
        region_code=account.region_code,
        merchant_id=account.merchant_id,
        channel=Channel(account.channel) if account.channel is not None else None,
        scopes=SCOPES.get(role, []),
    )


log = logging.getLogger("gateway.auth")


class SessionCache:
    """Which sessions this replica knows to be open, and which ended lately (a logout, a reused refresh token,
    here or at another replica).

    A token is honoured only for a session that exists and is open: the first time a replica meets a session
    it reads it (one indexed lookup), then remembers it as open. Instead of reading each request's session,
    the replica asks every `interval` seconds, in one indexed query, which sessions ended since it last asked,
    and keeps those of the last access-token lifetime (an older ending no unexpired access token can carry).
    An ending here counts at once; one at another replica within `interval`. Until the first answer, or when
    the database has not answered for three intervals, each request reads its session. `interval` 0: always.
    """

    OVERLAP = timedelta(seconds=60)  # asked again each time: endings committed late are still seen

    def __init__(self, interval: float, horizon: timedelta, max_open: int = 100_000) -> None:
        self.interval = interval
        self.horizon = horizon
        self.max_open = max_open
        self._open: OrderedDict[str, tuple[str, datetime]] = OrderedDict()  # session id -> (account, expiry)
        self._ended: dict[str, datetime] = {}
        self._asked_at: float | None = None  # monotonic time of the last answer
        self._up_to: datetime | None = None  # what that answer covered
        self._asking = False

    @property
    def current(self) -> bool:
        return (
            self.interval > 0 and self._asked_at is not None and time.monotonic() - self._asked_at < 3 * self.interval
        )

    def ended(self, session_id: str) -> bool:
        return session_id in self._ended

    def known_open(self, session_id: str, account_id: str, now: datetime) -> bool:
        known = self._open.get(session_id)
        return known is not None and known[0] == account_id and known[1] > now and session_id not in self._ended

    def opened(self, session: AuthSession) -> None:
        self._open[session.id] = (session.account_id, session.expires_at)
        self._open.move_to_end(session.id)
        while len(self._open) > self.max_open:
            self._open.popitem(last=False)

    def end(self, session_id: str, at: datetime) -> None:
        self._ended[session_id] = at
        self._open.pop(session_id, None)

    async def refresh(self, session: AsyncSession, now: datetime) -> None:
        """Ask the database, when the last answer is older than the interval (one request asks at a time)."""
        if (
            self.interval <= 0
            or self._asking
            or (self._asked_at is not None and time.monotonic() - self._asked_at < self.interval)
        ):
            return
        self._asking = True
        try:
            since = (self._up_to or now - self.horizon) - self.OVERLAP
            rows = await session.execute(
                select(AuthSession.id, AuthSession.revoked_at).where(AuthSession.revoked_at >= since)
            )
            for session_id, at in rows.all():
                if at is not None:  # the query asked for revoked ones only
                    self.end(session_id, at)
            forget_before = now - self.horizon - self.OVERLAP
            self._ended = {sid: at for sid, at in self._ended.items() if at >= forget_before}
            self._up_to, self._asked_at = now, time.monotonic()
        except (OperationalError, InterfaceError, DBAPIError, PoolTimeout) as exc:
            log.warning("ended sessions not read (%s): requests read their own session meanwhile", type(exc).__name__)
        finally:
            self._asking = False


@dataclass
class Authenticator:
    session: AsyncSession
    settings: GatewaySettings
    clock: Clock
    sessions: SessionCache | None = None

    async def login_consumer(self, login: LoginIdentity) -> TokenPair:
        """A mini-program user: their provider id maps to one account, created at first login."""
        now = self.clock.now()
        query = select(ProviderIdentity).where(
            ProviderIdentity.provider == login.provider, ProviderIdentity.external_id == login.external_id
        )
        link = (await self.session.execute(query)).scalar_one_or_none()
        account: Account | None
        if link is None:
            account = Account(
                id=new_id("usr"),
                role=Role.consumer.value,
                channel=channel_of(login.provider),
                display_name=None,
                disabled=False,
                created_at=now,
            )
            self.session.add(account)
            self.session.add(
                ProviderIdentity(
                    id=new_id("pid"),
                    provider=login.provider,
                    external_id=login.external_id,
                    unionid=login.unionid,
                    account_id=account.id,
                    created_at=now,
                )
            )
            await self.session.flush()
        else:
            account = await self.session.get(Account, link.account_id)
            assert account is not None
        return await self._open_session(account)

    async def login_staff(self, username: str, password: str, client_ip: str | None = None) -> TokenPair:
        """A password login, throttled per username across replicas: after `login_free_failures` wrong
        passwords each further one locks the username for twice as long as the last (from
        `login_delay_seconds` up to `login_lock_minutes`); while locked, no password is even checked. Every
        failure is audited; a success or an admin's unlock clears the count."""
        now = self.clock.now()
        key = username[:64]
        throttle = await self.session.get(LoginThrottle, key)
        if throttle is not None and throttle.locked_until is not None and throttle.locked_until > now:
            self._audit(key, None, "refused_locked", client_ip)
            await self.session.commit()
            raise LoginLocked.until(throttle.locked_until, now)
        account = (await self.session.execute(select(Account).where(Account.username == username))).scalar_one_or_none()
        stored = account.password_hash if account and account.password_hash else _DUMMY_HASH
        ok = await asyncio.to_thread(_verify, stored, password) and account is not None  # off the event loop
        if not ok or account is None or account.disabled:
            await self._failed(key, account, client_ip, now)
            raise InvalidCredentials("The username or password is wrong.")
        if throttle is not None and throttle.failures:
            throttle.failures, throttle.locked_until = 0, None
        self._audit(key, account.id, "succeeded", client_ip)
        return await self._open_session(account)

    async def _failed(self, username: str, account: Account | None, client_ip: str | None, now: datetime) -> None:
        """Count a failure for the username (one row per username, counted in the database, so that replicas
        count together), lock it when due, audit it, and commit: the request itself is refused."""
        counted = await self.session.execute(
            update(LoginThrottle)
            .where(LoginThrottle.username == username)
            .values(failures=LoginThrottle.failures + 1, last_failure_at=now)
            .returning(LoginThrottle.failures)
        )
        failures = counted.scalar_one_or_none()
        if failures is None:
            self.session.add(LoginThrottle(username=username, failures=1, last_failure_at=now))
            failures = 1
        self._audit(username, account.id if account else None, "failed", client_ip)
        settings = self.settings
        over = failures - settings.login_free_failures
        if over >= 0:
            seconds = min(settings.login_delay_seconds * 2**over, settings.login_lock_minutes * 60)
            await self.session.execute(
                update(LoginThrottle)
                .where(LoginThrottle.username == username)
                .values(locked_until=now + timedelta(seconds=seconds))
            )
            self._audit(username, account.id if account else None, "locked", client_ip)
            log.warning("staff login %s locked for %d s after %d failures", username, seconds, failures)
        try:
            await self.session.commit()
        except IntegrityError:  # another replica counted this username's first failure at the same moment
            await self.session.rollback()

    def _audit(
        self, username: str, account_id: str | None, event: str, client_ip: str | None, actor_id: str | None = None
    ) -> None:
        self.session.add(
            LoginAudit(
                id=new_id("lga"),
                username=username,
                account_id=account_id,
                event=event,
                client_ip=client_ip,
                actor_id=actor_id,
                at=self.clock.now(),
            )
        )

    async def _open_session(self, account: Account) -> TokenPair:
        if account.disabled:
            raise InvalidCredentials("This account is disabled.")
        now = self.clock.now()
        refresh = "rt_" + secrets.token_urlsafe(32)
        auth_session = AuthSession(
            id=new_id("ses"),
            account_id=account.id,
            refresh_hash=_digest(refresh),
            created_at=now,
            expires_at=now + timedelta(days=self.settings.refresh_token_days),
        )
        self.session.add(auth_session)
        await self.session.flush()
        if self.sessions is not None:
            self.sessions.opened(auth_session)
        return self._tokens(account, auth_session, refresh)

    def _tokens(self, account: Account, auth_session: AuthSession, refresh: str) -> TokenPair:
        now = self.clock.now()
        ttl = timedelta(minutes=self.settings.access_token_minutes)
        claims = {
            "sub": account.id,
            "sid": auth_session.id,
            "aud": _AUDIENCE,
            "iat": int(now.timestamp()),
            "exp": int((now + ttl).timestamp()),
            **identity_of(account).model_dump(mode="json", exclude_none=True, exclude={"subject"}),
        }
        access = jwt.encode(claims, self.settings.jwt_secret, algorithm=_ALGORITHM)
        return TokenPair(
            access_token=access, refresh_token=refresh, expires_in=int(ttl.total_seconds()), account=me_of(account)
        )

    async def refresh(self, refresh_token: str) -> TokenPair:
        """A new token pair for a live session; the old refresh token stops working. A refresh token that was
        already traded in ends its session: one of the two holders is a thief, and neither can tell us which."""
        now = self.clock.now()
        digest = _digest(refresh_token)
        query = select(AuthSession).where(AuthSession.refresh_hash == digest).with_for_update()
        auth_session = (await self.session.execute(query)).scalar_one_or_none()
        if auth_session is None:
            used = await self.session.get(UsedRefreshToken, digest)
            if used is not None:
                await self._end_session(used.session_id, "refresh_reused")
                await self.session.commit()  # the session ends although this request is refused
                log.warning("a used refresh token came back: session %s ended", used.session_id)
                raise RefreshTokenReused("This refresh token was used before, so the session has ended; log in again.")
        if auth_session is None or auth_session.revoked_at is not None or auth_session.expires_at <= now:
            raise InvalidToken("The refresh token is not valid; log in again.")
        account = await self.session.get(Account, auth_session.account_id)
        if account is None or account.disabled:
            raise InvalidToken("The account is no longer active.")
        refresh = "rt_" + secrets.token_urlsafe(32)
        self.session.add(UsedRefreshToken(refresh_hash=digest, session_id=auth_session.id, used_at=now))
        auth_session.refresh_hash = _digest(refresh)
        await self.session.flush()
        return self._tokens(account, auth_session, refresh)

    async def logout(self, session_id: str) -> None:
        await self._end_session(session_id, "logout")

    async def _end_session(self, session_id: str, reason: str) -> None:
        now = self.clock.now()
        if self.sessions is not None:
            self.sessions.end(session_id, now)
        auth_session = await self.session.get(AuthSession, session_id)
        if auth_session is not None and auth_session.revoked_at is None:
            auth_session.revoked_at, auth_session.end_reason = now, reason
            await self.session.flush()

    async def authenticate(self, bearer: str) -> tuple[Identity, str]:
        """The identity behind an access token, if its session exists and is open."""
        claims = self._decode(bearer)
        now = self.clock.now()
        if claims.get("exp", 0) < now.timestamp():
            raise TokenExpired("The access token has expired; refresh it.")
        session_id = str(claims.get("sid", ""))
        cache = self.sessions
        if cache is not None:
            await cache.refresh(self.session, now)
        if cache is not None and cache.current and cache.ended(session_id):
            raise SessionEnded("This session has ended; log in again.")
        if cache is None or not cache.current or not cache.known_open(session_id, str(claims["sub"]), now):
            auth_session = await self.session.get(AuthSession, session_id) if session_id else None
            if (
                auth_session is None
                or auth_session.revoked_at is not None
                or auth_session.expires_at <= now
                or auth_session.account_id != claims.get("sub")
            ):
                raise SessionEnded("This session has ended; log in again.")
            if cache is not None:
                cache.opened(auth_session)
        identity = Identity(
            subject=claims["sub"],
            role=claims["role"],
            region_code=claims.get("region_code"),
            merchant_id=claims.get("merchant_id"),
            channel=claims.get("channel"),
            display_name=claims.get("display_name"),
        )
        return identity, session_id

    def _decode(self, bearer: str) -> dict[str, Any]:
        """The claims of a token signed with the JWT secret, or with the previous one during a rotation."""
        for secret in filter(None, (self.settings.jwt_secret, self.settings.jwt_previous_secret)):
            try:
                return jwt.decode(
                    bearer,
                    secret,
                    algorithms=[_ALGORITHM],
                    audience=_AUDIENCE,
                    options={"verify_exp": False, "require": ["sub", "sid", "role"]},
                )
            except jwt.InvalidSignatureError:
                continue
            except jwt.PyJWTError as exc:
                raise InvalidToken("The access token is not valid.") from exc
        raise InvalidToken("The access token is not valid.")

    async def me(self, account_id: str) -> Me:
        account = await self.session.get(Account, account_id)
        if account is None:
            raise InvalidToken("The account no longer exists.")
        return me_of(account)


async def create_staff(
    session: AsyncSession,
    clock: Clock,
    *,
    username: str,
    password: str,
    role: Role,
    display_name: str | None = None,
    region_code: str | None = None,
    merchant_id: str | None = None,
) -> Account:
    """A staff account: officials need a region, merchant staff a merchant."""
    if role == Role.official and not region_code:
        raise RegionRequired("An official needs a region.", status=422)
    if region_code and region_code not in divisions():
        raise UnknownRegion(f"{region_code} is not a region code of the national catalogue.")
    if role == Role.merchant_staff and not merchant_id:
        raise MerchantRequired("Merchant staff need a merchant.", status=422)
    if role not in (Role.official, Role.merchant_staff, Role.admin):
        raise InvalidRole("Staff are officials, merchant staff or admins.", status=422)
    if (await session.execute(select(Account.id).where(Account.username == username))).first():
        raise StaffExists(f"The username {username} is taken.")
    password_hash = await asyncio.to_thread(hash_password, password)  # ~0.2 s of CPU: off the event loop
    account = Account(
        id=new_id("usr"),
        role=role.value,
        username=username,
        password_hash=password_hash,
        display_name=display_name or username,
        region_code=region_code,
        merchant_id=merchant_id,
        disabled=False,
        created_at=clock.now(),
    )
    session.add(account)
    await session.flush()
    return account


async def unlock_staff(session: AsyncSession, clock: Clock, username: str, by: str | None) -> bool:
    """Lift a username's login lock and clear its failures (an admin, or the CLI when `by` is None)."""
    throttle = await session.get(LoginThrottle, username[:64])
    if throttle is None or (not throttle.failures and throttle.locked_until is None):
        return False
    throttle.failures, throttle.locked_until = 0, None
    account_id = (await session.execute(select(Account.id).where(Account.username == username))).scalar_one_or_none()
    session.add(
        LoginAudit(
            id=new_id("lga"),
            username=username[:64],
            account_id=account_id,
            event="unlocked",
            actor_id=by or "cli",
            at=clock.now(),
        )
    )
    await session.flush()
    return True
