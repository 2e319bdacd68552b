"""The rows of a file waiting in ``contact_import_rows``: stored at once, read per batch.

Both statements run on the driver with their rows as arrays (``unnest`` going in, one
JSON array per row coming out): through SQLAlchemy, staging 20,000 rows and reading them
back cost 2.4 s of bench_import's 20,000-row run, most of it bind and result processing
per value, and a multi-row ``VALUES`` of 25,000 parameters to plan for each chunk.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import multiprocessing
import uuid
from collections.abc import Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool as BrokenExecutor

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import DriverStatement, fetch_column
from app.json_codec import to_json
from app.services.contacts_import_parse import RawRow
from app.services.contacts_import_prepare import Checked, validate_rows

log = logging.getLogger("rapport.imports")

STAGE_CHUNK = 20_000  # staged rows per statement (five statements for the largest file)

_STAGE = DriverStatement(
    text(
        """
        INSERT INTO contact_import_rows (workspace_id, import_id, line, data, errors)
        SELECT CAST(:ws AS uuid), CAST(:job AS uuid), x.line, CAST(x.data AS jsonb),
               CAST(x.errors AS jsonb)
        FROM unnest(CAST(:lines AS integer[]), CAST(:datas AS text[]),
                    CAST(:errors AS text[])) AS x(line, data, errors)
        """
    )
)
_STAGED = DriverStatement(
    text(
        """
        SELECT jsonb_build_array(line, data, errors)
        FROM contact_import_rows
        WHERE workspace_id = CAST(:ws AS uuid) AND import_id = CAST(:job AS uuid)
          AND line > CAST(:after AS integer)
        ORDER BY line
        LIMIT CAST(:limit AS integer)
        """
    )
)


async def stage_rows(
    session: AsyncSession, workspace_id: uuid.UUID, job_id: uuid.UUID, rows: Sequence[RawRow]
) -> None:
    """Store a file's parsed rows for the batches to import (errors: null when none)."""
    for start in range(0, len(rows), STAGE_CHUNK):
        chunk = rows[start : start + STAGE_CHUNK]
        params = {
            "ws": workspace_id,
            "job": job_id,
            "lines": [r.line for r in chunk],
            "datas": [to_json(r.data) for r in chunk],
            "errors": [to_json(r.errors) if r.errors else None for r in chunk],
        }
        await fetch_column(session, _STAGE, params)


async def staged_rows(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    job_id: uuid.UUID,
    *,
    limit: int,
    after: int = 0,
) -> list[RawRow]:
    """The next ``limit`` rows waiting after line ``after``, in file order."""
    params = {"ws": workspace_id, "job": job_id, "after": after, "limit": limit}
    found = await fetch_column(session, _STAGED, params)
    return [RawRow(line, data, errors or []) for line, data, errors in found]


def _worker_pool() -> Executor | None:
    """A process to validate in, forked by a fork server; None (a thread) without one.

    The fork server is a fresh single-threaded interpreter, started once per process at
    the first import, that has imported the validation code (``set_forkserver_preload``)
    and forks each worker from itself: so a worker starts with everything loaded, as a
    fork of this process would, without forking a process whose other threads may hold
    locks (Python 3.12 warns about exactly that). It runs nothing but ``validate_rows`` and
    is shut down with its ``Lookahead``.
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return None
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([validate_rows.__module__])
    return ProcessPoolExecutor(max_workers=1, mp_context=context, initializer=gc.freeze)


class Lookahead:
    """The next batch of one ``run_job``: read in this batch's transaction, validated in
    another process while this batch's statements and Python work run, taken by the next
    batch if still current.

    Validation is most of the import's Python time and needs nothing but the row
    (``contacts_import_prepare``). In a thread it shared the GIL with the batch being
    written, so the two only overlapped while the batch waited on PostgreSQL; in a
    process of its own it runs on the other core. Nothing of it is stored: a crash or a
    failed batch drops it and the next run reads the staged rows again (a worker that
    died is replaced by validating inline). ``processed`` is the job's
    ``processed_rows`` the rows follow: each committed batch raises it and deletes its
    rows in the same transaction, so if it still holds, no other run imported a batch
    meanwhile and these rows are the next.
    """

    def __init__(self) -> None:
        self._task: asyncio.Future[list[Checked]] | None = None
        self._rows: list[RawRow] = []
        self._processed = -1
        self._last = 0
        self._pool: Executor | None = None
        self._pooled = False  # the pool was made (it may be None: a thread)
        self.after = 0  # every staged row up to this line was imported (and deleted)

    def start(self, processed: int, last_line: int, rows: list[RawRow]) -> None:
        """Validate ``rows``: those after this batch, which ends at ``last_line`` and
        leaves ``processed`` rows done."""
        self._rows, self._processed, self._last = rows, processed, last_line
        if rows:
            if not self._pooled:
                self._pool, self._pooled = _worker_pool(), True
            loop = asyncio.get_running_loop()
            self._task = loop.run_in_executor(self._pool, validate_rows, rows)

    async def take(self, processed: int) -> tuple[list[RawRow], list[Checked]] | None:
        """The rows and their validation if they follow ``processed`` rows; else None."""
        task, self._task = self._task, None
        if task is None:
            return None
        try:
            checked = await task
        except BrokenExecutor:  # the worker died (killed, out of memory): validate here
            log.warning("the import's validation process stopped; validating inline")
            self._close()
            return None
        if processed != self._processed:
            return None
        return self._rows, checked

    def committed(self) -> None:
        """The batch that read ahead committed: its rows are gone, so later reads start
        after them (an index scan from the first line would step over every deleted row
        of the file: 60 ms a batch late in a 20,000-row import)."""
        self.after = self._last

    async def settle(self) -> None:
        """Wait for a validation still running (it cannot be cancelled), drop it and shut
        the worker down; a later ``start`` makes a new one."""
        task, self._task = self._task, None
        if task is not None:
            with contextlib.suppress(Exception):  # dropped: a batch that takes it would say
                await task
        self._close()

    def _close(self) -> None:
        pool, self._pool, self._pooled = self._pool, None, False
        if pool is not None:
            pool.shutdown(wait=False)
