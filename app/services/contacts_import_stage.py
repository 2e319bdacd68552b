"""The rows of a file waiting in ``contact_import_chunks``: a batch's worth per row.

A file is staged at once as chunks of JSON text (``[[line, data, errors], ...]``), each
the rows of one batch, and each batch reads, imports and deletes one chunk. Only the
validation process decodes a chunk (``contacts_import_prepare.validate_chunk``): the app
hands it the text as it came from the database. Staged a row per file row, as jsonb, the
rows cost PostgreSQL a jsonb value to parse, index, read back and delete each, and the
app a JSON decode and a pickle each (bench_import). The statements run on the driver:
the staging insert takes its chunks as arrays (``unnest``).
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
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import DriverStatement, fetch_column, fetch_written_row
from app.json_codec import to_json
from app.services.contacts_import_parse import RawRow
from app.services.contacts_import_prepare import Checked, validate_chunk

log = logging.getLogger("rapport.imports")

STAGE_CHUNKS = 20  # chunks per staging statement (a few MB of text each)

_STAGE = DriverStatement(
    text(
        """
        INSERT INTO contact_import_chunks
            (workspace_id, import_id, line, last_line, row_count, rows)
        SELECT CAST(:ws AS uuid), CAST(:job AS uuid), x.line, x.last_line, x.row_count, x.rows
        FROM unnest(CAST(:lines AS integer[]), CAST(:last_lines AS integer[]),
                    CAST(:counts AS integer[]), CAST(:bodies AS text[]))
             AS x(line, last_line, row_count, rows)
        """
    )
)
_NEXT = DriverStatement(
    text(
        """
        SELECT line, last_line, row_count, rows
        FROM contact_import_chunks
        WHERE workspace_id = CAST(:ws AS uuid) AND import_id = CAST(:job AS uuid)
          AND line > CAST(:after AS integer)
        ORDER BY line
        LIMIT 1
        """
    )
)


@dataclass(frozen=True, slots=True)
class Chunk:
    """The rows of one batch as staged: lines ``line`` to ``last_line``, ``rows`` JSON."""

    line: int
    last_line: int
    row_count: int
    rows: str


def chunk_json(rows: Sequence[RawRow]) -> str:
    """Staged rows as a chunk holds them (``[[line, data, errors], ...]``)."""
    return to_json([[r.line, r.data, r.errors] for r in rows])


async def stage_rows(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    job_id: uuid.UUID,
    rows: Sequence[RawRow],
    *,
    chunk_rows: int,
) -> None:
    """Store a file's parsed rows for the batches to import, ``chunk_rows`` per chunk."""
    chunks = [rows[i : i + chunk_rows] for i in range(0, len(rows), chunk_rows)]
    for start in range(0, len(chunks), STAGE_CHUNKS):
        some = chunks[start : start + STAGE_CHUNKS]
        params = {
            "ws": workspace_id,
            "job": job_id,
            "lines": [c[0].line for c in some],
            "last_lines": [c[-1].line for c in some],
            "counts": [len(c) for c in some],
            "bodies": [chunk_json(c) for c in some],
        }
        await fetch_column(session, _STAGE, params)


async def next_chunk(
    session: AsyncSession, workspace_id: uuid.UUID, job_id: uuid.UUID, *, after: int
) -> Chunk | None:
    """The first chunk still waiting after line ``after``, in file order."""
    params = {"ws": workspace_id, "job": job_id, "after": after}
    row = await fetch_written_row(session, _NEXT, params)
    return None if row is None else Chunk(**row)


def _worker_pool() -> Executor | None:
    """A process to validate in, forked by a fork server; None (a thread) without one.

    The fork server is a fresh single-threaded interpreter, started once per process at
    the first import, that has imported the validation code (``set_forkserver_preload``)
    and forks each worker from itself: so a worker starts with everything loaded, as a
    fork of this process would, without forking a process whose other threads may hold
    locks (Python 3.12 warns about exactly that). It runs nothing but ``validate_chunk``
    and is shut down with its ``Lookahead``.
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return None
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([validate_chunk.__module__])
    return ProcessPoolExecutor(max_workers=1, mp_context=context, initializer=gc.freeze)


class Lookahead:
    """The next batch of one ``run_job``: read in this batch's transaction, validated in
    another process while this batch's statements and Python work run, taken by the next
    batch if still current.

    Validation is most of the import's Python time and needs nothing but the rows
    (``contacts_import_prepare``). In a thread it shared the GIL with the batch being
    written, so the two only overlapped while the batch waited on PostgreSQL; in a
    process of its own it runs on the other core. Nothing of it is stored: a crash or a
    failed batch drops it and the next run reads the chunk again (a worker that died is
    replaced by validating inline). ``processed`` is the job's ``processed_rows`` the
    chunk follows: each committed batch raises it and deletes its chunk in the same
    transaction, so if it still holds, no other run imported a batch meanwhile and this
    chunk is the next.
    """

    def __init__(self) -> None:
        self._task: asyncio.Future[list[Checked]] | None = None
        self._chunk: Chunk | None = None
        self._processed = -1
        self._last = 0
        self._pool: Executor | None = None
        self._pooled = False  # the pool was made (it may be None: a thread)
        self.after = 0  # every staged row up to this line was imported (and deleted)

    def start(self, processed: int, last_line: int, chunk: Chunk | None) -> None:
        """Validate ``chunk``: the one after this batch, which ends at ``last_line`` and
        leaves ``processed`` rows done."""
        self._chunk, self._processed, self._last = chunk, processed, last_line
        if chunk is not None:
            if not self._pooled:
                self._pool, self._pooled = _worker_pool(), True
            loop = asyncio.get_running_loop()
            self._task = loop.run_in_executor(self._pool, validate_chunk, chunk.rows)

    async def take(self, processed: int) -> tuple[Chunk, list[Checked]] | None:
        """The chunk and its validation if it follows ``processed`` rows; else None."""
        task, self._task = self._task, None
        if task is None or self._chunk is None:
            return None
        try:
            checked = await task
        except BrokenExecutor:  # the worker died (killed, out of memory): validate here
            log.warning("the import's validation process stopped; validating inline")
            self._close()
            return None
        if processed != self._processed:
            return None
        return self._chunk, checked

    def committed(self) -> None:
        """The batch that read ahead committed: its chunk is gone, so later reads start
        after it (an index scan from the first line would step over every deleted chunk
        of the file)."""
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
