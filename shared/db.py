"""Database plumbing: engines for SQLite and PostgreSQL, UTC timestamps, the request's session."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import DateTime, MetaData, Table, event, func, text
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.sql.base import Executable
from sqlalchemy.types import TypeDecorator

from shared.settings import ServiceSettings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def service_metadata() -> MetaData:
    return MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores instants in UTC and always hands back timezone-aware UTC datetimes (SQLite included)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; pass an aware UTC instant")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Behind PgBouncer in transaction mode each transaction may get another server connection, shared with other
# clients, so a connection keeps nothing of its own between transactions:
# - no `search_path` start-up parameter (PgBouncer refuses it, and would not keep it per client): every
#   table is named with the service's schema instead (`schema_translate_map`, at no cost per statement
#   beyond the name); the migrations set it per transaction (shared/migrate.py);
# - no named prepared statements: asyncpg's and SQLAlchemy's statement caches are off, and SQLAlchemy's
#   statements are prepared unnamed ("" as the name), which the next statement replaces, so two clients
#   never meet each other's `__asyncpg_stmt_1__` on one server connection and nothing piles up there.
_TRANSACTION_POOLING_CONNECT_ARGS: dict[str, Any] = {
    "statement_cache_size": 0,
    "prepared_statement_cache_size": 0,
    "prepared_statement_name_func": lambda: "",
}


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def create_engine(settings: ServiceSettings, **overrides: Any) -> AsyncEngine:
    url = settings.database_url
    kwargs: dict[str, Any] = {}
    if is_sqlite(url):
        path = url.split(":///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": 30}
    else:
        # SQLAlchemy's own pool: requests never wait on it, they wait their turn before (shared/edge.py, Admission).
        # No pre-ping: a SELECT 1 on every checkout was a tenth of a request's CPU. A connection the
        # server dropped fails its request once (503, errors.py) and invalidates the pool, so the next
        # requests reconnect; connections older than 30 minutes are replaced before anything drops them.
        kwargs.update(
            pool_size=settings.database_pool_size,
            max_overflow=settings.database_max_overflow,
            pool_recycle=1800,
        )
        if settings.database_transaction_pooling:
            kwargs["connect_args"] = _TRANSACTION_POOLING_CONNECT_ARGS
            if settings.database_schema:
                kwargs["execution_options"] = {"schema_translate_map": {None: settings.database_schema}}
        elif settings.database_schema:
            kwargs["connect_args"] = {"server_settings": {"search_path": settings.database_schema}}
    kwargs.update(overrides)
    engine = create_async_engine(url, **kwargs)
    if is_sqlite(url):
        _tune_sqlite(engine)
    return engine


def _tune_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


async def ping(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's unit of work: commits when the endpoint succeeds, rolls back when it raises.

    Services and repositories only flush. After a commit, the app's after-commit hooks see what the
    transaction noted in `session.info` (events written, payouts queued) and wake their workers, so
    the work leaves at once rather than at the next poll.
    """
    app = request.app
    async with app.state.sessionmaker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
        notes = dict(session.info)
    for hook in getattr(app.state, "after_commit", ()):
        hook(notes)


# scope="function": the unit of work commits before the response is sent. With FastAPI's default
# ("request") it would commit after, and a client acting on a 201 at once could miss what it created.
Session = Annotated[AsyncSession, Depends(get_session, scope="function")]


def for_update_skip_locked(session: AsyncSession) -> dict[str, Any]:
    """`with_for_update` arguments: row claims on PostgreSQL; SQLite serialises writers anyway."""
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        return {"skip_locked": True}
    return {}


def shanghai_day(session: AsyncSession, column: Any) -> Any:
    """A UTC timestamp column as its Asia/Shanghai calendar day, 'YYYY-MM-DD', computed in the database
    (for GROUP BY per day). China keeps UTC+8 all year, which SQLite's fixed offset relies on."""
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        return func.to_char(func.timezone("Asia/Shanghai", column), "YYYY-MM-DD")
    return func.strftime("%Y-%m-%d", column, "+8 hours")


async def rows_affected(session: AsyncSession, statement: Executable) -> int:
    """How many rows an UPDATE or DELETE touched: SQLAlchemy types `execute`'s answer as a Result, and only its
    CursorResult (what a DML statement gives) has the count."""
    result = await session.execute(statement)
    assert isinstance(result, CursorResult)
    return result.rowcount


def table_of(model: type[Any]) -> Table:
    """A mapped class's Table, for Core statements (SQLAlchemy types `__table__` as any FromClause)."""
    table = model.__table__
    assert isinstance(table, Table)
    return table
