"""The contact's own wishes: do-not-contact and consent, once a contact is enrolled.

* Do-not-contact set: every touch of the contact not yet settled (``scheduled``, or
  ``due`` and not reported) is ``skipped`` with reason ``do_not_contact`` and a
  ``touch.skipped`` event (a sender holding one drops it; a member's task goes away),
  and the contact's active enrolments are ``paused`` with reason ``do_not_contact``.
* Do-not-contact cleared: those enrolments resume from today, without catching up: the
  dates that passed meanwhile stay skipped; later ones are planned again.
* Consent withdrawn for a channel: the unsettled touches on that channel are
  ``skipped: no_consent``, with ``touch.skipped``. Enrolments go on: their other
  channels may still reach the contact, and later touches on the channel are skipped
  when they come due unless consent is back by then.
* Consent given: the contact's later touches skipped for want of it are planned again.

Each is a few set-based statements for any number of contacts (a bulk import).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.services.touches.payloads import EventBatch, rows_of, touch_payload
from app.services.touches.planning import materialize
from app.services.touches.render import CONSENT_CHANNEL
from app.services.touches.replan import replan_contacts
from app.services.touches.tasks import announce_cancelled

# The consent entry a touch's channel needs, in SQL (``render.CONSENT_CHANNEL``).
_CONSENT_OF = (
    "CASE t.channel "
    + " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in CONSENT_CHANNEL.items())
    + " ELSE t.channel END"
)
_GRANTED = f"(c.consent -> ({_CONSENT_OF}) ->> 'status') IS NOT DISTINCT FROM 'granted'"

_SKIP = """
    UPDATE touches AS t
    SET status = 'skipped', reason = :reason, finished_at = :at, updated_at = :at,
        version = t.version + 1
    FROM contacts AS c
    WHERE t.workspace_id = :ws AND t.contact_id = ANY(:contacts)
      AND t.status IN ('scheduled', 'due')
      AND c.workspace_id = t.workspace_id AND c.id = t.contact_id AND {which}
    RETURNING t.workspace_id, t.id
"""


async def _skip(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    contact_ids: Sequence[uuid.UUID],
    reason: str,
    which: str,
    at: datetime,
) -> int:
    """Skip the unsettled touches ``which`` picks, announcing each (``touch.skipped``;
    a task also ``task.cancelled``)."""
    params = {"ws": workspace_id, "contacts": list(contact_ids), "reason": reason, "at": at}
    skipped = await session.execute(text(_SKIP.format(which=which)), params)
    keys = [(r.workspace_id, r.id) for r in skipped]
    batch = EventBatch()
    rows = await rows_of(session, keys)
    for row in rows:
        texts = {"subject": row["subject"], "body": row["body"]}
        texts["reminder"] = row["referral_reminder"]
        data = touch_payload(row, "skipped", reason, texts, due_at=row["due_at"])
        batch.add(workspace_id, "touch.skipped", data)
    await batch.record(session, at=at)
    await announce_cancelled(session, rows, reason, at=at)
    return len(keys)


async def hold_for_do_not_contact(
    session: AsyncSession, workspace_id: uuid.UUID, contact_ids: Sequence[uuid.UUID], at: datetime
) -> int:
    """The contacts became do-not-contact: skip what is pending, pause their enrolments.
    Returns the touches skipped."""
    if not contact_ids:
        return 0
    skipped = await _skip(session, workspace_id, contact_ids, "do_not_contact", "TRUE", at)
    await session.execute(
        text(
            "UPDATE enrollments SET status = 'paused', reason = 'do_not_contact', "
            "paused_at = :at, updated_at = :at, version = version + 1 "
            "WHERE workspace_id = :ws AND contact_id = ANY(:contacts) AND status = 'active'"
        ),
        {"ws": workspace_id, "contacts": list(contact_ids), "at": at},
    )
    return skipped


async def resume_after_do_not_contact(
    session: AsyncSession, workspace_id: uuid.UUID, contact_ids: Sequence[uuid.UUID], at: datetime
) -> int:
    """The contacts may be contacted again: enrolments paused for it resume from today.
    Returns the enrolments resumed."""
    if not contact_ids:
        return 0
    params = {"ws": workspace_id, "contacts": list(contact_ids), "at": at, "today": at.date()}
    resumed = await session.execute(
        text(
            "UPDATE enrollments SET status = 'active', reason = NULL, paused_at = NULL, "
            "updated_at = :at, version = version + 1, "
            "materialized_until = GREATEST(start_date, CAST(:today AS date)) - 1 "
            "WHERE workspace_id = :ws AND contact_id = ANY(:contacts) AND status = 'paused' "
            "AND reason = 'do_not_contact' RETURNING id"
        ),
        params,
    )
    ids = [r.id for r in resumed]
    if not ids:
        return 0
    # The dates still ahead were skipped only because of the hold: plan them again.
    await session.execute(
        text(
            "DELETE FROM touches WHERE workspace_id = :ws AND enrollment_id = ANY(:ids) "
            "AND status = 'skipped' AND reason = 'do_not_contact' AND due_at > :at"
        ),
        {"ws": workspace_id, "ids": ids, "at": at},
    )
    await materialize(session, [(workspace_id, i) for i in ids], at=at, not_before=at)
    return len(ids)


async def reconsider_consent(
    session: AsyncSession, workspace_id: uuid.UUID, contact_ids: Sequence[uuid.UUID], at: datetime
) -> int:
    """The contacts' consent changed: skip unsettled touches on channels it no longer
    covers; plan again the later ones skipped on channels it covers now. Returns the
    touches skipped."""
    if not contact_ids:
        return 0
    skipped = await _skip(session, workspace_id, contact_ids, "no_consent", f"NOT {_GRANTED}", at)
    regained = await session.execute(
        text(
            f"""
            DELETE FROM touches AS t USING contacts AS c, enrollments AS e
            WHERE t.workspace_id = :ws AND t.contact_id = ANY(:contacts)
              AND t.status = 'skipped' AND t.reason = 'no_consent' AND t.due_at > :at
              AND c.workspace_id = t.workspace_id AND c.id = t.contact_id AND {_GRANTED}
              AND e.workspace_id = t.workspace_id AND e.id = t.enrollment_id
              AND e.status = 'active'
            RETURNING t.contact_id
            """
        ),
        {"ws": workspace_id, "contacts": list(contact_ids), "at": at},
    )
    again = sorted({r.contact_id for r in regained})
    await replan_contacts(session, workspace_id, again, at=at)
    return skipped
