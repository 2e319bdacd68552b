"""Writing a batch of imported rows: validate every row, match, then write set-based.

A row is validated whole (schema, rules, owner, external ids) before anything of it is
written, and the writes of a batch are a handful of statements (one multi-row insert of
contacts with their enrolments, one of external ids, one executemany update), so 100,000
rows take seconds and a bad row is reported with its line number and skipped, never
half-written. A row that matches an existing contact (``match``: by external id, e-mail
or phone, as the import asks) updates it as its ``mode`` lets it (``update``); rows of
the file that share a key were refused before (``repeats``), and rows of one batch that
share one as validated are refused here. A dry run decides all the same and writes
nothing.

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
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.models.contacts.tables import Contact
from app.services import platform, touches
from app.services.contacts.importing import match
from app.services.contacts.importing.events import (
    batch_times,
    consent_columns,
    created_event,
)
from app.services.contacts.importing.insert import document, insert_contacts
from app.services.contacts.importing.options import ImportOptions
from app.services.contacts.importing.prepare import Checked
from app.services.contacts.importing.repeats import batch_refusals
from app.services.contacts.importing.rows import Outcome, Row, claim
from app.services.contacts.importing.update import update_known

Refused = Mapping[int, list[dict[str, Any]]]


def _sorted_out(
    checked: Sequence[Checked], refused: Refused, options: ImportOptions, out: Outcome
) -> list[Row]:
    """The rows still to write: those validated, refused by neither the file's repeats
    (``refused``, by line) nor a key repeated in this batch; the others go to ``out``."""
    valid: list[Row] = []
    for row in checked:
        line = row.line if isinstance(row, Row) else int(row["line"])
        if line in refused:
            errors = [] if isinstance(row, Row) else row["errors"]
            out.errors.append({"line": line, "errors": [*refused[line], *errors]})
        elif isinstance(row, Row):
            valid.append(row)
        else:
            out.errors.append(row)
    repeated = batch_refusals(valid, options.match_on)
    for line, errors in repeated.items():
        out.errors.append({"line": line, "errors": errors})
    return [row for row in valid if row.line not in repeated]


async def write_rows(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    job_id: uuid.UUID,
    checked: Sequence[Checked],
    members: set[uuid.UUID],
    *,
    at: datetime,
    options: ImportOptions = ImportOptions(),
    refused: Refused | None = None,
) -> Outcome:
    """Import these validated rows (a batch of the file, ``validate_rows``' result) and
    run the touch hooks once for all; a dry run counts and writes nothing."""
    total = Outcome(import_id=str(job_id))
    pending = _sorted_out(checked, refused or {}, options, total)
    while pending:  # rows matching a contact an earlier row of the batch matched go after
        outcome = await _write_some(session, workspace_id, pending, members, at, options, total)
        pending = outcome.deferred
        total.created += outcome.created
        total.updated += outcome.updated
        total.skipped += outcome.skipped
        total.errors += outcome.errors
        total.events += outcome.events
        total.enrol += outcome.enrol
        total.stop += outcome.stop
        total.resume += outcome.resume
        total.reconsent += outcome.reconsent
        total.replan += outcome.replan
    total.errors.sort(key=lambda e: int(e["line"]))
    if not options.dry_run:
        await platform.record_serialised_events(session, workspace_id, total.events, at=at)
        await _touch_hooks(session, workspace_id, total, at)
    return total


async def _touch_hooks(
    session: AsyncSession, workspace_id: uuid.UUID, out: Outcome, at: datetime
) -> None:
    """The hooks ``contacts.update_contact`` runs, once for the batch (new contacts were
    enrolled by the statement that inserted them)."""
    stopped = set(out.stop)
    await touches.hold_for_do_not_contact(session, workspace_id, out.stop, at)
    await touches.resume_after_do_not_contact(session, workspace_id, out.resume, at)
    await touches.reconsider_consent(session, workspace_id, out.reconsent, at)
    replan = [c for c in dict.fromkeys(out.replan) if c not in stopped]
    await touches.replan_contacts(session, workspace_id, replan, at=at)
    enrol = list(dict.fromkeys(out.enrol))  # touches planned by the top-up job, not here
    await touches.auto_enroll(session, workspace_id, enrol, at, plan_now=0)


async def _write_some(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    rows: list[Row],
    members: set[uuid.UUID],
    at: datetime,
    options: ImportOptions,
    total: Outcome,
) -> Outcome:
    out = Outcome(import_id=total.import_id)
    owned: list[Row] = []
    for row in rows:
        if row.owner_id is not None and row.owner_id not in members:
            out.fail(row.line, ["owner_id"], "no such member in this workspace", row.owner_id)
        else:
            owned.append(row)
    found = await match.lookup(session, workspace_id, owned, options.match_on)
    decided = match.decide(owned, found, options.match_on, out)
    new = []
    for row in decided.new:
        if row.problems:
            out.errors.append({"line": row.line, "errors": row.problems})
        else:
            new.append(row)
    if options.dry_run:
        out.created += len(new)
    else:
        await _insert_new(session, workspace_id, new, out, at)
    await update_known(
        session,
        workspace_id,
        decided.targets,
        out,
        at,
        policy=options.policy,
        dry_run=options.dry_run,
    )
    out.deferred = decided.later
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
    ids = [row.contact_id for row in new]
    consents = [consent_columns(row.consent, at) for row in new]
    rows = document([(stored, row.columns) for row, (stored, _) in zip(new, consents, strict=True)])
    inserting = asyncio.ensure_future(insert_contacts(session, workspace_id, rows, at=at))
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
    losing: set[str] = set()
    for cid, row in zip(ids, new, strict=True):
        if lost.intersection(row.keys):  # another writer created these ids meanwhile
            losing.add(cid)
            out.fail(row.line, ["external_ids"], "claimed by a concurrent write; import again")
    if losing:  # undo the rows (their claims that won go with them by cascade)
        await conn.execute(
            delete(Contact).where(
                col(Contact.workspace_id) == workspace_id,
                col(Contact.id).in_([uuid.UUID(cid) for cid in losing]),
            )
        )
    for cid, event in zip(ids, events, strict=True):
        if cid not in losing:  # (the insert enrolled them; the undone ones' go by cascade)
            out.events.append(("contact.created", event))
    out.created += len(new) - len(losing)
