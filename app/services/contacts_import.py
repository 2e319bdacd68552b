"""Importing contacts in bulk: validate every row, then write set-based per batch.

A row is validated whole (schema, rules, owner, external ids) before anything of it is
written, and the writes of a batch are a handful of statements (one multi-row insert of
contacts, one of external ids, one executemany update), so 100,000 rows take seconds and
a bad row is reported with its line number and skipped, never half-written.
Rows whose external id is already known update that contact with the cells they give.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import bindparam, delete, insert, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import NotFound
from app.models.contact import Contact, ContactExternalId
from app.models.contact_import import MAX_STORED_ERRORS, ContactImport
from app.models.contact_schemas import ContactCreate
from app.models.member import Member
from app.services.contact_rows import (
    DEFAULT_ROW,
    READ_COLUMNS,
    WRITABLE_COLUMNS,
    derive,
    input_columns,
    rule_errors,
)
from app.services.contacts_import_parse import RawRow
from app.services.events import record_events

BATCH_SIZE = 1000
Key = tuple[str, str]
WRITTEN = (
    *WRITABLE_COLUMNS,
    "sort_name",
    "primary_email",
    "primary_phone",
    "email_search",
    "phone_search",
)
Ext = ContactExternalId


@dataclass
class _Row:
    line: int
    model: ContactCreate
    keys: list[Key]


@dataclass
class _Outcome:
    created: int = 0
    updated: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    deferred: list[_Row] = field(default_factory=list)

    def fail(self, line: int, loc: Sequence[str | int], msg: str) -> None:
        self.errors.append({"line": line, "errors": [{"loc": list(loc), "msg": msg}]})


def validate_row(raw: RawRow) -> _Row | dict[str, Any]:
    """The row as a ``ContactCreate``, or its error entry."""
    if raw.errors:
        return {"line": raw.line, "errors": raw.errors}
    try:
        model = ContactCreate.model_validate(raw.data)
    except ValidationError as exc:
        errors = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()]
        return {"line": raw.line, "errors": errors}
    return _Row(raw.line, model, sorted(model.external_ids.items()))


async def create_job(
    session: AsyncSession, workspace_id: uuid.UUID, fmt: str, total: int, *, at: datetime
) -> ContactImport:
    job = ContactImport(
        workspace_id=workspace_id, format=fmt, total_rows=total, errors=[], created_at=at
    )
    session.add(job)
    await session.flush()
    return job


async def get_job(
    session: AsyncSession, workspace_id: uuid.UUID, job_id: uuid.UUID
) -> ContactImport:
    stmt = select(ContactImport).where(
        ContactImport.workspace_id == workspace_id, ContactImport.id == job_id
    )
    job = (await session.execute(stmt)).scalar_one_or_none()
    if job is None:
        raise NotFound("import not found")
    return job


def _chunks(rows: list[_Row]) -> list[list[_Row]]:
    """Batches in file order; a batch ends before a row repeating one of its external ids,
    so a later row updates the contact an earlier row created."""
    chunks: list[list[_Row]] = [[]]
    keys: set[Key] = set()
    for row in rows:
        if len(chunks[-1]) >= BATCH_SIZE or keys.intersection(row.keys):
            chunks.append([])
            keys = set()
        chunks[-1].append(row)
        keys.update(row.keys)
    return [c for c in chunks if c]


async def run_import(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    job: ContactImport,
    raw_rows: list[RawRow],
    *,
    at: datetime,
    after_batch: Callable[[ContactImport], Awaitable[None]] | None = None,
) -> ContactImport:
    """Process every row; ``after_batch`` may commit so progress shows while it runs."""
    members = set(
        (await session.execute(select(Member.id).where(Member.workspace_id == workspace_id)))
        .scalars()
        .all()
    )
    valid: list[_Row] = []
    errors: list[dict[str, Any]] = []
    for raw in raw_rows:
        checked = validate_row(raw)
        if isinstance(checked, _Row):
            valid.append(checked)
        else:
            errors.append(checked)
    job.processed_rows = len(errors)
    pending = _chunks(valid)
    while pending:
        chunk = pending.pop(0)
        outcome = await _write_chunk(session, workspace_id, job.id, chunk, members, at)
        if outcome.deferred:
            pending.insert(0, outcome.deferred)
        errors += outcome.errors
        job.created_count += outcome.created
        job.updated_count += outcome.updated
        job.processed_rows += len(chunk) - len(outcome.deferred)
        job.error_count = len(errors)
        job.errors = sorted(errors, key=lambda e: int(e["line"]))[:MAX_STORED_ERRORS]
        await session.flush()
        if after_batch is not None:
            await after_batch(job)
    job.error_count = len(errors)
    job.errors = sorted(errors, key=lambda e: int(e["line"]))[:MAX_STORED_ERRORS]
    job.status = "completed"
    job.finished_at = at
    await session.flush()
    return job


async def _known_keys(
    session: AsyncSession, workspace_id: uuid.UUID, keys: set[Key]
) -> dict[Key, uuid.UUID]:
    if not keys:
        return {}
    stmt = select(Ext.source, Ext.external_id, Ext.contact_id).where(
        Ext.workspace_id == workspace_id, tuple_(Ext.source, Ext.external_id).in_(list(keys))
    )
    return {(r.source, r.external_id): r.contact_id for r in await session.execute(stmt)}


async def _claim(
    session: AsyncSession, workspace_id: uuid.UUID, claims: list[tuple[uuid.UUID, Key]]
) -> set[Key]:
    """Insert external ids; returns the keys a concurrent writer took first."""
    if not claims:
        return set()
    values = [
        {"workspace_id": workspace_id, "source": s, "external_id": e, "contact_id": c}
        for c, (s, e) in claims
    ]
    stmt = (
        pg_insert(Ext)
        .values(values)
        .on_conflict_do_nothing()
        .returning(Ext.source, Ext.external_id)
    )
    won = {(r.source, r.external_id) for r in await session.execute(stmt)}
    return {key for _c, key in claims if key not in won}


async def _write_chunk(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    job_id: uuid.UUID,
    chunk: list[_Row],
    members: set[uuid.UUID],
    at: datetime,
) -> _Outcome:
    out = _Outcome()
    known = await _known_keys(session, workspace_id, {k for r in chunk for k in r.keys})
    new: list[tuple[_Row, dict[str, Any]]] = []
    targets: dict[uuid.UUID, _Row] = {}
    for row in chunk:
        owner = row.model.owner_id
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
        else:
            values = derive({**DEFAULT_ROW, **input_columns(row.model, at=at)})
            problems = rule_errors(values, prefix=())
            if problems:
                out.errors.append({"line": row.line, "errors": [p.as_dict() for p in problems]})
            else:
                new.append((row, values))
    events = await _insert_new(session, workspace_id, new, out, at)
    events += await _update_known(session, workspace_id, targets, out, at)
    await record_events(
        session,
        workspace_id,
        [(kind, {**data, "import_id": str(job_id)}) for kind, data in events],
        at=at,
    )
    return out


async def _insert_new(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    new: list[tuple[_Row, dict[str, Any]]],
    out: _Outcome,
    at: datetime,
) -> list[tuple[str, dict[str, Any]]]:
    if not new:
        return []
    conn = await session.connection()
    ids = [uuid.uuid4() for _ in new]
    rows = [
        {**values, "workspace_id": workspace_id, "id": cid, "created_at": at, "updated_at": at}
        for cid, (_row, values) in zip(ids, new, strict=True)
    ]
    await conn.execute(insert(Contact), rows)
    claims = [(cid, key) for cid, (row, _v) in zip(ids, new, strict=True) for key in row.keys]
    lost = await _claim(session, workspace_id, claims)
    losers = [
        (cid, row) for cid, (row, _v) in zip(ids, new, strict=True) if lost.intersection(row.keys)
    ]
    if losers:  # another writer created these ids meanwhile: undo the rows, report them
        gone = [cid for cid, _row in losers]
        await conn.execute(
            delete(Contact).where(Contact.workspace_id == workspace_id, Contact.id.in_(gone))
        )
        for _cid, row in losers:
            out.fail(row.line, ["external_ids"], "claimed by a concurrent write; import again")
    losing = {cid for cid, _row in losers}
    created = [cid for cid in ids if cid not in losing]
    out.created += len(created)
    return [("contact.created", {"id": str(cid)}) for cid in created]


async def _update_known(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    targets: dict[uuid.UUID, _Row],
    out: _Outcome,
    at: datetime,
) -> list[tuple[str, dict[str, Any]]]:
    if not targets:
        return []
    stmt = (
        select(*READ_COLUMNS)
        .where(Contact.workspace_id == workspace_id, Contact.id.in_(list(targets)))
        .with_for_update(of=Contact)
    )
    current = {r["id"]: dict(r) for r in (await session.execute(stmt)).mappings()}
    params: list[dict[str, Any]] = []
    events: list[tuple[str, dict[str, Any]]] = []
    claims: list[tuple[uuid.UUID, Key]] = []
    for cid, row in targets.items():
        if cid not in current:  # erased since the lookup
            out.fail(row.line, ["external_ids"], "the contact was deleted meanwhile")
            continue
        old = current[cid]
        values = input_columns(row.model, at=at)
        merged = derive({k: values.get(k, old[k]) for k in WRITABLE_COLUMNS})
        problems = rule_errors(merged, prefix=())
        if problems:
            out.errors.append({"line": row.line, "errors": [p.as_dict() for p in problems]})
            continue
        claims += [(cid, k) for k in row.keys if k[0] not in old["external_ids"]]
        changed = sorted(k for k, v in values.items() if old[k] != v)
        params.append({**{f"v_{k}": merged[k] for k in WRITTEN}, "b_id": cid})
        events.append(("contact.updated", {"id": str(cid), "changed_fields": changed}))
    await _claim(session, workspace_id, claims)
    if params:
        conn = await session.connection()
        columns = Contact.__table__.c
        write = (
            update(Contact)
            .where(Contact.workspace_id == workspace_id, Contact.id == bindparam("b_id"))
            .values(
                {
                    **{k: bindparam(f"v_{k}", type_=columns[k].type) for k in WRITTEN},
                    "version": Contact.version + 1,
                    "updated_at": at,
                }
            )
        )
        await conn.execute(write, params)
    out.updated += len(params)
    return events
