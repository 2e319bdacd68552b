"""Keeping the referrer informed: event payloads, suggested messages, the thank-you touch.

A referrer who never hears back stops referring (seed 000, 5.5: "keep the referrer informed
of the progress"). Rapport does not send these messages itself; it puts the referrer's
contact data and a ready-to-use text in each event so an integrator (or a member) can.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.contacts import Contact
from app.models.platform import Workspace
from app.models.referrals.events import ReferralNotice, ReferrerData
from app.models.referrals.schemas import ReferralRead
from app.models.referrals.tables import Referral
from app.services import touches
from app.services.touches import create_touch, suggested_message, thank_you_key, thank_you_subject


def referrer_data(contact: Contact | None) -> ReferrerData | None:
    return None if contact is None else ReferrerData.model_validate(contact)


async def _contacts(
    session: AsyncSession, keys: Iterable[tuple[uuid.UUID, uuid.UUID | None]]
) -> dict[tuple[uuid.UUID, uuid.UUID], Contact]:
    """Contacts by ``(workspace_id, id)``, in one query whatever the number of referrals."""
    wanted = {(ws, cid) for ws, cid in keys if cid is not None}
    if not wanted:
        return {}
    stmt = select(Contact).where(tuple_(Contact.workspace_id, Contact.id).in_(list(wanted)))
    return {(c.workspace_id, c.id): c for c in (await session.execute(stmt)).scalars()}


def _person(
    people: dict[tuple[uuid.UUID, uuid.UUID], Contact], ws: uuid.UUID, cid: uuid.UUID | None
) -> Contact | None:
    return people.get((ws, cid)) if cid is not None else None


async def referral_payloads(
    session: AsyncSession,
    referrals: Sequence[Referral],
    model: type[ReferralNotice] = ReferralNotice,
    **extra: Any,
) -> list[dict[str, Any]]:
    """Each referral as the API shows it, plus the referrer and a suggested message (and
    ``extra``, the fields of ``model`` beyond those), built through the event's model."""
    people = await _contacts(
        session,
        [
            key
            for r in referrals
            for key in (
                (r.workspace_id, r.source_contact_id),
                (r.workspace_id, r.referred_contact_id),
            )
        ],
    )
    payloads = []
    for referral in referrals:
        referrer = _person(people, referral.workspace_id, referral.source_contact_id)
        referred = _person(people, referral.workspace_id, referral.referred_contact_id)
        data = dict(ReferralRead.model_validate(referral))
        data["referrer"] = referrer_data(referrer)
        data["suggested_message"] = (
            suggested_message(referral.stage, referrer, referred, referral.service)
            if referral.direction == "received" and referrer is not None
            else None
        )
        data.update(extra)
        payloads.append(model.model_validate(data).model_dump(mode="json"))
    return payloads


async def referral_payload(
    session: AsyncSession,
    referral: Referral,
    model: type[ReferralNotice] = ReferralNotice,
    **extra: Any,
) -> dict[str, Any]:
    return (await referral_payloads(session, [referral], model, **extra))[0]


async def schedule_thank_you(
    session: AsyncSession, workspace: Workspace, referral: Referral, *, at: datetime
) -> None:
    """A thank-you to the referrer, due the next business day at the send window's opening.

    "Next business day" is counted in the workspace's zone (the firm's working week); the
    touch is then placed at the window opening in the referrer's own zone when known.
    """
    if referral.source_contact_id is None:
        return
    people = await _contacts(
        session,
        [(workspace.id, referral.source_contact_id), (workspace.id, referral.referred_contact_id)],
    )
    referrer = _person(people, workspace.id, referral.source_contact_id)
    if referrer is None:
        return
    referred = _person(people, workspace.id, referral.referred_contact_id)
    day = touches.business_day_after(referral.received_at, tz=workspace.time_zone, days=1)
    due = touches.due_at(
        day,
        tz=referrer.time_zone or workspace.time_zone,
        window_start=workspace.send_window_start,
        window_end=workspace.send_window_end,
    )
    await create_touch(
        session,
        workspace.id,
        contact_id=referrer.id,
        channel=workspace.referral_thank_you_channel,
        mode=workspace.referral_thank_you_mode,
        content_kind="thank_you",
        subject=thank_you_subject(referred),
        body=suggested_message("received", referrer, referred, referral.service),
        due_at=due,
        assignee_id=referral.owner_id,
        at=at,
        occurrence_key=thank_you_key(referral.id),
    )
