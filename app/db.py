"""The database handle: one async engine and one session factory per process.

URLs are accepted in the forms operators paste (``postgres://``, ``postgresql://``) and
normalised to the asyncpg driver. Sessions never expire on commit, because responses are
built from objects after the request's transaction has been committed. The engine hides
bound parameters from its error messages: they can hold secrets (a webhook signing
secret, a stored response) and those messages end up in logs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def async_url(url: str) -> str:
    """Return ``url`` for SQLAlchemy's asyncpg dialect.

    asyncpg spells the unix-socket directory ``host=`` like libpq does, so pgserver's
    socket URLs work unchanged; only the scheme needs rewriting.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.split("+", 1)[0]
    if scheme not in {"postgres", "postgresql"}:
        raise ValueError(f"unsupported database URL scheme {parts.scheme!r}")
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "sslmode"]
    return urlunsplit(("postgresql+asyncpg", parts.netloc, parts.path, urlencode(query), ""))


class Database:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.sessionmaker = async_sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def from_url(cls, url: str, *, pool_size: int = 10) -> Database:
        engine = create_async_engine(
            async_url(url),
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_pre_ping=True,
            hide_parameters=True,
        )
        return cls(engine)

    @classmethod
    def bound_to(cls, connection: AsyncConnection) -> Database:
        """A handle whose sessions run inside ``connection``'s open transaction.

        Tests use it to roll back everything a request committed: each session commit
        only releases a savepoint of the outer transaction.
        """
        db = cls(connection.engine)
        db.sessionmaker = async_sessionmaker(
            bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
        )
        return db

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session that commits when the block ends and rolls back if it raises."""
        async with self.sessionmaker() as session, session.begin():
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()
