"""Run a service's Alembic migrations: from `make migrate`, `make run`, the tests and the deploy Job.

`migrations/alembic.ini` has one section per service; each `migrations/<service>/env.py` calls
`run_env` with its own metadata and settings. On PostgreSQL each service lives in its own schema
with its own version table.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection

from shared.db import create_engine, is_sqlite
from shared.settings import ServiceSettings

ROOT = Path(__file__).resolve().parent.parent
ALEMBIC_INI = ROOT / "migrations" / "alembic.ini"


def alembic_config(service: str, settings: ServiceSettings | None = None) -> Config:
    config = Config(str(ALEMBIC_INI), ini_section=service)
    config.set_main_option("script_location", str(ROOT / "migrations" / service))
    if settings is not None:
        config.attributes["settings"] = settings
    return config


def upgrade(service: str, settings: ServiceSettings, revision: str = "head") -> None:
    """Bring the service's database to `revision` (blocking; call it outside an event loop)."""
    command.upgrade(alembic_config(service, settings), revision)


def run_env(metadata: MetaData, settings: ServiceSettings) -> None:
    """The body of every env.py: migrate online through the service's own async engine."""
    settings = context.config.attributes.get("settings", settings)
    schema = None if is_sqlite(settings.database_url) else settings.database_schema

    def migrate(connection: Connection) -> None:
        if schema:
            connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
            connection.commit()
        context.configure(
            connection=connection,
            target_metadata=metadata,
            version_table_schema=schema,
            render_as_batch=is_sqlite(settings.database_url),
            compare_type=True,
        )
        with context.begin_transaction():
            if schema:  # for this transaction only, so that it holds behind PgBouncer in transaction mode too
                connection.execute(text(f'SET LOCAL search_path TO "{schema}"'))
            context.run_migrations()

    async def run() -> None:
        engine = create_engine(settings)
        async with engine.connect() as connection:
            await connection.run_sync(migrate)
        await engine.dispose()

    if context.is_offline_mode():
        raise SystemExit("offline migrations are not supported; run them against a database")
    asyncio.run(run())
