"""Right to erasure: what must go besides the rows ``ON DELETE CASCADE`` removes.

Deleting the contact row takes what hangs off it (interactions, observances, touches,
enrolments, scores, relationships on either side, participations...). Four places keep
copies of the person's data that no foreign key reaches, and are scrubbed in the same
transaction as the delete:

* the outbox: every event whose data carries the contact's id (the subject of
  ``contact.*`` events, ``contact_id`` of touch, enrolment and reward events, the people
  of referral events, see ``app.models.platform.event.CONTACT_REFS``) keeps only
  ``{"id": <the event's subject id>, "erased": true}``. So do the events of contacts
  merged into it earlier, through chains of merges (the same person; ``contact.merged``
  events say who was folded into whom). Webhook deliveries read the event when they are
  sent, so those still pending carry the scrubbed payload, and the receivers' answers
  recorded for those events' attempts are dropped (a receiver may echo what it got);
* stored ``Idempotency-Key`` responses that mention any of those ids: the body becomes
  the same minimal form (a replay answers with the original status and ``erased``); the
  key whose POST created the contact answers 410 instead, like the creating key of
  anything deleted (``routers.platform.route``, on every DELETE);
* free text on referrals that survive the delete (their contact columns are only
  ``SET NULL``): the referral's notes and its stage-change notes;
* the referrer's thank-you touch for referring this person, which names them: it is
  reworded, and so are the events that delivered it.

Finding the events goes through a GIN index on the id array (one probe per id), so
erasing a contact does not read the whole outbox.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.models.contacts.tables import Contact
from app.models.platform import CONTACT_REFS
from app.services.platform import scrub_resources
from app.services.touches import suggested_message, thank_you_subject

# The contact and every contact merged into it, through chains of merges: their events
# describe the same person (``contact.merged`` says who was folded into whom).
_SAME_PERSON = text(
    f"""
    WITH RECURSIVE person(id) AS (
        SELECT CAST(:cid AS text)
        UNION
        SELECT e.data ->> 'merged_id'
          FROM person AS p
          JOIN events AS e
            ON e.workspace_id = :ws AND ({CONTACT_REFS}) @> ARRAY[p.id]
           AND e.type = 'contact.merged' AND e.data ->> 'id' = p.id
    )
    SELECT id FROM person WHERE id IS NOT NULL
    """
)
# The scrubbed events' webhook attempts lose the receiver's answer too: a receiver that
# echoes what it was sent (request bins, some CRMs) answered with the person's data. The
# deliveries are found through each of the workspace's endpoints (their unique key leads
# with the endpoint), one index probe per event and endpoint.
_SCRUB_EVENTS = text(
    f"""
    WITH scrubbed AS (
        UPDATE events
           SET data = jsonb_build_object('id', data -> 'id', 'erased', true)
         WHERE workspace_id = :ws AND ({CONTACT_REFS}) && CAST(:ids AS text[])
        RETURNING workspace_id, id
    )
    UPDATE webhook_attempts AS a SET response_body = NULL
      FROM scrubbed AS e
      JOIN webhook_endpoints AS w ON w.workspace_id = e.workspace_id
      JOIN webhook_deliveries AS d
        ON d.workspace_id = w.workspace_id AND d.endpoint_id = w.id AND d.event_id = e.id
     WHERE a.workspace_id = d.workspace_id AND a.delivery_id = d.id
       AND a.response_body IS NOT NULL
    """
)
_STORED_RESPONSES = text(
    """
    SELECT key, body FROM idempotency_keys
     WHERE workspace_id = :ws
       AND EXISTS (SELECT 1 FROM unnest(CAST(:ids AS text[])) AS i(id)
                    WHERE position(convert_to(i.id, 'UTF8') IN body) > 0)
    """
)
_REWRITE_RESPONSES = text(
    """
    UPDATE idempotency_keys AS k SET body = v.body
      FROM unnest(CAST(:keys AS text[]), CAST(:bodies AS bytea[])) AS v(key, body)
     WHERE k.workspace_id = :ws AND k.key = v.key
    """
)
_REFERRAL_NOTES = text(
    """
    WITH touched AS (
        UPDATE referrals
           SET notes = NULL, updated_at = :at, version = version + 1
         WHERE workspace_id = :ws AND :cid IN (
               source_contact_id, referred_contact_id, partner_contact_id)
        RETURNING id
    )
    UPDATE referral_stage_history AS h SET note = NULL
      FROM touched
     WHERE h.workspace_id = :ws AND h.referral_id = touched.id AND h.note IS NOT NULL
    """
)


_THANK_YOUS_NAMING = text(
    """
    SELECT t.id, t.contact_id, r.service
      FROM referrals AS r
      JOIN touches AS t
        ON t.workspace_id = r.workspace_id
       AND t.occurrence_key = 'referral:' || CAST(r.id AS text)
       AND t.content_kind = 'thank_you' AND t.enrollment_id IS NULL
     WHERE r.workspace_id = :ws AND r.referred_contact_id = :cid
    """
)
_REWORD_TOUCHES = text(
    """
    UPDATE touches AS t SET subject = v.subject, body = v.body
      FROM unnest(CAST(:ids AS uuid[]), CAST(:subjects AS text[]), CAST(:bodies AS text[]))
           AS v(id, subject, body)
     WHERE t.workspace_id = :ws AND t.id = v.id
    """
)
# A touch's events carry its id as ``data.id``, one of the ids the outbox's GIN index holds.
_REWORD_EVENTS = text(
    f"""
    UPDATE events AS e
       SET data = e.data || jsonb_build_object('subject', v.subject, 'body', v.body)
      FROM unnest(CAST(:ids AS text[]), CAST(:subjects AS text[]), CAST(:bodies AS text[]))
           AS v(id, subject, body)
     WHERE e.workspace_id = :ws AND ({CONTACT_REFS}) @> ARRAY[v.id]
       AND e.data ->> 'id' = v.id AND e.data ? 'subject'
    """
)


async def _reword_thank_yous(
    session: AsyncSession, workspace_id: uuid.UUID, contact_id: uuid.UUID
) -> None:
    """The thank-you touches that name the person as referred, and their events, get the
    wording used when the referred person is unknown. The touch is the referrer's and
    stays; "thank you for referring Maria" must not."""
    found = (
        await session.execute(_THANK_YOUS_NAMING, {"ws": workspace_id, "cid": contact_id})
    ).all()
    if not found:
        return
    referrers = {
        c.id: c
        for c in await session.scalars(
            select(Contact).where(
                col(Contact.workspace_id) == workspace_id,
                col(Contact.id).in_({row.contact_id for row in found}),
            )
        )
    }
    params = {
        "ws": workspace_id,
        "subjects": [thank_you_subject(None) for _ in found],
        "bodies": [
            suggested_message("received", referrers.get(row.contact_id), None, row.service)
            for row in found
        ],
    }
    await session.execute(_REWORD_TOUCHES, {**params, "ids": [row.id for row in found]})
    await session.execute(_REWORD_EVENTS, {**params, "ids": [str(row.id) for row in found]})


def _erased_body(body: bytes) -> bytes:
    """The minimal form of a stored response: its subject's id, if it has one."""
    try:
        document: Any = json.loads(body)
    except ValueError:
        document = None
    subject = document.get("id") if isinstance(document, dict) else None
    return json.dumps({"id": subject, "erased": True}, separators=(",", ":")).encode()


async def scrub_copies(
    session: AsyncSession, workspace_id: uuid.UUID, contact_id: uuid.UUID, *, at: datetime
) -> None:
    """Remove the person's data from events, stored responses, referral notes and the
    audit log's field values (its rows stay: who changed the contact, and when)."""
    found = await session.execute(_SAME_PERSON, {"ws": workspace_id, "cid": str(contact_id)})
    params = {"ws": workspace_id, "ids": [r.id for r in found]}
    await session.execute(_SCRUB_EVENTS, params)
    stored = (await session.execute(_STORED_RESPONSES, params)).all()
    if stored:
        keys = [r.key for r in stored]
        bodies = [_erased_body(r.body) for r in stored]
        await session.execute(
            _REWRITE_RESPONSES, {"ws": workspace_id, "keys": keys, "bodies": bodies}
        )
    await _reword_thank_yous(session, workspace_id, contact_id)
    await session.execute(_REFERRAL_NOTES, {"ws": workspace_id, "cid": contact_id, "at": at})
    await scrub_resources(session, workspace_id, "contact", [str(contact_id)])
