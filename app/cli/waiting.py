"""Wait for the database before serving or migrating, and say why it cannot be used.

Containers start together: the database may still be starting (refusing connections,
or "the database system is starting up") when Rapport starts, and used to crash it at
once. ``wait_for_database`` tries again with a growing pause (0.5 s doubling to 5 s),
logging one line per try, for up to ``RAPPORT_DB_WAIT_SECONDS``. A refusal that waiting
cannot mend (a wrong password, a database that does not exist) is one ``CliError`` line
at once, with exit code 2.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Callable

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from app.cli.failures import UNAVAILABLE, CliError, where
from app.db import async_url

log = logging.getLogger("rapport.cli")
FIRST_PAUSE_SECONDS = 0.5
LONGEST_PAUSE_SECONDS = 5.0
CONNECT_TIMEOUT_SECONDS = 5.0

# Refusals that the same settings will meet again however long we wait.
_FATAL = {
    asyncpg.InvalidPasswordError: "the database refused the credentials in DATABASE_URL",
    asyncpg.InvalidAuthorizationSpecificationError: (
        "the database refused the user in DATABASE_URL"
    ),
    asyncpg.InvalidCatalogNameError: "the database named in DATABASE_URL does not exist",
}


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or getattr(current, "orig", None) or current.__context__
    return seen


def _problem(exc: BaseException) -> tuple[str, bool]:
    """What went wrong, in words, and whether waiting could mend it."""
    for each in _chain(exc):
        for kind, message in _FATAL.items():
            if isinstance(each, kind):
                return message, False
    for each in _chain(exc):
        if isinstance(each, socket.gaierror):
            return "its host name does not resolve (yet)", True
        if isinstance(each, ConnectionRefusedError):
            return "connection refused", True
        if isinstance(each, TimeoutError):
            return "no answer in time", True
        if isinstance(each, asyncpg.CannotConnectNowError):
            return "it is starting up", True
        if isinstance(each, asyncpg.TooManyConnectionsError):
            return "too many connections", True
        if isinstance(each, OSError | asyncpg.PostgresConnectionError | asyncpg.InterfaceError):
            return each.__class__.__name__, True
    return f"{exc.__class__.__name__}", False


async def _try(url: str) -> None:
    engine = create_async_engine(
        async_url(url), poolclass=NullPool, connect_args={"timeout": CONNECT_TIMEOUT_SECONDS}
    )
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT_SECONDS + 1), engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    finally:
        await engine.dispose()


def wait_for_database(
    url: str,
    seconds: float,
    *,
    attempt: Callable[[str], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Return once the database answers; ``CliError`` if it refuses us, or does not
    answer within ``seconds``. ``attempt``, ``clock`` and ``sleep`` are for tests."""
    attempt = attempt or (lambda u: asyncio.run(_try(u)))
    deadline = clock() + seconds
    pause = FIRST_PAUSE_SECONDS
    tries = 0
    while True:
        tries += 1
        try:
            attempt(url)
        except Exception as exc:
            problem, transient = _problem(exc)
            if not transient:
                raise CliError(f"{problem} ({where(url)})") from None
            left = deadline - clock()
            if left <= 0:
                raise CliError(
                    f"the database at {where(url)} did not answer within {seconds:g} s "
                    f"(RAPPORT_DB_WAIT_SECONDS): {problem}",
                    UNAVAILABLE,
                ) from None
            pause = min(pause, left)
            log.warning(
                "waiting for the database at %s (%s): try %d, next in %.1f s, %.0f s left",
                where(url),
                problem,
                tries,
                pause,
                left,
                extra={"try": tries, "cause": problem},
            )
            sleep(pause)
            pause = min(2 * pause, LONGEST_PAUSE_SECONDS)
            continue
        if tries > 1:
            log.info("the database at %s answered (try %d)", where(url), tries)
        return
