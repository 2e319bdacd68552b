"""The database handle: async engines and session factories, one set per process.

URLs are accepted in the forms operators paste (``postgres://``, ``postgresql://``) and
normalised to the asyncpg driver. Sessions never expire on commit, because responses are
built from objects after the request's transaction has been committed. The engines hide
bound parameters from their error messages: they can hold secrets (a webhook signing
secret, a stored response) and those messages end up in logs.

Two pools, because reads and writes want different things from a connection:

- writes (``sessionmaker``): a transaction per request, committed or rolled back by it,
  except a request whose whole write is one statement (``app.driver.fetch_sole_write``): that one
  runs on its own, PostgreSQL's own single-statement transaction, without ``BEGIN`` and
  ``COMMIT`` around it;
- reads (``read_sessionmaker``, GET requests): no transaction at all. Each statement runs
  on its own (autocommit), which sees exactly what a READ COMMITTED transaction would, and
  saves the ``BEGIN`` and ``ROLLBACK`` round trips that were half a read's database time.
  Its connections have ``default_transaction_read_only`` on, so a read that tries to
  write fails loudly instead of committing (with a transaction it used to be rolled back).

Neither pool pings a connection on checkout (``pool_pre_ping`` cost a round trip per
request); a connection the server dropped fails one statement, and SQLAlchemy then
invalidates every connection of that generation so the next checkout reconnects.
Neither pool closes connections under load: the old ``max_overflow`` connections were
opened and closed again on every burst above ``pool_size``; the same ceiling of
``2 * pool_size`` write connections is now kept open once made.

Nothing waits on the database without a bound (``RAPPORT_DB_STATEMENT_TIMEOUT_MS``):
PostgreSQL cancels a statement running longer (``statement_timeout``, the connection
stays usable), the driver gives up on a server that does not answer at all a little
later (``command_timeout``: a paused or unreachable host), and connecting and waiting
for a pooled connection have the same limit. Every such failure is raised as, or
wrapped around, an error ``app.outages`` recognises, so the request answers 503; a
connection the driver gave up on is closed at once, since its state is unknown.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import event, text
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session

from app.json_codec import from_json, to_json
from app.outages import DatabaseUnavailable, describe, is_timeout, outages, unavailable_cause

_READ_ONLY = text("SET LOCAL transaction_read_only = on")
DRIVER_READS = "rapport.driver_reads"  # session.info: the engine a read session borrows from
SOLE_WRITES = "rapport.sole_writes"  # session.info: the engine a session's one write may use
SEALED = "rapport.sealed"  # session.info: its one write is committed; nothing may follow
#: The driver waits this much longer than PostgreSQL's own ``statement_timeout``, so a
#: server that is up cancels a slow statement itself and the connection stays usable.
DRIVER_GRACE_SECONDS = 0.5


class SealedSession(RuntimeError):
    """A statement was about to run on a session whose one write already committed."""


@event.listens_for(Session, "after_begin")
def _refuse_sealed(session: Session, _transaction: Any, _connection: Any) -> None:
    """A session's sole write (``fetch_sole_write``) committed on its own; a transaction
    begun after it could not be one with it. A tripwire for that programming error: the
    request fails and rolls back (what the refused statement began included)."""
    if session.info.get(SEALED):
        raise SealedSession("this session's sole write has committed; open another session")


async def _text_json_codecs(driver: Any) -> None:
    """JSON and JSONB columns as text, decoded by ``app.json_codec.from_json`` itself.

    SQLAlchemy's own codecs take the binary form and wrap the deserializer in a function
    that slices off the version byte and decodes to ``str`` first: two calls more for each
    of a contact's seven JSON columns (a tenth of a page of 50's CPU went to decoding).
    The text form is the same document without the version byte; binds arrive already
    serialised by the engine's JSON type, so they pass through unchanged.
    """
    for kind in ("json", "jsonb"):
        await driver.set_type_codec(
            kind, encoder=str, decoder=from_json, schema="pg_catalog", format="text"
        )


def _install_codecs(engine: AsyncEngine) -> None:
    """Run after the dialect's own connect hook, so these codecs replace its ones. A new
    connection that got this far also ends an outage, if one was on."""

    @event.listens_for(engine.sync_engine, "connect")
    def connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.run_async(_text_json_codecs)
        outages.recovered()


def abandon(driver_connection: Any) -> None:
    """Close a connection the driver gave up on, without a goodbye to the server: a
    graceful close waits (2 s) for a server that is not answering."""
    if driver_connection is not None and not driver_connection.is_closed():
        driver_connection.terminate()


def _install_outage_handling(engine: AsyncEngine) -> None:
    """Errors meaning the database is unavailable become ``DatabaseUnavailable``.

    SQLAlchemy lets an error that is not the driver's own (a refused or reset socket, a
    timeout) through unwrapped, like any ``OSError``, at connect time and on a
    statement; wrapped, the API can tell it from an unrelated one. A statement the
    driver timed out leaves its connection mid-protocol: it is closed now and
    invalidated (only it: the others may be fine, and are checked as they are used).
    """

    @event.listens_for(engine.sync_engine, "do_connect")
    def do_connect(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
        try:
            return dialect.connect(*cargs, **cparams)
        except OSError as exc:  # refused, unreachable, no answer in time
            raise DatabaseUnavailable(describe(exc)) from exc

    @event.listens_for(engine.sync_engine, "handle_error")
    def handle_error(context: ExceptionContext) -> BaseException | None:
        original = context.original_exception
        if is_timeout(original) or isinstance(original.__cause__, asyncpg.InternalClientError):
            # No answer in time, or a protocol out of step (the server ended the
            # connection unasked): the connection cannot be trusted with another statement.
            connection = context.connection
            if connection is not None and not connection.invalidated:
                abandon(connection.connection.driver_connection)
            context.is_disconnect = True
            context.invalidate_pool_on_disconnect = False
        if isinstance(original, OSError) or (
            context.sqlalchemy_exception is None and unavailable_cause(original) is not None
        ):
            return DatabaseUnavailable(describe(original))
        return None


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
    def __init__(self, engine: AsyncEngine, read_engine: AsyncEngine | None = None) -> None:
        self.engine = engine
        self.read_engine = read_engine
        self.sessionmaker = async_sessionmaker(
            engine, expire_on_commit=False, info={SOLE_WRITES: engine}
        )
        self.read_sessionmaker = (
            async_sessionmaker(read_engine, expire_on_commit=False)
            if read_engine is not None
            else async_sessionmaker(engine, expire_on_commit=False)
        )

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        pool_size: int = 10,
        timeout_seconds: float = 5.0,
        statement_timeout_seconds: float | None = None,
    ) -> Database:
        """Engines for ``url``: connecting and waiting for a pooled connection take at
        most ``timeout_seconds``, a statement ``statement_timeout_seconds`` (the same
        unless given: the scheduler's long jobs get more)."""
        statement = statement_timeout_seconds or timeout_seconds
        common: dict[str, Any] = {
            "pool_pre_ping": False,
            "hide_parameters": True,
            "json_serializer": to_json,
            "json_deserializer": from_json,
            "pool_timeout": timeout_seconds,
        }
        server = {"statement_timeout": str(round(statement * 1000))}
        connect = {"timeout": timeout_seconds, "command_timeout": statement + DRIVER_GRACE_SECONDS}
        engine = create_async_engine(
            async_url(url),
            pool_size=2 * pool_size,
            max_overflow=0,
            connect_args={**connect, "server_settings": server},
            **common,
        )
        read_engine = create_async_engine(
            async_url(url),
            pool_size=pool_size,
            max_overflow=0,
            isolation_level="AUTOCOMMIT",
            connect_args={
                **connect,
                "server_settings": {**server, "default_transaction_read_only": "on"},
            },
            **common,
        )
        for each in (engine, read_engine):
            _install_codecs(each)
            _install_outage_handling(each)
        return cls(engine, read_engine)

    @classmethod
    def bound_to(cls, connection: AsyncConnection) -> Database:
        """A handle whose sessions run inside ``connection``'s open transaction.

        Tests use it to roll back everything a request committed: each session commit
        only releases a savepoint of the outer transaction. Reads share the connection
        (they must see the test's uncommitted rows); ``read_session`` makes their
        savepoint read-only, so a read that writes fails here as it would in production.
        """
        db = cls(connection.engine)
        db.sessionmaker = async_sessionmaker(
            bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
        )
        db.read_sessionmaker = db.sessionmaker
        return db

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session that commits when the block ends and rolls back if it raises."""
        async with self.sessionmaker() as session, session.begin():
            yield session

    @asynccontextmanager
    async def read_session(self) -> AsyncIterator[AsyncSession]:
        """A session for reading only: it never commits, and cannot write.

        A session that never began (its reads borrowed a pooled connection: ``_read``)
        holds no connection and no objects, and is dropped without ``close``: the close's
        greenlet switch and teardown were 4% of a GET of a contact (cProfile).
        """
        session = self.read_sessionmaker()
        try:
            if self.read_engine is None:  # sharing a transaction: make its savepoint read-only
                await session.execute(_READ_ONLY)
            else:
                session.info[DRIVER_READS] = self.read_engine
            try:
                yield session
            finally:
                if self.read_engine is None:
                    await session.rollback()
        finally:
            if session.in_transaction():
                await session.close()

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.read_engine is not None:
            await self.read_engine.dispose()
