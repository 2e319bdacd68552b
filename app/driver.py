"""Statements run on asyncpg itself, for the hot paths, with SQLAlchemy's meaning kept.

A ``DriverStatement`` is a Core statement compiled once; ``fetch_row``/``fetch_rows`` read
through it on the session's connection (or a pooled one, for a read session that holds
none), ``fetch_column``/``fetch_written_row`` write inside the request's transaction, and
``fetch_sole_write`` commits a unit of work that is one statement on its own. Each keeps
SQLAlchemy's error mapping (integrity and data errors, broken connections), so the API
answers exactly as on the ordinary path; ``tests/test_driver_reads.py`` and
``tests/test_contacts_sole_write.py`` hold them to it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlalchemy.util import greenlet_spawn

from app.db import DRIVER_READS, SEALED, SOLE_WRITES, abandon
from app.json_codec import from_json, to_json
from app.outages import DatabaseUnavailable, describe

# The engines' JSON functions: the dialect's default ``json.dumps`` was 2% of a create.
_DIALECT = PGDialect_asyncpg(json_serializer=to_json, json_deserializer=from_json)  # type: ignore[no-untyped-call]


class DriverStatement:
    """A Core statement compiled once to asyncpg's SQL, for ``fetch_row``/``fetch_rows``.

    Only for statements whose binds are ``bindparam``s (or a text's ``:name``s) and
    literals: the request's values are passed by name, literals the statement carries
    (a JSON path key, a ``replace`` argument) are taken from the compiled statement, and
    each value goes through its type's bind processor as SQLAlchemy would send it.
    """

    def __init__(self, statement: Any) -> None:
        compiled = statement.compile(dialect=_DIALECT)
        self.statement = statement
        self.sql: str = compiled.string
        self.names: tuple[str, ...] = tuple(compiled.positiontup or ())
        self._literals: dict[str, Any] = {}
        self._processors: dict[str, Callable[[Any], Any]] = {}
        for name in self.names:
            bind = compiled.binds[name]
            processor = bind.type._cached_bind_processor(_DIALECT)
            if processor is not None:
                self._processors[name] = processor
            if bind.value is not None or bind.callable is not None:
                self._literals[name] = bind.effective_value

    def args(self, params: dict[str, Any]) -> list[Any]:
        """The positional arguments of ``sql`` for the named ``params``."""
        if self._literals:
            params = {**self._literals, **params}
        if not self._processors:
            return [params[name] for name in self.names]
        processors = self._processors
        return [
            processors[name](params[name]) if name in processors else params[name]
            for name in self.names
        ]


async def _driver(session: AsyncSession) -> tuple[AsyncConnection, Any]:
    """The session's connection and the asyncpg connection under it."""
    connection = await session.connection()
    driver = (await connection.get_raw_connection()).driver_connection
    assert driver is not None
    return connection, driver


async def _run(
    invalidate: Callable[[], Awaitable[Any]],
    statement: DriverStatement,
    args: list[Any],
    call: Any,
) -> Any:
    """``call`` (the driver's ``fetch`` or ``fetchrow``) with SQLAlchemy's error mapping:
    integrity and data errors become SQLAlchemy's, which the API answers as for any other
    statement, and a broken connection is invalidated so the pool does not hand it out.
    A server that did not answer in time (the driver's ``command_timeout``) or went away
    is ``DatabaseUnavailable``, as on SQLAlchemy's path (``app.db``): the connection is
    closed at once, since it is mid-statement, and invalidated."""
    try:
        return await call(statement.sql, *args)
    except asyncpg.IntegrityConstraintViolationError as exc:
        raise IntegrityError(statement.sql, args, exc, hide_parameters=True) from exc
    except asyncpg.DataError as exc:
        raise DataError(statement.sql, args, exc, hide_parameters=True) from exc
    except TimeoutError as exc:
        abandon(call.__self__)  # the driver connection ``call`` is a method of
        await invalidate()
        raise DatabaseUnavailable(describe(exc)) from exc
    except asyncpg.InternalClientError as exc:
        # The connection's protocol is out of step, as after the server ended it
        # unasked (a shutdown's "terminating connection"): nothing was sent; drop it.
        abandon(call.__self__)
        await invalidate()
        raise DatabaseUnavailable("connection lost") from exc
    except (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, OSError) as exc:
        await invalidate()
        if isinstance(exc, OSError):  # a reset or refused socket: the server went away
            raise DatabaseUnavailable(describe(exc)) from exc
        raise


async def _read(
    session: AsyncSession, statement: DriverStatement, params: dict[str, Any], *, many: bool
) -> Any:
    """``fetch`` or ``fetchrow`` of a read on an asyncpg connection.

    A read session that has not connected yet borrows a connection from its pool for
    this one statement instead of opening the session's own: the session's connection
    (its transaction object, identity-map snapshot, engine ``Connection`` and their
    close) cost 150 us of CPU against 30 us for the pool's checkout and return, a quarter
    of a GET of a contact under ``wrk``. Read sessions run in autocommit, so the statement
    sees what it would have seen on the session's connection. Only sessions that hold
    no connection borrow one, so a request never waits for a second connection while
    holding a first.
    """
    engine: AsyncEngine | None = session.info.get(DRIVER_READS)
    if engine is not None and not session.in_transaction():
        return await _on_pooled(engine, statement, params, many=many)
    connection, driver = await _driver(session)
    call = driver.fetch if many else driver.fetchrow
    return await _run(connection.invalidate, statement, statement.args(params), call)


async def _on_pooled(
    engine: AsyncEngine, statement: DriverStatement, params: dict[str, Any], *, many: bool
) -> Any:
    """``fetch`` or ``fetchrow`` on a connection borrowed from ``engine``'s pool for this
    one statement, outside any transaction block (the adapter begins only on its own
    execute): a read sees what a READ COMMITTED transaction would, a write commits."""
    pooled = await engine.raw_connection()
    try:
        driver = pooled.driver_connection
        call = driver.fetch if many else driver.fetchrow  # type: ignore[union-attr]
        return await _run(
            partial(greenlet_spawn, pooled.invalidate), statement, statement.args(params), call
        )
    finally:
        await greenlet_spawn(pooled.close)


async def fetch_row(
    session: AsyncSession, statement: DriverStatement, params: dict[str, Any]
) -> dict[str, Any] | None:
    """One row of a read, run on the session's asyncpg connection itself.

    For the busiest read (a contact by id): SQLAlchemy's execute path (greenlet switch,
    execution context, result wrapping) cost more CPU than the query's own work in asyncpg
    (pyinstrument, GET /v1/contacts/{id}). asyncpg prepares the statement once per
    connection (its statement cache), and the connection's JSON codecs are the engine's,
    so rows decode as they would through SQLAlchemy. Reads only: a write on a connection
    whose transaction SQLAlchemy has not begun yet would commit on its own. A malformed
    value still answers 422 (SQLAlchemy's ``DataError``), and a broken connection is
    invalidated as SQLAlchemy would, so the pool does not hand it out again.
    """
    row = await _read(session, statement, params, many=False)
    return None if row is None else dict(row)


async def fetch_rows(
    session: AsyncSession, statement: DriverStatement, params: dict[str, Any]
) -> list[Any]:
    """The rows of a read as asyncpg records (``fetch_row``'s reasons and limits): for a
    page of contacts, SQLAlchemy's execute and its per-row result processing were a
    fifth of the request's CPU."""
    rows: list[Any] = await _read(session, statement, params, many=True)
    return rows


async def fetch_column(
    session: AsyncSession, statement: DriverStatement, params: dict[str, Any]
) -> list[Any]:
    """The first column of a statement's rows, on the driver inside the request's
    transaction (``fetch_row``'s reasons: ``record_events`` on every write).

    The transaction is begun first when nothing has run on the session yet (``_begin``),
    so a write can never commit on its own. Integrity and data errors become
    SQLAlchemy's, which the API answers as before.
    """
    rows = await _fetch_in_transaction(session, statement, params)
    return [next(iter(row.values())) for row in rows]


async def fetch_written_row(
    session: AsyncSession, statement: DriverStatement, params: dict[str, Any]
) -> dict[str, Any] | None:
    """The first row of a write statement, on the driver inside the request's
    transaction (``fetch_column``'s rules)."""
    rows = await _fetch_in_transaction(session, statement, params)
    return rows[0] if rows else None


def can_write_alone(session: AsyncSession) -> bool:
    """Whether ``fetch_sole_write`` would commit a statement on its own: nothing has run
    on the session yet, and it is a request's own session (not one sharing a test's
    transaction, nor a ``Database.transaction`` block, which has begun)."""
    info = session.info
    return SOLE_WRITES in info and not info.get(SEALED) and not session.in_transaction()


async def fetch_sole_write(
    session: AsyncSession, statement: DriverStatement, params: dict[str, Any]
) -> dict[str, Any] | None:
    """The first row of a write that is all its unit of work writes, committed on its own.

    PostgreSQL runs a single statement atomically, as a transaction of its own, so when
    nothing has run on the session yet (``can_write_alone``) the statement runs on a
    pooled connection outside any transaction block: ``BEGIN`` and ``COMMIT`` around it
    would add two round trips and SQLAlchemy's transaction bookkeeping, a fifth of
    ``POST /v1/contacts``' CPU (cProfile). A statement that wrote returns a row; the session
    is then sealed, and anything that would begin a transaction on it raises
    ``SealedSession``, since it could no longer commit with this write. A statement meant
    for this must write nothing when it returns no row (a guarded ``INSERT … SELECT …
    WHERE``), so its caller can go on in a transaction. Otherwise the statement runs in
    the session's transaction, like ``fetch_written_row``.
    """
    if not can_write_alone(session):
        return await fetch_written_row(session, statement, params)
    row = await _on_pooled(session.info[SOLE_WRITES], statement, params, many=False)
    if row is None:
        return None
    session.info[SEALED] = True
    return dict(row)


async def _fetch_in_transaction(
    session: AsyncSession, statement: DriverStatement, params: dict[str, Any]
) -> list[dict[str, Any]]:
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    await _begin(raw.dbapi_connection)
    driver: Any = raw.driver_connection
    rows = await _run(connection.invalidate, statement, statement.args(params), driver.fetch)
    return [dict(r) for r in rows]


async def _begin(adapter: Any) -> None:
    """Begin the transaction of SQLAlchemy's asyncpg adapter, as its first execute would.

    The adapter sends ``BEGIN`` lazily, before the first statement it runs itself, so a
    statement sent to the driver first would run outside the transaction and commit on
    its own. This is the adapter's own step (``_start_transaction`` under its execute
    mutex, as ``_prepare_and_execute`` runs it), so commit and rollback find the
    transaction they would have found. Going through ``session.execute`` instead, only
    to begin, was a seventh of ``POST /v1/contacts``' CPU (pyinstrument). Tests that
    write on a fresh connection (``committed_db``) fail if the adapter changes.
    """
    if adapter._transaction is None:
        async with adapter._execute_mutex:
            if adapter._transaction is None:
                await adapter._start_transaction()
