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
import logging
import multiprocessing
import os
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool as BrokenExecutor
from dataclasses import dataclass
from itertools import islice
from typing import TypeVar

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app import heap
from app.driver import DriverStatement, fetch_column, fetch_written_row
from app.json_codec import to_json
from app.services.contacts.importing.parse import RawRow
from app.services.contacts.importing.prepare import Checked, validate_chunk

OWNER_CHECK_SECONDS = 1.0

log = logging.getLogger("rapport.imports")
T = TypeVar("T")

STAGE_CHUNKS = 20  # chunks per staging statement (a few MB of text each)
#: Chunks a request validates ahead while it stages the file (``Lookahead.prime``): what
#: the worker gets through while bench_import's 100,000 rows are parsed and staged.
PRIMED_CHUNKS = 20

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


@dataclass(frozen=True, slots=True)
class _Pending:
    """A chunk being validated ahead, and the job's ``processed_rows`` it follows."""

    processed: int
    chunk: Chunk
    checked: asyncio.Future[list[Checked]]


def chunk_json(rows: Sequence[RawRow]) -> str:
    """Staged rows as a chunk holds them (``[[line, data, errors], ...]``)."""
    return to_json([[r.line, r.data, r.errors] for r in rows])


def _slices(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while some := list(islice(iterator, size)):
        yield some


async def stage_rows(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    job_id: uuid.UUID,
    rows: Iterable[RawRow],
    *,
    chunk_rows: int,
    ahead: Lookahead | None = None,
) -> int:
    """Store a file's parsed rows for the batches to import, ``chunk_rows`` per chunk;
    returns how many. ``rows`` may be read as they are staged (a request's file is
    parsed chunk by chunk), and ``ahead`` starts validating the first chunks meanwhile."""
    staged = 0
    for group in _slices(_chunks(rows, chunk_rows, ahead), STAGE_CHUNKS):
        params = {
            "ws": workspace_id,
            "job": job_id,
            "lines": [c.line for c in group],
            "last_lines": [c.last_line for c in group],
            "counts": [c.row_count for c in group],
            "bodies": [c.rows for c in group],
        }
        await fetch_column(session, _STAGE, params)
        staged += sum(c.row_count for c in group)
    return staged


def _chunks(rows: Iterable[RawRow], size: int, ahead: Lookahead | None) -> Iterator[Chunk]:
    """The file's chunks; each is primed once the next one is read, so that a file of one
    chunk is validated inline by its batch, without forking a worker for it."""
    done, previous = 0, None
    for some in _slices(rows, size):
        chunk = Chunk(some[0].line, some[-1].line, len(some), chunk_json(some))
        if ahead is not None and previous is not None:
            ahead.prime(done, previous)
            done += previous.row_count
        previous = chunk
        yield chunk


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
    return ProcessPoolExecutor(
        max_workers=1, mp_context=context, initializer=_worker_start, initargs=(os.getpid(),)
    )


def _worker_start(owner: int) -> None:
    """In the validation worker: tune the collector as the server's (``app.heap``), and
    exit once ``owner`` (the process that made the pool) is gone.

    A worker waits on its call queue, whose write end it holds itself, so an owner killed
    with SIGKILL (a crashed server) never closed it: the worker waited forever, and with
    it the fork server (each child holds its "alive" pipe) and the resource tracker.
    ``make test`` left exactly those three running after its kill -9 test.
    """
    heap.settle()
    threading.Thread(target=_exit_without, args=(owner,), daemon=True).start()


def _exit_without(owner: int) -> None:
    while True:
        time.sleep(OWNER_CHECK_SECONDS)
        try:
            os.kill(owner, 0)
        except ProcessLookupError:
            os._exit(0)


class Lookahead:
    """The next batches of one ``run_import``: read in a batch's transaction (or handed over
    by the request that staged them, ``prime``), validated in another process while the
    batches before them write, each taken by its batch if still current.

    Validation is most of the import's Python time and needs nothing but the rows
    (``contacts_import_prepare``). In a thread it shared the GIL with the batch being
    written, so the two only overlapped while the batch waited on PostgreSQL; in a
    process of its own it runs on the other core. Nothing of it is stored: a crash or a
    failed batch drops it and the next run reads the chunks again (a worker that died is
    replaced by validating inline). Each chunk waits with the job's ``processed_rows`` it
    follows: each committed batch raises it and deletes its chunk in the same
    transaction, so if it still holds, no other run imported a batch meanwhile and this
    chunk is the next.
    """

    def __init__(self) -> None:
        self._queue: deque[_Pending] = deque()
        self._writing = 0  # the last line of the batch being written
        self._pool: Executor | None = None
        self._pooled = False  # the pool was made (it may be None: a thread)
        self.after = 0  # every staged row up to this line was imported (and deleted)

    def start(self, processed: int, chunk: Chunk) -> None:
        """Validate ``chunk``, which follows ``processed`` rows done, after those waiting."""
        if not self._pooled:
            self._pool, self._pooled = _worker_pool(), True
        loop = asyncio.get_running_loop()
        checked = loop.run_in_executor(self._pool, validate_chunk, chunk.rows)
        self._queue.append(_Pending(processed, chunk, checked))

    def prime(self, processed: int, chunk: Chunk) -> None:
        """``start`` while a file is being staged, for its first ``PRIMED_CHUNKS`` chunks:
        the worker is idle until the first batch otherwise, while this process parses and
        stages the whole file (3 of bench_import's 19 s)."""
        if len(self._queue) < PRIMED_CHUNKS:
            self.start(processed, chunk)

    def tail(self) -> tuple[int, int] | None:
        """Where the chunks waiting end: the rows done after the last, and its last line."""
        if not self._queue:
            return None
        last = self._queue[-1]
        return last.processed + last.chunk.row_count, last.chunk.last_line

    async def take(self, processed: int) -> tuple[Chunk, list[Checked]] | None:
        """The next chunk and its validation if it follows ``processed`` rows; else None
        (and every chunk waiting is dropped: they were read for a job that moved on)."""
        if not self._queue:
            return None
        pending = self._queue.popleft()
        try:
            checked = await pending.checked
        except BrokenExecutor:  # the worker died (killed, out of memory): validate here
            log.warning("the import's validation process stopped; validating inline")
            self.close()
            return None
        if processed != pending.processed:
            self._drop()
            return None
        return pending.chunk, checked

    def writing(self, chunk: Chunk) -> None:
        """The batch writes ``chunk`` (taken or read): ``committed`` then starts after it."""
        self._writing = chunk.last_line

    def committed(self) -> None:
        """The batch committed: its chunk is gone, so later reads start after it (an
        index scan from the first line would step over every deleted chunk of the file)."""
        self.after = self._writing

    def close(self) -> None:
        """Drop the validations started and shut the worker down (one already running
        finishes there, unread); a later ``start`` makes a new one."""
        self._drop()
        self._shutdown()

    def _drop(self) -> None:
        for pending in self._queue:
            pending.checked.cancel()  # those not yet running never run
        self._queue.clear()

    def _shutdown(self) -> None:
        pool, self._pool, self._pooled = self._pool, None, False
        if pool is not None:
            pool.shutdown(wait=False)
