"""Alembic environment: async engine, all models' metadata, one migrator at a time.

Several replicas may start at once and each runs ``upgrade head``; a transaction-level
advisory lock makes them take turns, and the later ones find nothing left to do.
"""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

import app.models  # noqa: F401  (registers every table on the metadata)
from app.db import async_url
from app.models.platform.base import metadata

config = context.config
MIGRATION_LOCK = 72_616_670  # arbitrary, constant: "rapport migrations"


def _database_url() -> str:
    url = config.attributes.get("database_url") or os.environ.get("DATABASE_URL")
    if not url:
        raise RuntimeError("set DATABASE_URL (or use `rapport migrate`)")
    return str(url)


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        compare_type=True,
        transaction_per_migration=False,
    )
    with context.begin_transaction():
        connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK})
        context.run_migrations()


async def _main() -> None:
    engine = create_async_engine(async_url(_database_url()), poolclass=NullPool)
    async with engine.connect() as connection:
        await connection.run_sync(_run)
    await engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("offline migrations are not supported; run against a database")
asyncio.run(_main())
