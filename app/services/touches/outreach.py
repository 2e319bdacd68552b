"""Touches: ad-hoc creation, reading and filtering, and outcomes reported by senders.

Plan touches are created by materialisation (``app.services.touches.planning``); this
module is the entry point for everything else, including other features that schedule a
one-off touch (a referral's thank-you).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.errors import Conflict, NotFound, ValidationFailed
from app.models.contacts import Contact, Interaction, InteractionChannel
from app.models.platform import Member
from app.models.touches.events import TouchCompleted, TouchFailed, TouchOutcome, TouchSent
from app.models.touches.tables import (
    DEFAULT_VALID_FOR_DAYS,
    TOUCH_CHANNELS,
    TOUCH_MODES,
    Touch,
)
from app.services.platform import (
    PageRequest,
    current_actor,
    guard_path_parameter,
    keyset_page,
    record_events,
    row_check,
    where_visible,
)
from app.services.touches.enrollment_status import complete_finished
from app.services.touches.tasks import announce_assigned

# A touch is seen through its contact, or by the member it is assigned to.
guard_path_parameter("touch_id", row_check(Touch.__table__, ["contact_id"], "assignee_id"), "touch")


async def _require(
    session: AsyncSession,
    model: type[Contact] | type[Member],
    workspace_id: uuid.UUID,
    id_: uuid.UUID,
) -> None:
    stmt = select(col(model.id)).where(
        col(model.workspace_id) == workspace_id, col(model.id) == id_
    )
    if (await session.execute(stmt)).first() is None:
        raise NotFound(f"{model.__tablename__[:-1]} not found")


async def create_touch(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    *,
    contact_id: uuid.UUID,
    channel: str,
    mode: str,
    content_kind: str,
    subject: str | None,
    body: str | None,
    due_at: datetime,
    assignee_id: uuid.UUID | None,
    at: datetime,
    referral_reminder: str | None = None,
    occurrence_key: str | None = None,
    valid_for_days: int = DEFAULT_VALID_FOR_DAYS,
) -> Touch:
    """Schedule a one-off touch outside any plan (e.g. a referral's thank-you note).

    ``occurrence_key`` says what the touch is about when no plan step does (the thank-you
    names its referral, so erasing the referred person can find and reword it).

    ``subject`` and ``body`` are final text, not templates: the caller already knows what
    to say. The touch is ``scheduled`` and the scheduler releases it at ``due_at`` like
    any plan touch (consent and do-not-contact are checked then; an automated one waits
    for the contact's send window); one not released within ``valid_for_days`` of
    ``due_at`` is skipped as stale. A manual touch is a task: ``task.assigned`` now.
    """
    if channel not in TOUCH_CHANNELS:
        raise ValidationFailed.on(["body", "channel"], f"unknown channel {channel!r}")
    if mode not in TOUCH_MODES:
        raise ValidationFailed.on(["body", "mode"], f"unknown mode {mode!r}")
    if due_at.tzinfo is None:
        raise ValueError("due_at must be timezone-aware")
    await _require(session, Contact, workspace_id, contact_id)
    if assignee_id is not None:
        await _require(session, Member, workspace_id, assignee_id)
    touch = Touch(
        workspace_id=workspace_id,
        contact_id=contact_id,
        channel=channel,
        mode=mode,
        content_kind=content_kind,
        status="scheduled",
        subject=subject,
        body=body,
        referral_reminder=referral_reminder,
        occurrence_key=occurrence_key,
        due_at=due_at,
        expires_at=due_at + timedelta(days=valid_for_days),
        assignee_id=assignee_id,
        version=1,
        created_at=at,
        updated_at=at,
    )
    session.add(touch)
    await session.flush()
    if mode == "manual":
        await announce_assigned(session, [(workspace_id, touch.id)], at=at)
    return touch


async def get_touch(
    session: AsyncSession, workspace_id: uuid.UUID, touch_id: uuid.UUID, *, lock: bool = False
) -> Touch:
    stmt = select(Touch).where(col(Touch.workspace_id) == workspace_id, col(Touch.id) == touch_id)
    if lock:
        stmt = stmt.with_for_update()
    touch = (await session.execute(stmt)).scalar_one_or_none()
    if touch is None:
        raise NotFound("touch not found")
    return touch


@dataclass(frozen=True)
class TouchFilter:
    contact_id: uuid.UUID | None = None
    assignee_id: uuid.UUID | None = None
    plan_id: uuid.UUID | None = None
    status: Sequence[str] = ()
    channel: Sequence[str] = ()
    due_after: datetime | None = None
    due_before: datetime | None = None


async def list_touches(
    session: AsyncSession, workspace_id: uuid.UUID, page: PageRequest, where: TouchFilter
) -> tuple[list[Touch], str | None]:
    """Touches by due time: the upcoming view, a member's tasks, a contact's history."""
    stmt = select(Touch).where(col(Touch.workspace_id) == workspace_id)
    stmt = where_visible(stmt, Touch.__table__, ["contact_id"], "assignee_id")
    for column, value in (
        (Touch.__table__.c.contact_id, where.contact_id),
        (Touch.__table__.c.assignee_id, where.assignee_id),
        (Touch.__table__.c.plan_id, where.plan_id),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if where.status:
        stmt = stmt.where(col(Touch.status).in_(list(where.status)))
    if where.channel:
        stmt = stmt.where(col(Touch.channel).in_(list(where.channel)))
    if where.due_after is not None:
        stmt = stmt.where(col(Touch.due_at) >= where.due_after)
    if where.due_before is not None:
        stmt = stmt.where(col(Touch.due_at) < where.due_before)
    rows, cursor = await keyset_page(
        session, stmt, keys=[col(Touch.due_at), col(Touch.id)], page=page, sort="touches"
    )
    return [r[0] for r in rows], cursor


#: outcome → (new status, reason); which statuses each may follow. A report arriving
#: after the workspace's grace period (the touch became ``unconfirmed``) is still taken.
OUTCOMES: dict[str, tuple[str, str | None, tuple[str, ...]]] = {
    "sent": ("sent", None, ("due", "unconfirmed")),
    "delivered": ("completed", None, ("due", "sent", "unconfirmed")),
    "completed": ("completed", None, ("scheduled", "due", "sent", "unconfirmed")),
    "bounced": ("failed", "bounced", ("due", "sent", "unconfirmed")),
    "failed": ("failed", "failed", ("due", "sent", "unconfirmed")),
}
#: The event each new status makes, and the name of its moment in the payload.
OUTCOME_EVENTS = {
    "sent": ("touch.sent", "sent_at"),
    "completed": ("touch.completed", "completed_at"),
    "failed": ("touch.failed", "failed_at"),
}
INTERACTION_CHANNEL: dict[str, InteractionChannel] = {
    "email": "email",
    "event_invite": "event",
    "sms": "sms",
    "call": "call",
    "meeting": "meeting",
    "mail": "mail",
    "card": "mail",
    "gift": "mail",
}


_OUTCOME_MODELS: dict[str, type[TouchOutcome]] = {
    "sent_at": TouchSent,
    "completed_at": TouchCompleted,
    "failed_at": TouchFailed,
}


def touch_event(touch: Touch, *, moment: str, at: datetime) -> dict[str, Any]:
    """``touch.sent``, ``touch.completed``, ``touch.failed``: the touch and when
    (``moment``: ``sent_at``, ``completed_at`` or ``failed_at``); ``reason`` only when set."""
    data = _OUTCOME_MODELS[moment].model_validate(
        {
            "id": touch.id,
            "contact_id": touch.contact_id,
            "channel": touch.channel,
            "content_kind": touch.content_kind,
            "mode": touch.mode,
            "due_at": touch.due_at,
            "status": touch.status,
            "plan_id": touch.plan_id,
            "enrollment_id": touch.enrollment_id,
            "provider_message_id": touch.provider_message_id,
            "reason": touch.reason or None,
            moment: at,
        }
    )
    document = data.model_dump(mode="json")
    if document["reason"] is None:
        del document["reason"]
    return document


async def _log_interaction(session: AsyncSession, touch: Touch, *, at: datetime) -> None:
    """The communication log entry of a completed touch: outbound, linked to the touch.

    Written here as one insert rather than through the contacts domain's
    ``log_interaction``: touches sit below contacts (contacts enrol and re-plan), and an
    outbound entry for a touch of this contact needs none of what that adds (the contact,
    member and touch are this touch's own; outbound counts as no engagement and pauses
    no plan).
    """
    await session.execute(
        insert(Interaction).values(
            workspace_id=touch.workspace_id,
            id=uuid.uuid4(),
            contact_id=touch.contact_id,
            member_id=touch.assignee_id,
            channel=INTERACTION_CHANNEL.get(touch.channel, "note"),
            direction="outbound",
            occurred_at=at,
            summary=touch.subject or touch.content_kind,
            touch_id=touch.id,
            actor=current_actor().as_json(),
            created_at=at,
        )
    )


async def record_outcome(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    touch_id: uuid.UUID,
    *,
    outcome: str,
    provider_message_id: str | None,
    note: str | None,
    at: datetime,
) -> Touch:
    """Apply a sender's or member's report. Repeating the same report changes nothing.

    Senders retry; a second ``delivered`` for a completed touch answers with the touch as
    it is, while a report that contradicts a finished touch is a 409.
    """
    touch = await get_touch(session, workspace_id, touch_id, lock=True)
    status, reason, allowed = OUTCOMES[outcome]
    if touch.outcome == outcome and touch.status == status:
        return touch
    if touch.status not in allowed:
        raise Conflict(f"cannot record {outcome!r} for a touch that is {touch.status}")
    touch.status, touch.outcome = status, outcome
    touch.reason = (note or reason) if status == "failed" else touch.reason
    touch.provider_message_id = provider_message_id or touch.provider_message_id
    touch.outcome_note = note if note is not None else touch.outcome_note
    touch.finished_at = at if status in ("completed", "failed") else touch.finished_at
    touch.version += 1
    touch.updated_at = at
    if status == "completed":
        await _log_interaction(session, touch, at=at)
    event_type, moment = OUTCOME_EVENTS[status]
    await session.flush()
    data = touch_event(touch, moment=moment, at=at)
    await record_events(session, workspace_id, [(event_type, data)], at=at)
    if touch.enrollment_id is not None:
        await complete_finished(session, [(workspace_id, touch.enrollment_id)], at=at)
    return touch
