"""Snoozing and dismissing agenda items: the member's choice, recorded as history.

Only an item on the member's agenda today can be decided (the key is checked against it),
so a key of another member's item, one the caller does not see, or a typo is refused
naming the field, and nothing is written. A snoozed item returns on its ``until`` date; a
dismissed one stays away for that occurrence (its key changes with the next birthday, the
next engagement, the next stage).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import ValidationFailed
from app.models.scores.agenda import (
    AgendaDecision,
    AgendaDecisionRead,
    AgendaDismiss,
    AgendaSnooze,
)
from app.services.platform import current_actor
from app.services.scores.agenda import build_agenda, member_today


async def decide(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    member_id: uuid.UUID,
    body: AgendaSnooze | AgendaDismiss,
    *,
    at: datetime,
) -> AgendaDecisionRead:
    today = await member_today(session, workspace_id, member_id, at)
    if isinstance(body, AgendaSnooze) and body.until <= today:
        raise ValidationFailed.on(["body", "until"], f"snooze until a day after {today}")
    agenda = await build_agenda(session, workspace_id, member_id, today, at=at)
    item = next((i for i in agenda.items if i.key == body.key), None)
    if item is None:
        raise ValidationFailed.on(["body", "key"], "no such item on this member's agenda today")
    snooze = isinstance(body, AgendaSnooze)
    row = AgendaDecision(
        workspace_id=workspace_id,
        member_id=member_id,
        item_key=body.key,
        kind=item.kind,
        decision="snoozed" if snooze else "dismissed",
        until=body.until if isinstance(body, AgendaSnooze) else None,
        reason=body.reason if isinstance(body, AgendaDismiss) else None,
        actor=current_actor().as_json(),
        at=at,
    )
    session.add(row)
    await session.flush()
    return AgendaDecisionRead.model_validate(row)
