"""Providers' access tokens (WeChat's `access_token`) kept where every gateway replica reads them.

WeChat hands an app one access token at a time, for two hours, and a day's quota of fetches; a replica that
fetched its own would end the others' (or burn the quota). So the token lives in shared storage: the gateway's
database by default, Redis where `GATEWAY_REDIS_URL` is set. Each replica keeps a copy in memory until the token
expires and reads the shared one again only when it has none or WeChat rejects the one it has, so a token
refreshed by one replica is picked up by the others at their next rejection, without a fetch of their own.

The SDK (wechatpy) is blocking and runs in worker threads: the storage's methods are synchronous. The database
store runs its queries on the app's event loop from those threads.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from wechatpy.session import SessionStorage

from services.gateway.models import ProviderToken

log = logging.getLogger("gateway.provider_tokens")
T = TypeVar("T")
BRIDGE_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class TokenEntry:
    value: str
    expires_at: float  # time.time()

    def seconds_left(self) -> float:
        return self.expires_at - time.time()


class TokenBackend(Protocol):
    """Where the shared copy lives. Blocking calls, made from worker threads."""

    def read(self, name: str) -> TokenEntry | None: ...
    def write(self, name: str, entry: TokenEntry) -> None: ...
    def delete(self, name: str) -> None: ...


class TokenStorage(SessionStorage):  # type: ignore[misc]  # wechatpy is untyped: its base class is Any
    """wechatpy's session storage (its public `session=` hook) over a shared backend, with this replica's copy in
    memory. `get` answers from the copy while it is valid; `reread` drops the copy and asks the backend. While
    the backend cannot be reached the copy is all there is (logged): a fetch from WeChat's stable-token endpoint
    then still ends no other replica's token."""

    def __init__(self, backend: TokenBackend) -> None:
        self.backend = backend
        self._copies: dict[str, TokenEntry] = {}
        self._lock = threading.Lock()

    def entry(self, key: str) -> TokenEntry | None:
        with self._lock:
            copy = self._copies.get(key)
        if copy is not None and copy.seconds_left() > 0:
            return copy
        return self.reread(key)

    def reread(self, key: str) -> TokenEntry | None:
        try:
            shared = self.backend.read(key)
        except Exception as exc:
            log.warning("the shared token store cannot be read (%s): using this replica's copy", exc)
            with self._lock:
                copy = self._copies.get(key)
            return copy if copy is not None and copy.seconds_left() > 0 else None
        with self._lock:
            if shared is None or shared.seconds_left() <= 0:
                self._copies.pop(key, None)
                return None
            self._copies[key] = shared
        return shared

    def get(self, key: str, default: Any = None) -> Any:
        found = self.entry(key)
        return found.value if found is not None else default

    def set(self, key: str, value: Any, ttl: int | None = None) -> None:
        if value is None:
            return
        entry = TokenEntry(str(value), time.time() + (ttl if ttl is not None else 7200))
        with self._lock:
            self._copies[key] = entry
        try:
            self.backend.write(key, entry)
        except Exception as exc:
            log.warning("the shared token store cannot be written (%s): this replica keeps its copy", exc)

    def delete(self, key: str) -> None:
        self.backend.delete(key)
        with self._lock:
            self._copies.pop(key, None)


class LocalTokens:
    """This process only: for an adapter used on its own (tests, scripts); the gateway never uses it."""

    def __init__(self) -> None:
        self._entries: dict[str, TokenEntry] = {}

    def read(self, name: str) -> TokenEntry | None:
        return self._entries.get(name)

    def write(self, name: str, entry: TokenEntry) -> None:
        self._entries[name] = entry

    def delete(self, name: str) -> None:
        self._entries.pop(name, None)


class RedisTokens:
    """A Redis string per token (JSON with its expiry), expiring with the token. `client`: a blocking redis-py
    client (`redis.Redis`)."""

    def __init__(self, client: Any, prefix: str = "gateway:token:") -> None:
        self.client = client
        self.prefix = prefix

    def read(self, name: str) -> TokenEntry | None:
        raw = self.client.get(self.prefix + name)
        if raw is None:
            return None
        data = json.loads(raw)
        return TokenEntry(data["value"], float(data["expires_at"]))

    def write(self, name: str, entry: TokenEntry) -> None:
        ttl = max(1, int(entry.seconds_left()))
        self.client.set(self.prefix + name, json.dumps({"value": entry.value, "expires_at": entry.expires_at}), ex=ttl)

    def delete(self, name: str) -> None:
        self.client.delete(self.prefix + name)


class DatabaseTokens:
    """A row per token in the gateway's database (`provider_tokens`), queried on the app's event loop."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], loop: asyncio.AbstractEventLoop) -> None:
        self.sessionmaker = sessionmaker
        self.loop = loop

    def _run(self, work: Coroutine[Any, Any, T]) -> T:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            work.close()
            raise RuntimeError("the database token store blocks: call it from a worker thread, not the event loop")
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(BRIDGE_TIMEOUT_SECONDS)

    def read(self, name: str) -> TokenEntry | None:
        async def read() -> TokenEntry | None:
            async with self.sessionmaker() as session:
                row = (await session.execute(select(ProviderToken).where(ProviderToken.name == name))).scalar()
                return TokenEntry(row.value, row.expires_at.timestamp()) if row is not None else None

        return self._run(read())

    def write(self, name: str, entry: TokenEntry) -> None:
        async def write() -> None:
            async with self.sessionmaker() as session:
                now = datetime.now(UTC)
                values = {
                    "name": name,
                    "value": entry.value,
                    "expires_at": datetime.fromtimestamp(entry.expires_at, UTC),
                    "updated_at": now,
                }
                insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
                statement = insert(ProviderToken).values(**values)
                await session.execute(
                    statement.on_conflict_do_update(
                        index_elements=[ProviderToken.name],
                        set_={k: statement.excluded[k] for k in ("value", "expires_at", "updated_at")},
                    )
                )
                await session.commit()

        self._run(write())

    def delete(self, name: str) -> None:
        async def delete() -> None:
            async with self.sessionmaker() as session:
                row = await session.get(ProviderToken, name)
                if row is not None:
                    await session.delete(row)
                    await session.commit()

        self._run(delete())
