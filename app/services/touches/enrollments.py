"""Enrolments: a contact on a plan from a start date, and what changes their course.

Enrolling one contact or a whole segment is one ``INSERT … SELECT``; touches are then
planned ahead (``planning``). A start date in the past records the dates already gone
as missed (``skipped: before_start``) unless ``catch_up`` asks to send those still
fresh. A plan whose templates name the member is refused for a contact nobody signs
for (no owner, no workspace default sender): one by one that is a 422 naming both, in
bulk those contacts are left out and counted. Pausing drops the touches not yet sent
(they are planned again on resume, from the resume time, under the same occurrence
keys, so nothing is sent twice); cancelling marks them ``cancelled`` so the history
says why.

Hooks other features call:
* ``auto_enroll(session, workspace_id, contact_ids, at)`` (``audiences``) after contacts
  are created or their segment or tags change: enrols them in every active plan whose
  audience they entered, once per plan and contact, ever.
* ``pause_on_reply(session, workspace_id, contact_id, at)`` after an inbound interaction.
* ``hold_for_do_not_contact`` / ``resume_after_do_not_contact`` when a contact's
  do-not-contact flag is set or cleared, ``reconsider_consent`` when its consent changes
  (``holds``).
* ``replan_contact(session, workspace_id, contact_id, at=at)`` when a contact's time zone
  or observances change, so planned touches move to the new local time or date.
* ``replan_contacts`` does the same for many contacts at once (bulk imports).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    and_,
    exists,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.errors import Conflict, FieldError, NotFound, ValidationFailed
from app.models.contacts import Contact
from app.models.platform import Workspace
from app.models.touches.tables import Enrollment, TouchPlan
from app.services.platform import (
    PageRequest,
    check_version,
    guard_path_parameter,
    keyset_page,
    owner_or_shared,
    require_visible_contacts,
    restricted,
    row_check,
    where_visible,
)
from app.services.touches import planning
from app.services.touches.audiences import SYNC_LIMIT, auto_enroll
from app.services.touches.enrollment_status import (
    cancel_scheduled,
    drop_scheduled,
    pause_on_reply,
)
from app.services.touches.replan import replan_contact, replan_contacts

# The hooks other features call, kept importable from here (they live in enrollment_status,
# audiences and replan).
__all__ = [
    "SYNC_LIMIT",
    "auto_enroll",
    "change_status",
    "enroll_contact",
    "enroll_many",
    "get_enrollment",
    "list_enrollments",
    "pause_on_reply",
    "replan_contact",
    "replan_contacts",
]

OPEN = ("active", "paused")


guard_path_parameter("enrollment_id", row_check(Enrollment.__table__, ["contact_id"]), "enrollment")


def _values(workspace_id: uuid.UUID, start: date, at: datetime, catch_up: bool) -> dict[str, Any]:
    """Columns every new enrolment shares; nothing planned yet (horizon before start)."""
    return {
        "workspace_id": literal(workspace_id),
        "status": literal("active"),
        "start_date": literal(start),
        "materialized_until": literal(start - timedelta(days=1)),
        "catch_up": literal(catch_up),
        "version": literal(1),
        "created_at": literal(at),
        "updated_at": literal(at),
    }


def _signed(workspace_id: uuid.UUID) -> Any:
    """Someone signs the contact's touches: its owner, or the workspace's default sender."""
    return or_(
        col(Contact.owner_id).is_not(None),
        exists().where(
            col(Workspace.id) == workspace_id,
            col(Workspace.default_sender_member_id).is_not(None),
        ),
    )


async def _enroll_select(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    plan: TouchPlan,
    contacts: Any,
    *,
    start: date,
    source: str,
    catch_up: bool,
    at: datetime,
) -> list[uuid.UUID]:
    """``INSERT INTO enrollments SELECT …`` for the contacts the where-clause picks."""
    cols = _values(workspace_id, start, at, catch_up)
    cols["plan_id"] = literal(plan.id)
    cols["source"] = literal(source)
    cols["id"] = func.gen_random_uuid()
    cols["contact_id"] = Contact.id
    pick = select(*[v.label(k) for k, v in cols.items()]).where(
        col(Contact.workspace_id) == workspace_id, col(Contact.do_not_contact).is_(False), contacts
    )
    if plan.needs_sender:
        pick = pick.where(_signed(workspace_id))
    stmt = (
        insert(Enrollment)
        .from_select(list(cols), pick)
        .on_conflict_do_nothing()
        .returning(col(Enrollment.id))
    )
    ids = [r.id for r in await session.execute(stmt)]
    keys = [(workspace_id, i) for i in ids[:SYNC_LIMIT]]
    await planning.materialize(session, keys, at=at)
    return ids


async def _active_plan(
    session: AsyncSession, workspace_id: uuid.UUID, plan_id: uuid.UUID
) -> TouchPlan:
    stmt = select(TouchPlan).where(
        col(TouchPlan.workspace_id) == workspace_id, col(TouchPlan.id) == plan_id
    )
    plan = (await session.execute(stmt)).scalar_one_or_none()
    if plan is None:
        raise NotFound("touch plan not found")
    if not plan.active:
        raise Conflict("the plan is inactive; activate it before enrolling contacts")
    return plan


def _unsigned_error() -> ValidationFailed:
    msg = (
        "the plan's templates name the member, and nobody signs for this contact: give the "
        "contact an owner_id or the workspace a default_sender_member_id"
    )
    return ValidationFailed(
        detail=msg,
        errors=[
            FieldError(["body", "contact_id"], "the contact has no owner_id", "no_sender"),
            FieldError(
                ["workspace", "default_sender_member_id"],
                "the workspace has no default sender",
                "no_sender",
            ),
        ],
    )


async def enroll_contact(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    *,
    plan_id: uuid.UUID,
    contact_id: uuid.UUID,
    start: date,
    at: datetime,
    catch_up: bool = False,
) -> Enrollment:
    plan = await _active_plan(session, workspace_id, plan_id)
    await require_visible_contacts(session, workspace_id, [contact_id])
    contact = await session.execute(
        select(col(Contact.do_not_contact), _signed(workspace_id).label("signed")).where(
            col(Contact.workspace_id) == workspace_id, col(Contact.id) == contact_id
        )
    )
    found = contact.one_or_none()
    if found is None:
        raise NotFound("contact not found")
    if found.do_not_contact:
        raise Conflict("the contact is do-not-contact")
    if plan.needs_sender and not found.signed:
        raise _unsigned_error()
    ids = await _enroll_select(
        session,
        workspace_id,
        plan,
        Contact.id == contact_id,
        start=start,
        source="manual",
        catch_up=catch_up,
        at=at,
    )
    if not ids:
        raise Conflict("the contact is already enrolled in this plan")
    return await get_enrollment(session, workspace_id, ids[0])


async def enroll_many(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    *,
    plan_id: uuid.UUID,
    segments: Sequence[str],
    tags: Sequence[str],
    contact_ids: Sequence[uuid.UUID],
    start: date,
    at: datetime,
    catch_up: bool = False,
    source: str = "bulk",
) -> tuple[int, int]:
    """Enrol every contact matching any filter; returns (enrolled, already or skipped).

    Skipped: already on the plan, do-not-contact, or (a plan that names the member)
    nobody to sign for them."""
    plan = await _active_plan(session, workspace_id, plan_id)
    conditions = []
    if segments:
        conditions.append(col(Contact.segment).in_(list(segments)))
    if tags:
        conditions.append(Contact.__table__.c.tags.overlap(list(tags)))
    if contact_ids:
        conditions.append(col(Contact.id).in_(list(contact_ids)))
    where = or_(*conditions)
    viewer = restricted()
    if viewer is not None:  # only the contacts the member sees are enrolled
        c = Contact.__table__.c
        where = and_(where, owner_or_shared(c.workspace_id, c.id, c.owner_id, viewer.member_ids))
    matching = await session.execute(
        select(func.count()).where(col(Contact.workspace_id) == workspace_id, where)
    )
    total = int(matching.scalar_one())
    ids = await _enroll_select(
        session, workspace_id, plan, where, start=start, source=source, catch_up=catch_up, at=at
    )
    return len(ids), total - len(ids)


async def get_enrollment(
    session: AsyncSession, workspace_id: uuid.UUID, enrollment_id: uuid.UUID, *, lock: bool = False
) -> Enrollment:
    stmt = select(Enrollment).where(
        col(Enrollment.workspace_id) == workspace_id, col(Enrollment.id) == enrollment_id
    )
    if lock:
        stmt = stmt.with_for_update()
    found = (await session.execute(stmt)).scalar_one_or_none()
    if found is None:
        raise NotFound("enrollment not found")
    return found


async def list_enrollments(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    page: PageRequest,
    *,
    plan_id: uuid.UUID | None,
    contact_id: uuid.UUID | None,
    status: str | None,
) -> tuple[list[Enrollment], str | None]:
    stmt = select(Enrollment).where(col(Enrollment.workspace_id) == workspace_id)
    stmt = where_visible(stmt, Enrollment.__table__, ["contact_id"])
    if plan_id is not None:
        stmt = stmt.where(col(Enrollment.plan_id) == plan_id)
    if contact_id is not None:
        stmt = stmt.where(col(Enrollment.contact_id) == contact_id)
    if status is not None:
        stmt = stmt.where(col(Enrollment.status) == status)
    rows, cursor = await keyset_page(
        session,
        stmt,
        keys=[col(Enrollment.created_at), col(Enrollment.id)],
        page=page,
        sort="enrollments",
    )
    return [r[0] for r in rows], cursor


async def change_status(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    enrollment_id: uuid.UUID,
    action: str,
    *,
    expected_version: int | None,
    at: datetime,
) -> Enrollment:
    """``pause``, ``resume`` or ``cancel`` one enrolment (409 when it makes no sense)."""
    row = await get_enrollment(session, workspace_id, enrollment_id, lock=True)
    check_version(row.version, expected_version)
    allowed = {"pause": ("active",), "resume": ("paused",), "cancel": OPEN}[action]
    if row.status not in allowed:
        raise Conflict(f"cannot {action} an enrollment that is {row.status}")
    if action == "resume" and row.reason == "do_not_contact":
        raise Conflict("the contact is do-not-contact; clearing the flag resumes it")
    if action == "pause":
        row.status, row.paused_at, row.reason = "paused", at, "paused"
        await drop_scheduled(session, workspace_id, [row.id], reason="enrollment_paused", at=at)
    elif action == "resume":
        row.status, row.paused_at, row.reason = "active", None, None
        row.materialized_until = max(row.start_date, at.date()) - timedelta(days=1)
    else:
        row.status, row.cancelled_at, row.reason = "cancelled", at, "cancelled"
        await cancel_scheduled(session, workspace_id, [row.id], "enrollment_cancelled", at=at)
    row.version += 1
    row.updated_at = at
    await session.flush()
    if action == "resume":
        await planning.materialize(session, [(workspace_id, row.id)], at=at, not_before=at)
        await session.refresh(row)
    return row
