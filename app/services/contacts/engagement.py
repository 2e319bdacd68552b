"""Engagement activities and their participants; attendance counts as engagement.

An activity may be planned ahead (invitations, registrations), but nobody attends it
before its day: attendance resets the lapse clock, so one recorded ahead would keep a
drifting contact looking engaged. Marking attendance at an activity dated after today
(the workspace's), or moving an attended activity past today, is refused.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time

from sqlalchemy import case, delete, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.errors import NotFound, ValidationFailed
from app.models.contacts.engagement import (
    ActivityCreate,
    ActivityUpdate,
    EngagementActivity,
    EngagementParticipant,
    ParticipantRead,
    ParticipantsSet,
)
from app.models.contacts.tables import Contact
from app.services.contacts.interactions import mark_engaged
from app.services.platform import (
    PageRequest,
    check_version,
    get_workspace,
    keyset_page,
    refuse_future_date,
    where_visible,
)

Part = EngagementParticipant


async def create_activity(
    session: AsyncSession, workspace_id: uuid.UUID, data: ActivityCreate, *, at: datetime
) -> EngagementActivity:
    activity = EngagementActivity(
        workspace_id=workspace_id, created_at=at, updated_at=at, **data.model_dump()
    )
    session.add(activity)
    await session.flush()
    return activity


async def get_activity(
    session: AsyncSession, workspace_id: uuid.UUID, activity_id: uuid.UUID, *, lock: bool = False
) -> EngagementActivity:
    stmt = select(EngagementActivity).where(
        col(EngagementActivity.workspace_id) == workspace_id,
        col(EngagementActivity.id) == activity_id,
    )
    if lock:
        stmt = stmt.with_for_update()
    activity = (await session.execute(stmt)).scalar_one_or_none()
    if activity is None:
        raise NotFound("engagement activity not found")
    return activity


async def list_activities(
    session: AsyncSession, workspace_id: uuid.UUID, page: PageRequest, *, kind: str | None = None
) -> tuple[list[EngagementActivity], str | None]:
    """Most recent first."""
    stmt = select(EngagementActivity).where(col(EngagementActivity.workspace_id) == workspace_id)
    if kind is not None:
        stmt = stmt.where(col(EngagementActivity.kind) == kind)
    rows, cursor = await keyset_page(
        session,
        stmt,
        keys=[col(EngagementActivity.date), col(EngagementActivity.id)],
        page=page,
        sort="engagement-activities",
        descending=True,
    )
    return [r[0] for r in rows], cursor


async def update_activity(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    activity_id: uuid.UUID,
    changes: ActivityUpdate,
    *,
    expected_version: int | None,
    at: datetime,
) -> EngagementActivity:
    activity = await get_activity(session, workspace_id, activity_id, lock=True)
    check_version(activity.version, expected_version)
    for field, value in changes.model_dump(exclude_unset=True).items():
        if value is None and field != "audience":
            raise ValidationFailed.on(["body", field], "may be omitted but not null")
        if field == "date" and value != activity.date and await _attended(session, activity):
            await _not_ahead(session, workspace_id, value, at, ["body", "date"])
        setattr(activity, field, value)
    activity.version += 1
    activity.updated_at = at
    await session.flush()
    return activity


async def delete_activity(
    session: AsyncSession, workspace_id: uuid.UUID, activity_id: uuid.UUID
) -> None:
    stmt = (
        delete(EngagementActivity)
        .where(
            col(EngagementActivity.workspace_id) == workspace_id,
            col(EngagementActivity.id) == activity_id,
        )
        .returning(col(EngagementActivity.id))
    )
    if (await session.execute(stmt)).first() is None:
        raise NotFound("engagement activity not found")


async def _not_ahead(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    day: date,
    at: datetime,
    loc: list[str | int],
) -> None:
    """Attendance on ``day`` has happened by now (today in the workspace's zone)."""
    workspace = await get_workspace(session, workspace_id)
    what = f"attendance at an activity dated {day.isoformat()}"
    refuse_future_date(day, at, workspace.time_zone, loc, what)


async def _attended(session: AsyncSession, activity: EngagementActivity) -> bool:
    stmt = select(col(Part.contact_id)).where(
        col(Part.workspace_id) == activity.workspace_id,
        col(Part.activity_id) == activity.id,
        col(Part.status) == "attended",
    )
    return (await session.execute(stmt.limit(1))).first() is not None


def _read(row: Part) -> ParticipantRead:
    return ParticipantRead.model_validate(row)


async def set_participants(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    activity_id: uuid.UUID,
    data: ParticipantsSet,
    *,
    at: datetime,
) -> list[ParticipantRead]:
    """Upsert one status for many contacts in one statement; attendance is engagement."""
    activity = await get_activity(session, workspace_id, activity_id)
    ids = list(dict.fromkeys(data.contact_ids))
    known = select(col(Contact.id)).where(
        col(Contact.workspace_id) == workspace_id, col(Contact.id).in_(ids)
    )
    known = where_visible(known, Contact.__table__, ["id"])  # another agent's: none
    found = set((await session.execute(known)).scalars())
    missing = [str(i) for i in ids if i not in found]
    if missing:
        raise ValidationFailed.on(
            ["body", "contact_ids"], f"no such contacts in this workspace: {', '.join(missing)}"
        )
    attended = data.status == "attended"
    if attended:
        await _not_ahead(session, workspace_id, activity.date, at, ["body", "status"])
    # Attendance happened on the activity's day, not when someone ticked the box.
    engaged_at = min(at, datetime.combine(activity.date, time(12), UTC))
    rows = [
        {
            "workspace_id": workspace_id,
            "activity_id": activity_id,
            "contact_id": contact_id,
            "status": data.status,
            "attended_at": engaged_at if attended else None,
            "updated_at": at,
        }
        for contact_id in ids
    ]
    insert = pg_insert(Part).values(rows)
    # Attendance is a fact: a later "invited" or "registered" never takes it back (remove
    # the participant to undo a mistake), and it keeps the time it was first recorded.
    was_there = col(Part.status) == "attended"
    stmt = insert.on_conflict_do_update(
        index_elements=[col(Part.workspace_id), col(Part.activity_id), col(Part.contact_id)],
        set_={
            "status": case((was_there, col(Part.status)), else_=insert.excluded.status),
            "updated_at": insert.excluded.updated_at,
            "attended_at": case(
                (was_there, col(Part.attended_at)), else_=insert.excluded.attended_at
            ),
        },
    ).returning(Part)
    result = list((await session.execute(stmt)).scalars())
    if attended:
        await mark_engaged(session, workspace_id, ids, engaged_at, at=at)
    return [_read(r) for r in result]


async def list_participants(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    activity_id: uuid.UUID,
    page: PageRequest,
    *,
    status: str | None = None,
) -> tuple[list[ParticipantRead], str | None]:
    await get_activity(session, workspace_id, activity_id)
    stmt = select(Part).where(
        col(Part.workspace_id) == workspace_id, col(Part.activity_id) == activity_id
    )
    stmt = where_visible(stmt, Part.__table__, ["contact_id"])
    if status is not None:
        stmt = stmt.where(col(Part.status) == status)
    rows, cursor = await keyset_page(
        session, stmt, keys=[col(Part.contact_id)], page=page, sort="participants"
    )
    return [_read(r[0]) for r in rows], cursor


async def remove_participant(
    session: AsyncSession, workspace_id: uuid.UUID, activity_id: uuid.UUID, contact_id: uuid.UUID
) -> None:
    stmt = (
        delete(Part)
        .where(
            col(Part.workspace_id) == workspace_id,
            col(Part.activity_id) == activity_id,
            col(Part.contact_id) == contact_id,
        )
        .returning(col(Part.contact_id))
    )
    if (await session.execute(stmt)).first() is None:
        raise NotFound("participant not found")


_MERGE_PARTICIPANTS = (
    # Both took part: keep the furthest status on the surviving row.
    text(
        """
        UPDATE engagement_participants AS k
           SET status = CASE WHEN 'attended' IN (k.status, o.status) THEN 'attended'
                             WHEN 'registered' IN (k.status, o.status) THEN 'registered'
                             ELSE 'invited' END,
               attended_at = coalesce(k.attended_at, o.attended_at)
          FROM engagement_participants AS o
         WHERE k.workspace_id = :ws AND o.workspace_id = :ws
           AND k.activity_id = o.activity_id AND k.contact_id = :keep AND o.contact_id = :other
        """
    ),
    text(
        """
        DELETE FROM engagement_participants AS o
         WHERE o.workspace_id = :ws AND o.contact_id = :other
           AND EXISTS (SELECT 1 FROM engagement_participants k WHERE k.workspace_id = :ws
                       AND k.activity_id = o.activity_id AND k.contact_id = :keep)
        """
    ),
    text(
        """
        UPDATE engagement_participants SET contact_id = :keep
         WHERE workspace_id = :ws AND contact_id = :other
        """
    ),
)


async def merge_participants(
    session: AsyncSession, workspace_id: uuid.UUID, keep_id: uuid.UUID, other_id: uuid.UUID
) -> None:
    """Merge hook: one participant row per activity survives, with the furthest status."""
    params = {"ws": workspace_id, "keep": keep_id, "other": other_id}
    for stmt in _MERGE_PARTICIPANTS:
        await session.execute(stmt, params)
