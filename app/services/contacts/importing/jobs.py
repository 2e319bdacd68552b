"""Contact import jobs: accept a file at once, import it in committed batches.

``enqueue_import`` stores the job (``queued``) and the file's parsed rows, with their line
numbers, in the request's transaction, so the request answers at once and a job is never
lost. ``run_import`` then imports ``BATCH_ROWS`` rows per transaction: each batch takes the
job's row lock with ``FOR UPDATE SKIP LOCKED``, writes its contacts, deletes its staged
chunk and updates the job's progress, and commits. So:

* ``GET /v1/contacts/imports/{id}`` shows rows done of total while the import runs;
* a crash or a database failure loses at most the batch in flight (rolled back whole),
  and the next run resumes after the last committed batch; nothing is imported twice;
* two workers never import the same batch (the second skips the locked job).

The API starts ``run_import`` right after its response (a background task of the app); the
scheduler's ``contacts.imports`` job resumes any import still open (interrupted, or whose
batch failed), so an import finishes even when the process that accepted it died. A
batch that fails ``MAX_ATTEMPTS`` times fails the job (``detail`` says why).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.clock import Clock
from app.config import Settings
from app.db import Database
from app.errors import NotFound
from app.models.contacts.imports import (
    MAX_STORED_ERRORS,
    OPEN_STATUSES,
    ContactImport,
    ContactImportChunk,
)
from app.models.platform import Member
from app.services.contacts.importing.parse import RawRow
from app.services.contacts.importing.prepare import validate_chunk
from app.services.contacts.importing.stage import Chunk, Lookahead, next_chunk, stage_rows
from app.services.contacts.importing.write import write_rows

log = logging.getLogger("rapport.imports")

BATCH_ROWS = 1000  # rows per committed batch (per staged chunk)
MAX_ATTEMPTS = 3
RESUME_LIMIT = 20  # open imports looked at per scheduler tick

Progress = Callable[[ContactImport], Awaitable[None] | None]


async def enqueue_import(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    fmt: str,
    rows: Iterable[RawRow],
    *,
    at: datetime,
    ahead: Lookahead | None = None,
) -> ContactImport:
    """Store a ``queued`` job and its parsed rows; nothing is imported yet. ``rows`` are
    staged as they are read (``FileRefused`` from them leaves the transaction to roll
    back), and ``ahead``, to be handed to the job's ``run_import``, validates the first
    batches meanwhile (if the transaction then fails to commit, nothing runs it: the
    worker is shut down when it is collected)."""
    job = ContactImport(
        workspace_id=workspace_id,
        format=fmt,
        status="queued",
        total_rows=0,
        errors=[],
        created_at=at,
    )
    session.add(job)
    await session.flush()
    try:
        staged = await stage_rows(
            session, workspace_id, job.id, rows, chunk_rows=BATCH_ROWS, ahead=ahead
        )
    except BaseException:  # refused mid-file, or the database failed: nothing to run
        if ahead is not None:
            ahead.close()
        raise
    job.total_rows = staged
    await session.flush()
    return job


async def get_import(
    session: AsyncSession, workspace_id: uuid.UUID, job_id: uuid.UUID
) -> ContactImport:
    stmt = select(ContactImport).where(
        col(ContactImport.workspace_id) == workspace_id, col(ContactImport.id) == job_id
    )
    job = (await session.execute(stmt)).scalar_one_or_none()
    if job is None:
        raise NotFound("import not found")
    return job


async def _members(session: AsyncSession, workspace_id: uuid.UUID) -> set[uuid.UUID]:
    stmt = select(col(Member.id)).where(col(Member.workspace_id) == workspace_id)
    return set((await session.execute(stmt)).scalars().all())


async def import_batch(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    job_id: uuid.UUID,
    *,
    at: datetime,
    ahead: Lookahead | None = None,
) -> ContactImport | None:
    """Import the job's next batch in the caller's transaction; the job as it now stands.

    None when there is nothing to do here: the job is finished, or another worker holds
    it (``SKIP LOCKED``: that worker carries on, this one does not wait). With ``ahead``
    the batch takes the rows validated ahead, if they are still the next, and starts
    validating the chunk after those still waiting (``Lookahead``); without, it validates
    its own rows and nothing more.
    """
    stmt = (
        select(ContactImport)
        .where(
            col(ContactImport.workspace_id) == workspace_id,
            col(ContactImport.id) == job_id,
            col(ContactImport.status).in_(OPEN_STATUSES),
        )
        .with_for_update(skip_locked=True)
    )
    job = (await session.execute(stmt)).scalar_one_or_none()
    if job is None:
        return None
    c = ContactImportChunk
    taken = None if ahead is None else await ahead.take(job.processed_rows)
    chunk: Chunk | None
    if taken is not None:
        chunk, checked = taken
    else:
        after = 0 if ahead is None else ahead.after
        chunk = await next_chunk(session, workspace_id, job_id, after=after)
        checked = [] if chunk is None else validate_chunk(chunk.rows)
    last = True
    if chunk is not None:
        if ahead is not None:
            ahead.writing(chunk)
        # The chunk after those waiting in ``ahead`` (after this one without), validated
        # while this batch writes: so the worker always has one to go on with.
        done = job.processed_rows + chunk.row_count
        waiting = None if ahead is None else ahead.tail()
        processed, end = waiting or (done, chunk.last_line)
        upcoming = await next_chunk(session, workspace_id, job_id, after=end)
        if ahead is not None and upcoming is not None:
            ahead.start(processed, upcoming)
        last = waiting is None and upcoming is None
        members = await _members(session, workspace_id)
        outcome = await write_rows(session, workspace_id, job_id, checked, members, at=at)
        await session.execute(
            delete(c).where(
                col(c.workspace_id) == workspace_id,
                col(c.import_id) == job_id,
                col(c.line) <= chunk.line,
            )
        )
        job.processed_rows += chunk.row_count
        job.created_count += outcome.created
        job.updated_count += outcome.updated
        job.error_count += len(outcome.errors)
        room = MAX_STORED_ERRORS - len(job.errors)
        if room > 0 and outcome.errors:
            job.errors = [*job.errors, *outcome.errors[:room]]
        job.status = "running"
    if last:  # that was the last batch
        job.status = "completed"
        job.finished_at = at
    await session.flush()
    return job


async def _record_failure(
    db: Database, workspace_id: uuid.UUID, job_id: uuid.UUID, exc: Exception, at: datetime
) -> None:
    """After a batch rolled back: count the attempt; give up after ``MAX_ATTEMPTS``."""
    message = f"a batch failed ({type(exc).__name__}); it is retried"[:2000]
    job = ContactImport
    async with db.transaction() as session:
        attempts = (
            await session.execute(
                update(job)
                .where(col(job.workspace_id) == workspace_id, col(job.id) == job_id)
                .values(attempts=col(job.attempts) + 1, detail=message)
                .returning(col(job.attempts))
            )
        ).scalar_one()
        if attempts >= MAX_ATTEMPTS:
            await session.execute(
                update(job)
                .where(col(job.workspace_id) == workspace_id, col(job.id) == job_id)
                .values(
                    status="failed",
                    finished_at=at,
                    detail=f"gave up after {attempts} failed attempts ({type(exc).__name__})",
                )
            )
            await session.execute(
                delete(ContactImportChunk).where(
                    col(ContactImportChunk.workspace_id) == workspace_id,
                    col(ContactImportChunk.import_id) == job_id,
                )
            )


#: What an import outgrows: the foreign-key checks and external-id lookups of every later
#: batch are planned from these statistics. For contacts only the key's columns: the
#: size estimate is the table's whatever the columns, and the other columns' statistics
#: (a tsvector, JSON documents, arrays) made ANALYZE 25 times dearer (0.57-0.79 s against
#: 31 ms on 20,000 bench contacts; 2.65 s of PostgreSQL CPU for 100,000). Those are left
#: to autovacuum's analyze, which runs on its own once an import has grown the table.
_ANALYZE = (text("ANALYZE contacts (workspace_id, id)"), text("ANALYZE contact_external_ids"))
_ESTIMATE = text("SELECT reltuples FROM pg_class WHERE oid = 'contacts'::regclass")


async def _refresh_statistics(db: Database, imported: int, *, known: float = -1.0) -> float:
    """ANALYZE when the planner believes the contacts table smaller than this import;
    returns the size it now believes (``known`` is what it believed last time).

    A first import into a new workspace starts from an empty table, and the plans made
    then (a sequential scan for each foreign-key check) stay with the connection: batch
    after batch got slower with the table's size, five batches took 0.2 to 0.9 s each
    for one 1,000-row statement until autovacuum caught up (bench_import). Refreshing
    when the estimate falls below half of what was imported costs a few ANALYZEs per
    import (doubling steps), none once the table is known; and the estimate is read
    again only once the import has outgrown what was last read (a transaction of its
    own after every batch was 4 ms of each 1,000-row batch's wall time).
    """
    if imported / 2 <= known:
        return known
    try:
        async with db.transaction() as session:
            estimate = float((await session.execute(_ESTIMATE)).scalar_one())
            if estimate < imported / 2:
                for statement in _ANALYZE:
                    await session.execute(statement)
                estimate = float(imported)  # at least: the table holds the import
    except SQLAlchemyError:  # e.g. a role that may not ANALYZE: only slower, never wrong
        log.warning("could not refresh statistics for the import", exc_info=True)
        return float("inf")  # and do not try again for this run
    return estimate


async def run_import(
    db: Database,
    clock: Clock,
    workspace_id: uuid.UUID,
    job_id: uuid.UUID,
    *,
    progress: Progress | None = None,
    deadline: float | None = None,
    ahead: Lookahead | None = None,
) -> bool:
    """Import batches, one transaction each, until the job is done; False if one failed.

    Never raises for a failed batch: the failure is recorded on the job (and logged) and
    the scheduler's resume job tries again later. ``deadline`` (``time.monotonic()``)
    stops between batches so a scheduler tick stays short. Each batch validates the next
    one in another process while its own statements run (``Lookahead``): the CPU work of
    one and the database work of the other overlap, and each batch still commits on its
    own. ``ahead`` is the one the job was staged with (``enqueue_import``), validating its first
    batches already.
    """
    ahead = ahead or Lookahead()
    believed = -1.0  # the contacts table's size as the planner last believed it
    try:
        while deadline is None or time.monotonic() < deadline:
            at = clock.now()
            try:
                async with db.transaction() as session:
                    job = await import_batch(session, workspace_id, job_id, at=at, ahead=ahead)
            except Exception as exc:
                log.exception("import batch failed", extra={"import_id": str(job_id)})
                ahead.close()
                await _record_failure(db, workspace_id, job_id, exc, at)
                return False
            if job is None:
                return True
            ahead.committed()
            believed = await _refresh_statistics(db, job.created_count, known=believed)
            if progress is not None:
                waiting = progress(job)
                if waiting is not None:
                    await waiting
            if job.status != "running":
                return True
        return True
    finally:  # a deadline, a cancellation: the validation running ahead is dropped
        ahead.close()


async def resume_imports(db: Database, clock: Clock, settings: Settings) -> int:
    """Scheduler job: carry on every open import (oldest first) within the tick's budget.

    Served by a partial index on open imports, so a tick with none is one index probe.
    """
    deadline = time.monotonic() + max(1.0, settings.scheduler_interval_seconds * 0.8)
    async with db.transaction() as session:
        open_jobs: list[Any] = list(
            await session.execute(
                select(col(ContactImport.workspace_id), col(ContactImport.id))
                .where(col(ContactImport.status).in_(OPEN_STATUSES))
                .order_by(col(ContactImport.created_at))
                .limit(RESUME_LIMIT)
            )
        )
    for workspace_id, job_id in open_jobs:
        if time.monotonic() >= deadline:
            break
        await run_import(db, clock, workspace_id, job_id, deadline=deadline)
    return len(open_jobs)
