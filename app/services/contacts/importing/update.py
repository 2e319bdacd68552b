"""Import rows that matched a contact: change what the import's ``mode`` lets them, like
``PATCH`` (no write and no event when nothing changes: the row is counted skipped).

Each column follows its policy (``options.Policy``): ``overwrite`` sets what the row
gives, ``fill_empty`` only what the contact does not have yet (no value, an empty list,
``do_not_contact`` still false, an advocacy stage nobody set by hand), ``skip`` leaves
it. Address, consent and custom fields go key by key, as a CSV's ``address.city`` or
``consent.sms`` columns do, so a row giving a city never drops the street. A consent
entry that says what the contact's already says keeps its time.

A row is refused whole when it would replace an external id the contact already has for
that source, when the result breaks a rule of contacts, or when a concurrent writer
claims one of its new ids first.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.models.contacts.tables import Contact
from app.services.contacts.importing.options import Policy
from app.services.contacts.importing.rows import WRITTEN, Key, Outcome, Row, claim, unclaim
from app.services.contacts.rows import READ_COLUMNS, WRITABLE_COLUMNS, derive, rule_errors, to_read

_BY_KEY = ("address", "consent", "custom_fields")


def _empty(value: Any) -> bool:
    return value is None or value is False or value in ("", [], {})


def _by_key(
    name: str, given: dict[str, Any], current: dict[str, Any], policy: Policy, at: datetime
) -> dict[str, Any]:
    merged = dict(current)
    for key, item in given.items():
        mode = policy.of(name, key)
        if mode == "skip" or not (mode == "overwrite" or _empty(merged.get(key))):
            continue
        if name == "consent":
            now = merged.get(key) or {}
            same = all(now.get(k) == item.get(k) for k in ("status", "source"))
            if same and item.get("at") is None:
                continue  # what the contact already says: it keeps its time
            item = {**item, "at": item.get("at") or at.isoformat()}
        merged[key] = item
    return merged


def to_write(
    given: dict[str, Any], old: dict[str, Any], policy: Policy, at: datetime
) -> dict[str, Any]:
    """The columns a matched row sets on the contact ``old``, by ``policy``."""
    out: dict[str, Any] = {}
    for name, value in given.items():
        if name == "advocacy_stage_manual":
            continue  # goes with advocacy_stage
        if name in _BY_KEY and isinstance(value, dict):
            current = old[name] or {}
            merged = _by_key(name, value, current, policy, at)
            if merged != current:
                out[name] = merged
            continue
        mode = policy.of(name)
        empty = not old["advocacy_stage_manual"] if name == "advocacy_stage" else _empty(old[name])
        if mode == "overwrite" or (mode == "fill_empty" and empty):
            out[name] = value
            if name == "advocacy_stage":
                out["advocacy_stage_manual"] = given.get("advocacy_stage_manual", True)
    return out


def _new_keys(row: Row, old: dict[str, Any], policy: Policy) -> tuple[list[Key], list[Key]]:
    """Keys the row adds to the contact, and keys clashing with a source it already has."""
    mine: dict[str, str] = old["external_ids"]
    given = [k for k in row.keys if policy.of("external_ids", k[0]) != "skip"]
    adds = [k for k in given if k[0] not in mine]
    clashes = [k for k in given if k[0] in mine and mine[k[0]] != k[1]]
    return adds, clashes


Planned = tuple[uuid.UUID, Row, dict[str, Any], list[str], list[Key]]


async def update_known(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    targets: dict[uuid.UUID, Row],
    out: Outcome,
    at: datetime,
    *,
    policy: Policy,
    dry_run: bool = False,
) -> None:
    """Update each target contact with its row; a dry run only counts what it would do."""
    if not targets:
        return
    stmt = select(*READ_COLUMNS).where(
        col(Contact.workspace_id) == workspace_id, col(Contact.id).in_(list(targets))
    )
    if not dry_run:
        stmt = stmt.with_for_update(of=Contact)
    current = {r["id"]: dict(r) for r in (await session.execute(stmt)).mappings()}
    planned: list[Planned] = []
    for cid, row in targets.items():
        if cid not in current:  # erased since the lookup
            out.fail(row.line, [], "the contact it matched was deleted meanwhile; import again")
            continue
        old = current[cid]
        adds, clashes = _new_keys(row, old, policy)
        if clashes:
            source, theirs = clashes[0][0], old["external_ids"][clashes[0][0]]
            msg = f"the contact it matched has another {source} id ({theirs}); it is not replaced"
            out.fail(row.line, ["external_ids", source], msg, value=clashes[0][1])
            continue
        given, forms = row.for_update()
        values = to_write(given, old, policy, at)
        merged = derive({k: values.get(k, old[k]) for k in WRITABLE_COLUMNS}, forms)
        problems = rule_errors(merged, prefix=())
        if problems:
            out.errors.append({"line": row.line, "errors": [p.as_dict() for p in problems]})
            continue
        changed = sorted(k for k, v in values.items() if old[k] != v)
        planned.append((cid, row, merged, changed, adds))
    if not dry_run:
        planned = await _claim_new_keys(session, workspace_id, planned, out)
    params: list[dict[str, Any]] = []
    for cid, _row, merged, changed, adds in planned:
        fields = [c for c in changed if c != "advocacy_stage_manual"]
        if adds:
            fields.append("external_ids")
        if not fields:  # nothing new: like PATCH, no write and no event
            out.skipped += 1
            continue
        out.updated += 1
        if dry_run:
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
        await _write(session, workspace_id, params, at)


async def _claim_new_keys(
    session: AsyncSession, workspace_id: uuid.UUID, planned: list[Planned], out: Outcome
) -> list[Planned]:
    """Claim the external ids the rows add; a row whose claim a concurrent writer won is
    refused whole (its other claims undone)."""
    lost = await claim(session, workspace_id, [(c, k) for c, _r, _m, _ch, a in planned for k in a])
    if not lost:
        return planned
    undo = [(c, k) for c, _r, _m, _ch, adds in planned for k in adds if k not in lost]
    losers = {c for c, _r, _m, _ch, adds in planned if lost.intersection(adds)}
    await unclaim(session, workspace_id, [(c, k) for c, k in undo if c in losers])
    for c, row, _m, _ch, _a in planned:
        if c in losers:
            out.fail(row.line, ["external_ids"], "claimed by a concurrent write; import again")
    return [p for p in planned if p[0] not in losers]


async def _write(
    session: AsyncSession, workspace_id: uuid.UUID, params: list[dict[str, Any]], at: datetime
) -> None:
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
