"""Writing a batch of imported rows: validate every row, then write set-based.

A row is validated whole (schema, rules, owner, external ids) before anything of it is
written, and the writes of a batch are a handful of statements (one multi-row insert of
contacts, one of external ids, one executemany update), so 100,000 rows take seconds and
a bad row is reported with its line number and skipped, never half-written.
Rows whose external id is already known update that contact with the cells they give.

Imported contacts behave like contacts written through the API: their events carry the
whole contact (``contact.updated`` with ``changed_fields``), and the touch hooks run for
the whole batch at once: new contacts and changed segments or tags join plan audiences
(their touches are planned by the scheduler's top-up job within a tick, so planning does
not slow a big file down), do-not-contact cancels planned touches, a new time zone
re-plans them.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.models.contacts.tables import Contact
from app.services import platform, touches
from app.services.contacts.importing.events import (
    batch_times,
    consent_columns,
    created_event,
)
from app.services.contacts.importing.insert import insert_contacts
from app.services.contacts.importing.prepare import Checked
from app.services.contacts.importing.rows import WRITTEN, Key, Outcome, Row, claim, known_keys
from app.services.contacts.importing.update import update_known

BATCH_SIZE = 1000
_CONSENT = WRITTEN.index("consent")


def chunks(rows: list[Row]) -> list[list[Row]]:
    """Batches in file order; a batch ends before a row repeating one of its external ids,
    so a later row updates the contact an earlier row created."""
    out: list[list[Row]] = [[]]
    keys: set[Key] = set()
    for row in rows:
        if len(out[-1]) >= BATCH_SIZE or keys.intersection(row.keys):
            out.append([])
            keys = set()
        out[-1].append(row)
        keys.update(row.keys)
    return [c for c in out if c]


async def write_rows(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    job_id: uuid.UUID,
    checked: Sequence[Checked],
    members: set[uuid.UUID],
    *,
    at: datetime,
) -> Outcome:
    """Import these validated rows (a batch of the file, ``validate_rows``' result) and
    run the touch hooks once for all."""
    total = Outcome(import_id=str(job_id))
    valid: list[Row] = []
    for row in checked:
        if isinstance(row, Row):
            valid.append(row)
        else:
            total.errors.append(row)
    pending = chunks(valid)
    while pending:
        chunk = pending.pop(0)
        outcome = await _write_chunk(session, workspace_id, chunk, members, at, total.import_id)
        if outcome.deferred:
            pending.insert(0, outcome.deferred)
        total.created += outcome.created
        total.updated += outcome.updated
        total.errors += outcome.errors
        total.events += outcome.events
        total.enrol += outcome.enrol
        total.stop += outcome.stop
        total.resume += outcome.resume
        total.reconsent += outcome.reconsent
        total.replan += outcome.replan
    total.errors.sort(key=lambda e: int(e["line"]))
    await platform.record_serialised_events(session, workspace_id, total.events, at=at)
    await _touch_hooks(session, workspace_id, total, at)
    return total


async def _touch_hooks(
    session: AsyncSession, workspace_id: uuid.UUID, out: Outcome, at: datetime
) -> None:
    """The hooks ``contacts.update_contact`` runs, once for the batch."""
    stopped = set(out.stop)
    await touches.hold_for_do_not_contact(session, workspace_id, out.stop, at)
    await touches.resume_after_do_not_contact(session, workspace_id, out.resume, at)
    await touches.reconsider_consent(session, workspace_id, out.reconsent, at)
    replan = [c for c in dict.fromkeys(out.replan) if c not in stopped]
    await touches.replan_contacts(session, workspace_id, replan, at=at)
    enrol = list(dict.fromkeys(out.enrol))  # touches planned by the top-up job, not here
    await touches.auto_enroll(session, workspace_id, enrol, at, plan_now=0)


async def _write_chunk(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    chunk: list[Row],
    members: set[uuid.UUID],
    at: datetime,
    import_id: str,
) -> Outcome:
    out = Outcome(import_id=import_id)
    known = await known_keys(session, workspace_id, {k for r in chunk for k in r.keys})
    new: list[Row] = []
    targets: dict[uuid.UUID, Row] = {}
    for row in chunk:
        owner = row.owner_id
        if owner is not None and owner not in members:
            out.fail(row.line, ["owner_id"], "no such member in this workspace")
            continue
        found = {known[k] for k in row.keys if k in known}
        if len(found) > 1:
            out.fail(row.line, ["external_ids"], "the external ids belong to different contacts")
        elif found:
            target = found.pop()
            if target in targets:
                out.deferred.append(row)
            else:
                targets[target] = row
        elif row.problems:
            out.errors.append({"line": row.line, "errors": row.problems})
        else:
            new.append(row)
    await _insert_new(session, workspace_id, new, out, at)
    await update_known(session, workspace_id, targets, out, at)
    return out


async def _insert_new(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    new: list[Row],
    out: Outcome,
    at: datetime,
) -> None:
    """Insert the contacts these rows create: their columns and events were prepared with
    their validation (``Row``), so what is left here is what the batch sets (ids, times,
    consent stamps) and the statements."""
    if not new:
        return
    conn = await session.connection()
    ids = [uuid.uuid4() for _ in new]
    consents = [consent_columns(row.values[_CONSENT], at) for row in new]
    # Every stored column is known here (the rest are defaults): no RETURNING needed.
    per_column = zip(*(row.values for row in new), strict=True)
    columns: dict[str, Sequence[Any]] = dict(zip(WRITTEN, per_column, strict=True))
    columns.update(id=ids, version=[1] * len(new), consent=[stored for stored, _ in consents])
    inserting = asyncio.ensure_future(insert_contacts(session, workspace_id, columns, at=at))
    try:  # the events are built while PostgreSQL inserts (the task has sent the insert)
        await asyncio.sleep(0)
        times = batch_times(at)
        events = [
            created_event(row.event, cid, times, shown, out.import_id)
            for row, cid, (_stored, shown) in zip(new, ids, consents, strict=True)
        ]
    finally:
        await inserting
    claims = [(cid, key) for cid, row in zip(ids, new, strict=True) for key in row.keys]
    lost = await claim(session, workspace_id, claims)
    losing: set[uuid.UUID] = set()
    for cid, row in zip(ids, new, strict=True):
        if lost.intersection(row.keys):  # another writer created these ids meanwhile
            losing.add(cid)
            out.fail(row.line, ["external_ids"], "claimed by a concurrent write; import again")
    if losing:  # undo the rows (their claims that won go with them by cascade)
        await conn.execute(
            delete(Contact).where(
                col(Contact.workspace_id) == workspace_id, col(Contact.id).in_(losing)
            )
        )
    for cid, event in zip(ids, events, strict=True):
        if cid in losing:
            continue
        out.events.append(("contact.created", event))
        out.enrol.append(cid)
    out.created += len(new) - len(losing)
