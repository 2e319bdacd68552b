"""Readiness: can this process serve traffic against the schema it was built for?

A load balancer asks often and must get an answer quickly, also while the database
hangs: ``Readiness`` runs one check at a time and answers within ``ANSWER_WITHIN_SECONDS``
(the check itself goes on, bounded by the database timeouts, and the next question
reuses it). An unreachable database is an outage (``app.outages``: one log line per
outage); a schema at another migration is logged once per state.
"""

from __future__ import annotations

import asyncio
import logging
import time

from sqlalchemy import text

from app.db import Database
from app.migrations import head_revisions
from app.outages import describe, outages, unavailable_cause

log = logging.getLogger("rapport.health")
ANSWER_WITHIN_SECONDS = 1.0
UNREACHABLE = "database unreachable"
_VERSION = text("SELECT version_num FROM alembic_version")


async def readiness_problem(db: Database) -> str | None:
    """What keeps this process from serving, or None when it is ready."""
    began = time.perf_counter()
    try:
        async with (db.read_engine or db.engine).connect() as conn:
            current = frozenset((await conn.execute(_VERSION)).scalars())
    except Exception as exc:  # readiness always answers; what failed is in the answer
        cause = unavailable_cause(exc)
        if cause is not None:
            outages.failed(cause, where="readiness", began=began)
            return f"{UNREACHABLE}: {cause}"
        return f"database not migrated or not readable: {describe(exc)}"
    outages.recovered()
    expected = head_revisions()
    if current != expected:
        return (
            f"schema at {sorted(current)}, this build expects {sorted(expected)}: "
            "run 'rapport migrate'"
        )
    return None


class Readiness:
    """``readiness_problem``, one check in flight at a time, answered within a second."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._check: asyncio.Task[str | None] | None = None
        self._check_began = 0.0
        self._reported: str | None = None

    async def problem(self) -> str | None:
        if self._check is None or self._check.done():
            self._check = asyncio.ensure_future(readiness_problem(self.db))
            self._check_began = time.perf_counter()
        try:
            async with asyncio.timeout(ANSWER_WITHIN_SECONDS):
                problem = await asyncio.shield(self._check)
        except TimeoutError:
            outages.failed("no answer in time", where="readiness", began=self._check_began)
            return f"{UNREACHABLE}: no answer within {ANSWER_WITHIN_SECONDS:g} s"
        if problem is not None and problem.startswith(UNREACHABLE):
            return problem  # an outage: logged once by ``outages``
        if problem != self._reported:  # another state: logged once when it begins
            if problem is not None:
                log.warning("not ready: %s", problem)
            self._reported = problem
        return problem
