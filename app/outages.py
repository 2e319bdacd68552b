"""A database that is down, refuses connections or does not answer: 503, logged once.

Such a failure is not a bug of the request that met it, so it answers 503
``service-unavailable`` with ``Retry-After`` instead of a 500 with a stack trace, and
the log says so once per outage, not once per request: the first failure logs one
warning line naming its cause, later ones are only counted, and the first connection
made again afterwards (or a readiness check, or the webhook dispatcher's next round)
logs one line saying the database is back and how long it was away.

``unavailable_cause`` recognises such failures wherever they were raised: through
SQLAlchemy (wrapped in its ``DBAPIError``), on the driver itself (``app.driver``), at
connect time, or as the pool's own checkout timeout.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import exc as sa_exc

log = logging.getLogger("rapport.database")

RETRY_AFTER_SECONDS = 5
#: A failure this long after the last one, with no sign of recovery in between, starts a
#: new outage (and a new log line): a database that was slow once an hour ago is not
#: the same outage as the one now.
OUTAGE_GAP_SECONDS = 60.0
#: An outage ends at the first success this long after its last failure.
SETTLE_SECONDS = 1.0


class DatabaseUnavailable(Exception):
    """The database could not be reached or did not answer in time."""


# Server states that end or refuse a connection: shutting down, crashed, starting up,
# too many connections, the database dropped, our credentials refused (a rotated
# password: the replica cannot serve until it is fixed). A statement cancelled by
# ``statement_timeout`` (``QueryCanceledError``) is a database too slow to answer.
_SERVER_UNAVAILABLE = (
    asyncpg.InvalidAuthorizationSpecificationError,
    asyncpg.PostgresConnectionError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.CannotConnectNowError,
    asyncpg.DatabaseDroppedError,
    asyncpg.TooManyConnectionsError,
    asyncpg.QueryCanceledError,
)


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and what it wraps (``orig``) or was raised from, without loops."""
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or any(current is s for s in seen) or len(seen) > 20:
            continue
        seen.append(current)
        todo.extend((current.__cause__, current.__context__, getattr(current, "orig", None)))
    return seen


def describe(exc: BaseException) -> str:
    """A short name for a cause, for logs and error details: never its message, which
    may carry the statement or the connection's address."""
    if isinstance(exc, asyncpg.QueryCanceledError):
        return "statement timeout"
    if isinstance(exc, sa_exc.TimeoutError):
        return "no free connection in the pool in time"
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    return exc.__class__.__name__


def unavailable_cause(exc: BaseException) -> str | None:
    """Why ``exc`` means the database is unavailable, or None if it means something else.

    Transport errors (a refused or reset connection, a timeout, a host that does not
    resolve) count only when they come through the database layers (SQLAlchemy's
    wrappers, ``DatabaseUnavailable``) or as the driver's own connection errors, so an
    unrelated ``OSError`` stays a 500.
    """
    chain = _chain(exc)
    from_database = any(
        isinstance(e, DatabaseUnavailable | sa_exc.DBAPIError | sa_exc.TimeoutError) for e in chain
    )
    for e in chain:
        if isinstance(e, (sa_exc.TimeoutError, *_SERVER_UNAVAILABLE)):
            return describe(e)
        if isinstance(e, asyncpg.InterfaceError) and "closed" in str(e):
            return describe(e)  # other interface errors are misuses (bugs), not outages
        if from_database and isinstance(e, OSError):  # refused, reset, timed out, no host
            return describe(e)
    for e in chain:
        if isinstance(e, sa_exc.DBAPIError) and e.connection_invalidated:
            return "connection lost"
        if isinstance(e, DatabaseUnavailable):
            return "unavailable"
    return None


def is_timeout(exc: BaseException) -> bool:
    """The driver gave up waiting for the server (not the server's own timeout): the
    connection's state is unknown, so it must be dropped, not reused."""
    return isinstance(exc, TimeoutError) and not isinstance(exc, sa_exc.TimeoutError)


class OutageLog:
    """One warning when an outage starts, one line when it ends; thread-safe, because
    pool events may fire from any thread that runs the engine.

    Times are ``clock()`` readings (``time.perf_counter``, like the callers' ``began``).
    A failure of work that began before the last recovery (a request, a readiness check
    or a tick that was waiting when the database came back) belongs to the outage that
    just ended: it is counted, not logged as a new outage.
    """

    def __init__(
        self,
        *,
        gap_seconds: float = OUTAGE_GAP_SECONDS,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.gap_seconds = gap_seconds
        self.clock = clock
        self._lock = threading.Lock()
        self._since: float | None = None
        self._last: float = 0.0
        self._ended: float = float("-inf")
        self._failures = 0
        self.stragglers = 0

    @property
    def active(self) -> bool:
        return self._since is not None

    def failed(self, cause: str, *, where: str, began: float | None = None) -> None:
        """Count a failure of work begun at ``began`` (unknown: now); the first of an
        outage logs a warning naming ``cause``."""
        now = self.clock()
        with self._lock:
            if self._since is None and began is not None and began < self._ended:
                self.stragglers += 1
                return
            new = self._since is None or now - self._last > self.gap_seconds
            if new:
                self._since, self._failures = now, 0
            self._last = now
            self._failures += 1
        if new:
            log.warning(
                "database unavailable (%s): answering 503 until it is back",
                cause,
                extra={"cause": cause, "where": where},
            )

    def recovered(self) -> None:
        """The database answered again: end the outage, if there was one, in one line.

        Only once no failure came for ``SETTLE_SECONDS``: at an outage's edges some
        statements still succeed while others fail (a stopping server ends its
        connections one by one), which is the same outage, not a new one."""
        if self._since is None:  # the common case: no lock, no work
            return
        with self._lock:
            since, failures = self._since, self._failures
            now = self.clock()
            if since is None or now - self._last < SETTLE_SECONDS:
                return
            self._since, self._ended = None, now
        log.info(
            "database available again after %.1f s (%d failures)",
            now - since,
            failures,
            extra={"down_seconds": round(now - since, 1), "failures": failures},
        )


#: The process's one outage log: every engine, request, job and probe reports here.
outages = OutageLog()
