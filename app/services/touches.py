"""Touches: ad-hoc creation, reading and filtering, and outcomes reported by senders.

Plan touches are created by materialisation (``app.services.touch_materialize``); this
module is the entry point for everything else, including other features that schedule a
one-off touch (a referral's thank-you).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import NotFound, ValidationFailed
from app.models.contact import Contact
from app.models.member import Member
from app.models.touch import TOUCH_CHANNELS, TOUCH_MODES, Touch


async def _require(
    session: AsyncSession,
    model: type[Contact] | type[Member],
    workspace_id: uuid.UUID,
    id_: uuid.UUID,
) -> None:
    stmt = select(model.id).where(model.workspace_id == workspace_id, model.id == id_)
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
) -> Touch:
    """Schedule a one-off touch outside any plan (e.g. a referral's thank-you note).

    ``subject`` and ``body`` are final text, not templates: the caller already knows what
    to say. The touch is ``scheduled`` and the scheduler emits it at ``due_at`` like any
    plan touch (consent and do-not-contact are checked then); a ``due_at`` in the past
    fires on the next tick.
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
        due_at=due_at,
        assignee_id=assignee_id,
        version=1,
        created_at=at,
        updated_at=at,
    )
    session.add(touch)
    await session.flush()
    return touch
