"""Import rows whose external id is already known: update that contact with the cells
the row gives, like ``PATCH`` (no write and no event when nothing changes).

A row is skipped whole (and reported) when it would replace an external id the contact
already has for that source, or when a concurrent writer claims one of its new ids first.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.models.contacts.tables import Contact
from app.services.contacts.importing.rows import WRITTEN, Key, Outcome, Row, claim, unclaim
from app.services.contacts.rows import (
    READ_COLUMNS,
    WRITABLE_COLUMNS,
    derive,
    rule_errors,
    to_read,
)


def _new_keys(row: Row, old: dict[str, Any]) -> tuple[list[Key], list[Key]]:
    """Keys the row adds to the contact, and keys clashing with a source it already has."""
    mine: dict[str, str] = old["external_ids"]
    adds = [k for k in row.keys if k[0] not in mine]
    clashes = [k for k in row.keys if k[0] in mine and mine[k[0]] != k[1]]
    return adds, clashes


async def update_known(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    targets: dict[uuid.UUID, Row],
    out: Outcome,
    at: datetime,
) -> None:
    if not targets:
        return
    stmt = (
        select(*READ_COLUMNS)
        .where(col(Contact.workspace_id) == workspace_id, col(Contact.id).in_(list(targets)))
        .with_for_update(of=Contact)
    )
    current = {r["id"]: dict(r) for r in (await session.execute(stmt)).mappings()}
    planned: list[tuple[uuid.UUID, Row, dict[str, Any], list[str], list[Key]]] = []
    for cid, row in targets.items():
        if cid not in current:  # erased since the lookup
            out.fail(row.line, ["external_ids"], "the contact was deleted meanwhile")
            continue
        old = current[cid]
        adds, clashes = _new_keys(row, old)
        if clashes:
            source, theirs = clashes[0][0], old["external_ids"][clashes[0][0]]
            msg = f"the contact already has a {source} id ({theirs}); it is not replaced"
            out.fail(row.line, ["external_ids", source], msg)
            continue
        values, forms = row.for_update(at)
        merged = derive({k: values.get(k, old[k]) for k in WRITABLE_COLUMNS}, forms)
        problems = rule_errors(merged, prefix=())
        if problems:
            out.errors.append({"line": row.line, "errors": [p.as_dict() for p in problems]})
            continue
        changed = sorted(k for k, v in values.items() if old[k] != v)
        planned.append((cid, row, merged, changed, adds))
    lost = await claim(session, workspace_id, [(c, k) for c, _r, _m, _ch, a in planned for k in a])
    if lost:  # a concurrent writer took an id first: the row is skipped whole
        undo = [(c, k) for c, _r, _m, _ch, adds in planned for k in adds if k not in lost]
        losers = {c for c, _r, _m, _ch, adds in planned if lost.intersection(adds)}
        await unclaim(session, workspace_id, [(c, k) for c, k in undo if c in losers])
        for c, row, _m, _ch, _a in planned:
            if c in losers:
                out.fail(row.line, ["external_ids"], "claimed by a concurrent write; import again")
        planned = [p for p in planned if p[0] not in losers]
    params: list[dict[str, Any]] = []
    for cid, _row, merged, changed, adds in planned:
        out.updated += 1
        fields = [c for c in changed if c != "advocacy_stage_manual"]
        if adds:
            fields.append("external_ids")
        if not fields:  # nothing new: like PATCH, no write and no event
            continue
        old = current[cid]
        params.append({**{f"v_{k}": merged[k] for k in WRITTEN}, "b_id": cid})
        stored = {**old, **merged, "version": old["version"] + 1, "updated_at": at}
        contact = to_read(stored, {**old["external_ids"], **dict(adds)})
        data = {**contact.model_dump(mode="json"), "changed_fields": fields}
        out.events.append(("contact.updated", out.event_json(data)))
        if "do_not_contact" in changed and merged["do_not_contact"]:
            out.stop.append(cid)
        elif "do_not_contact" in changed:
            out.resume.append(cid)
        if "consent" in changed and not merged["do_not_contact"]:
            out.reconsent.append(cid)
        if "segment" in changed or "tags" in changed:
            out.enrol.append(cid)
        if "time_zone" in changed:
            out.replan.append(cid)
    if params:
        conn = await session.connection()
        columns = Contact.__table__.c
        write = (
            update(Contact)
            .where(col(Contact.workspace_id) == workspace_id, col(Contact.id) == bindparam("b_id"))
            .values(
                {
                    **{k: bindparam(f"v_{k}", type_=columns[k].type) for k in WRITTEN},
                    "version": col(Contact.version) + 1,
                    "updated_at": at,
                }
            )
        )
        await conn.execute(write, params)
