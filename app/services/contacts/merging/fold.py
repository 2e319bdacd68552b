"""Folding one contact into another (finding them is ``contacts_duplicates``).

Merge must move *everything* that points at the contact being folded in, including
what later features add. Each feature registers its references here:

* a plain ``(table, column)`` pair in ``MERGE_REFERENCES`` when one
  ``UPDATE table SET column = :keep WHERE workspace_id = :ws AND column = :other`` is
  enough (the column is not part of a unique key);
* a hook in ``MERGE_HOOKS`` when re-pointing can collide with a unique key (the hook
  decides which row survives), e.g. relationships and activity participants;
  ``MERGE_TIMED_HOOKS`` when the hook also stamps rows with the merge time (enrolments,
  touches and scores, in ``app.services.contacts.merging.history``).

After the rows move, the kept contact gets the hooks a contact change runs: planned
touches are cancelled when do-not-contact carries over, otherwise its touches are planned
again (its time zone or observances may have come from the other contact, and moved
enrolments were planned in the other's zone) and it joins the plans whose audience its
merged segment and tags now match.

Anything left unregistered is deleted with the merged contact by ``ON DELETE CASCADE``,
so forgetting to register loses history rather than failing: add a test with the table.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from sqlalchemy import column, delete, select, table, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import Uuid
from sqlmodel import col

from app.errors import NotFound, ValidationFailed
from app.models.contacts.events import ContactMergedData, ContactUpdatedData
from app.models.contacts.reads import ContactRead
from app.models.contacts.tables import ADVOCACY_STAGES, Contact
from app.services import touches
from app.services.contacts.engagement import merge_participants
from app.services.contacts.merging.history import merge_assignments, merge_enrollments, merge_scores
from app.services.contacts.relationships import merge_relationships
from app.services.contacts.rows import (
    READ_COLUMNS,
    STORED_COLUMNS,
    WRITABLE_COLUMNS,
    derive,
    to_read,
)
from app.services.contacts.shares import merge_shares
from app.services.platform import record_events, where_visible

MergeHook = Callable[[AsyncSession, uuid.UUID, uuid.UUID, uuid.UUID], Awaitable[None]]
TimedMergeHook = Callable[
    [AsyncSession, uuid.UUID, uuid.UUID, uuid.UUID, datetime], Awaitable[None]
]

MERGE_REFERENCES: list[tuple[str, str]] = [
    ("contact_external_ids", "contact_id"),
    ("observances", "contact_id"),
    ("interactions", "contact_id"),
    ("service_records", "contact_id"),
    ("service_records", "partner_id"),
    ("referrals", "source_contact_id"),
    ("referrals", "referred_contact_id"),
    ("referrals", "partner_contact_id"),
    ("rewards", "referrer_id"),
    ("contact_stage_history", "contact_id"),
]
MERGE_HOOKS: list[MergeHook] = [
    merge_relationships,
    merge_participants,
    merge_assignments,
    merge_shares,
]
MERGE_TIMED_HOOKS: list[TimedMergeHook] = [merge_enrollments, merge_scores]

_SCALARS = (
    "first_name",
    "last_name",
    "company_name",
    "company",
    "job_title",
    "address",
    "time_zone",
    "locale",
    "owner_id",
)


def _union(keep: list[Any], other: list[Any], key: Callable[[Any], Any]) -> list[Any]:
    seen = {key(item) for item in keep}
    return keep + [item for item in other if key(item) not in seen]


def _latest_consent(keep: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    """Per channel the most recent statement wins, whichever contact it was made on."""
    merged = dict(other)
    for channel, entry in keep.items():
        theirs = merged.get(channel)
        if theirs is None or datetime.fromisoformat(entry["at"]) >= datetime.fromisoformat(
            theirs["at"]
        ):
            merged[channel] = entry
    return merged


def merged_row(keep: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    """The surviving contact's row: its own values, gaps filled and collections unioned."""
    row = {k: keep[k] for k in WRITABLE_COLUMNS}
    for name in _SCALARS:
        if row[name] in (None, "", {}):
            row[name] = other[name]
    if row["segment"] == "allied_resource" and not row["allied_category"]:
        row["allied_category"] = other["allied_category"]
    demoted = [{**e, "primary": False} for e in other["emails"]]
    row["emails"] = _union(keep["emails"], demoted, lambda e: e["address"].lower())
    demoted = [{**p, "primary": False} for p in other["phones"]]
    row["phones"] = _union(keep["phones"], demoted, lambda p: p["number"])
    row["family"] = _union(keep["family"], other["family"], lambda f: (f["name"], f["relation"]))
    row["interests"] = _union(keep["interests"], other["interests"], str)
    row["tags"] = _union(keep["tags"], other["tags"], str)
    row["custom_fields"] = {**other["custom_fields"], **keep["custom_fields"]}
    row["consent"] = _latest_consent(keep["consent"], other["consent"])
    row["do_not_contact"] = keep["do_not_contact"] or other["do_not_contact"]
    stage = max(keep["advocacy_stage"], other["advocacy_stage"], key=ADVOCACY_STAGES.index)
    row["advocacy_stage"] = stage
    row["advocacy_stage_manual"] = keep["advocacy_stage_manual"] or other["advocacy_stage_manual"]
    engaged = [c for c in (keep, other) if c["last_engaged_at"] is not None]
    latest = max(engaged, key=lambda c: c["last_engaged_at"], default=keep)
    row["last_engaged_at"] = latest["last_engaged_at"]
    row["lapsed_at"] = latest["lapsed_at"]
    return derive(row)


async def _repoint(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    keep_id: uuid.UUID,
    other_id: uuid.UUID,
    at: datetime,
) -> None:
    for table_name, column_name in MERGE_REFERENCES:
        target = table(table_name, column("workspace_id", Uuid), column(column_name, Uuid))
        ref = target.c[column_name]
        stmt = (
            update(target)
            .where(target.c.workspace_id == workspace_id, ref == other_id)
            .values({column_name: keep_id})
        )
        await session.execute(stmt)
    for hook in MERGE_HOOKS:
        await hook(session, workspace_id, keep_id, other_id)
    for timed in MERGE_TIMED_HOOKS:
        await timed(session, workspace_id, keep_id, other_id, at)


async def _touch_hooks(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    keep_id: uuid.UUID,
    do_not_contact: bool,
    at: datetime,
) -> None:
    """The kept contact's touches follow its merged row (see the module docstring)."""
    if do_not_contact:
        await touches.hold_for_do_not_contact(session, workspace_id, [keep_id], at)
        return
    await touches.replan_contact(session, workspace_id, keep_id, at=at)
    await touches.auto_enroll(session, workspace_id, [keep_id], at)


async def merge_contacts(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    keep_id: uuid.UUID,
    other_id: uuid.UUID,
    *,
    at: datetime,
) -> ContactRead:
    """Fold ``other_id`` into ``keep_id``: move what references it, fill gaps, delete it."""
    if keep_id == other_id:
        raise ValidationFailed.on(["body", "other_id"], "a contact cannot be merged into itself")
    stmt = (
        select(*READ_COLUMNS)
        .where(col(Contact.workspace_id) == workspace_id, col(Contact.id).in_([keep_id, other_id]))
        .order_by(col(Contact.id))  # lock in a fixed order: two opposite merges cannot deadlock
        .with_for_update(of=Contact)
    )
    stmt = where_visible(stmt, Contact.__table__, ["id"])  # another agent's: none
    rows = {r["id"]: dict(r) for r in (await session.execute(stmt)).mappings()}
    if keep_id not in rows:
        raise NotFound("contact not found")
    if other_id not in rows:
        raise ValidationFailed.on(["body", "other_id"], "no such contact in this workspace")
    keep, other = rows[keep_id], rows[other_id]
    row = merged_row(keep, other)
    await _repoint(session, workspace_id, keep_id, other_id, at)
    await session.execute(
        delete(Contact).where(
            col(Contact.workspace_id) == workspace_id, col(Contact.id) == other_id
        )
    )
    stored = (
        (
            await session.execute(
                update(Contact)
                .where(col(Contact.workspace_id) == workspace_id, col(Contact.id) == keep_id)
                .values(**row, version=col(Contact.version) + 1, updated_at=at)
                .returning(*STORED_COLUMNS)
            )
        )
        .mappings()
        .one()
    )
    await _touch_hooks(session, workspace_id, keep_id, row["do_not_contact"], at)
    ids = {**other["external_ids"], **keep["external_ids"]}
    contact = to_read(dict(stored), ids)
    changed = sorted(k for k in row if k in keep and keep[k] != row[k])
    if ids != keep["external_ids"]:
        changed.append("external_ids")
    merged = ContactMergedData(id=keep_id, merged_id=other_id)
    updated = ContactUpdatedData(**dict(contact), changed_fields=changed)
    await record_events(
        session,
        workspace_id,
        [
            ("contact.merged", merged.model_dump(mode="json")),
            ("contact.updated", updated.model_dump(mode="json")),
        ],
        at=at,
    )
    return contact
