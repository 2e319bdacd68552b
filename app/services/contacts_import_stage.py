"""The rows of a file waiting in ``contact_import_rows``: stored at once, read per batch.

Both statements run on the driver with their rows as arrays (``unnest`` going in, one
JSON array per row coming out): through SQLAlchemy, staging 20,000 rows and reading them
back cost 2.4 s of bench_import's 20,000-row run, most of it bind and result processing
per value, and a multi-row ``VALUES`` of 25,000 parameters to plan for each chunk.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import DriverStatement, fetch_column
from app.services.contacts_import_insert import json_text
from app.services.contacts_import_parse import RawRow
from app.services.contacts_import_rows import Row
from app.services.contacts_import_write import validate_rows

Checked = Row | dict[str, Any]  # a valid row, or the error entry of a rejected one

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
            "datas": [json_text(r.data) for r in chunk],
            "errors": [json_text(r.errors) if r.errors else None for r in chunk],
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


class Lookahead:
    """The next batch of one ``run_job``: read in this batch's transaction, validated in a
    thread while this batch's statements run, taken by the next batch if still current.

    Validation is most of the import's Python time and needs nothing but the row; the
    database works while Python waits for it, so the two overlap instead of adding up.
    Nothing of it is stored: a crash or a failed batch drops it and the next run reads
    the staged rows again. ``processed`` is the job's ``processed_rows`` the rows follow:
    each committed batch raises it and deletes its rows in the same transaction, so if
    it still holds, no other run imported a batch meanwhile and these rows are the next.
    """

    def __init__(self) -> None:
        self._task: asyncio.Future[list[Checked]] | None = None
        self._rows: list[RawRow] = []
        self._processed = -1
        self._last = 0
        self.after = 0  # every staged row up to this line was imported (and deleted)

    def start(self, processed: int, last_line: int, rows: list[RawRow]) -> None:
        """Validate ``rows``: those after this batch, which ends at ``last_line`` and
        leaves ``processed`` rows done."""
        self._rows, self._processed, self._last = rows, processed, last_line
        if rows:
            self._task = asyncio.ensure_future(asyncio.to_thread(validate_rows, rows))

    async def take(self, processed: int) -> tuple[list[RawRow], list[Checked]] | None:
        """The rows and their validation if they follow ``processed`` rows; else None."""
        task, self._task = self._task, None
        if task is None:
            return None
        checked = await task
        if processed != self._processed:
            return None
        return self._rows, checked

    def committed(self) -> None:
        """The batch that read ahead committed: its rows are gone, so later reads start
        after them (an index scan from the first line would step over every deleted row
        of the file: 60 ms a batch late in a 20,000-row import)."""
        self.after = self._last

    async def settle(self) -> None:
        """Wait for a validation still running (a thread cannot be cancelled) and drop it."""
        task, self._task = self._task, None
        if task is not None:
            with contextlib.suppress(Exception):  # dropped: a batch that takes it would say
                await task
