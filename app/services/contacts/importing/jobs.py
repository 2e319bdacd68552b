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
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
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
from app.services.contacts.importing import repeats
from app.services.contacts.importing.options import ImportOptions, parse_mode
from app.services.contacts.importing.parse import RawRow
from app.services.contacts.importing.prepare import validate_chunk
from app.services.contacts.importing.problems import describe
from app.services.contacts.importing.repeats import Repeats
from app.services.contacts.importing.stage import Chunk, Lookahead, next_chunk, stage_rows
from app.services.contacts.importing.statistics import refresh_statistics
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
    columns: Sequence[str] = (),
    options: ImportOptions = ImportOptions(),
) -> ContactImport:
    """Store a ``queued`` job and its parsed rows; nothing is imported yet. ``rows`` are
    staged as they are read (``FileRefused`` from them leaves the transaction to roll
    back), and ``ahead``, to be handed to the job's ``run_import``, validates the first
    batches meanwhile (if the transaction then fails to commit, nothing runs it: the
    worker is shut down when it is collected). Rows sharing a key with another row of
    the file are noted as they pass and kept refused (``repeats``). ``columns`` is the
    CSV's header, which refused rows' errors name."""
    job = ContactImport(
        workspace_id=workspace_id,
        format=fmt,
        status="queued",
        total_rows=0,
        errors=[],
        dry_run=options.dry_run,
        match_on=",".join(options.match_on),
        mode=options.policy.spec,
        columns=list(columns),
        created_at=at,
    )
    session.add(job)
    await session.flush()
    seen = Repeats(options.match_on)
    try:
        staged = await stage_rows(
            session, workspace_id, job.id, seen.watch(rows), chunk_rows=BATCH_ROWS, ahead=ahead
        )
        await repeats.store(session, workspace_id, job.id, seen.refusals())
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


def options_of(job: ContactImport) -> ImportOptions:
    """What the job was asked to do, as its row keeps it."""
    match_on = tuple(k for k in job.match_on.split(",") if k)
    return ImportOptions(match_on, parse_mode(job.mode), job.dry_run)


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
        refused = await repeats.take(session, workspace_id, job_id, chunk.line, chunk.last_line)
        outcome = await write_rows(
            session,
            workspace_id,
            job_id,
            checked,
            members,
            at=at,
            options=options_of(job),
            refused=refused,
        )
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
        job.skipped_count += outcome.skipped
        job.error_count += len(outcome.errors)
        room = MAX_STORED_ERRORS - len(job.errors)
        if room > 0 and outcome.errors:
            shown = [describe(e["line"], e["errors"], job.columns) for e in outcome.errors[:room]]
            job.errors = [*job.errors, *shown]
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
            believed = await refresh_statistics(db, job.created_count, known=believed)
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
