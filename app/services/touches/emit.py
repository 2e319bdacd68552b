"""The scheduler's touch tick: claim touches that came due, render them, tell the world.

One batch is three statements in the caller's transaction, whatever its size:

1. claim: ``SELECT … FROM (SELECT … WHERE status = 'scheduled' AND due_at <= now
   ORDER BY due_at LIMIT n FOR UPDATE SKIP LOCKED)``, joined in the same statement to
   the contact, step, plan, enrolment and member each touch needs;
2. decide and render in Python (consent, do-not-contact, templates), then store each
   touch's new status and rendered text in one ``UPDATE … FROM unnest(…)``;
3. write the events in one ``INSERT INTO events … SELECT … FROM unnest(…)`` and hand
   their ids to the webhook fan-out (one ``INSERT … SELECT`` per workspace).

The claim locks rather than updates: the row lock is what keeps other replicas away
(``SKIP LOCKED`` gives each a disjoint set), and writing each touch once, with its final
status and text, halves the heap and index writes of a claim-then-update. Once the
caller commits the touches are no longer ``scheduled``, so no later claim sees them:
each touch is emitted once. A crash before the commit releases the locks and rolls
everything back; the touches are claimed again on the next tick. The claim reads the
partial index on ``due_at`` of scheduled touches, so a tick costs what is due, not what
is stored.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.platform import utc_text
from app.services.platform import fan_out
from app.services.touches.enrollment_status import complete_finished
from app.services.touches.render import (
    contact_context,
    display_name,
    has_consent,
    recipient,
    render,
    send_context,
    shared_only,
)

_CLAIM = text(
    """
    WITH claimed AS (
        SELECT workspace_id, id, contact_id, enrollment_id, plan_id, step_id, assignee_id,
               channel, mode, content_kind, due_at, subject, body, referral_reminder
        FROM touches
        WHERE status = 'scheduled' AND due_at <= :now
        ORDER BY due_at
        LIMIT :limit
        FOR UPDATE SKIP LOCKED
    )
    SELECT claimed.*,
           c.first_name, c.last_name, c.company_name, c.company, c.job_title,
           c.primary_email, c.primary_phone, c.address, c.time_zone, c.locale, c.segment,
           c.tags, c.interests, c.family, c.custom_fields, c.consent, c.do_not_contact,
           w.time_zone AS workspace_time_zone, w.name AS workspace_name,
           s.subject_template, s.body_template, s.position AS step_position,
           p.name AS plan_name, p.referral_reminder AS plan_reminder,
           e.status AS enrollment_status,
           m.id AS member_id, m.name AS member_name, m.email AS member_email
    FROM claimed
    JOIN contacts AS c ON c.workspace_id = claimed.workspace_id AND c.id = claimed.contact_id
    JOIN workspaces AS w ON w.id = claimed.workspace_id
    LEFT JOIN touch_plan_steps AS s
        ON s.workspace_id = claimed.workspace_id AND s.id = claimed.step_id
    LEFT JOIN touch_plans AS p ON p.workspace_id = claimed.workspace_id AND p.id = claimed.plan_id
    LEFT JOIN enrollments AS e
        ON e.workspace_id = claimed.workspace_id AND e.id = claimed.enrollment_id
    LEFT JOIN members AS m ON m.workspace_id = claimed.workspace_id AND m.id = (
        CASE WHEN claimed.step_id IS NULL THEN coalesce(claimed.assignee_id, c.owner_id)
             ELSE coalesce(s.assignee_id, c.owner_id, claimed.assignee_id) END)
    """
)

_STORE = text(
    """
    UPDATE touches AS t
    SET status = v.status, reason = v.reason, subject = v.subject, body = v.body,
        referral_reminder = v.reminder, assignee_id = v.assignee,
        emitted_at = CAST(:now AS timestamptz), updated_at = CAST(:now AS timestamptz),
        version = t.version + 1,
        finished_at = CASE WHEN v.status = 'due' THEN NULL ELSE CAST(:now AS timestamptz) END
    FROM unnest(CAST(:ws AS uuid[]), CAST(:ids AS uuid[]), CAST(:status AS text[]),
                CAST(:reason AS text[]), CAST(:subject AS text[]), CAST(:body AS text[]),
                CAST(:reminder AS text[]), CAST(:assignee AS uuid[]))
         AS v(ws, id, status, reason, subject, body, reminder, assignee)
    WHERE t.workspace_id = v.ws AND t.id = v.id
    """
)

_EVENTS = text(
    """
    INSERT INTO events (workspace_id, event_uid, type, occurred_at, data)
    SELECT v.ws, gen_random_uuid(), v.type, :now, CAST(v.data AS jsonb)
    FROM unnest(CAST(:ws AS uuid[]), CAST(:types AS text[]), CAST(:data AS text[]))
         WITH ORDINALITY AS v(ws, type, data, n)
    ORDER BY v.n
    RETURNING workspace_id, id
    """
)


_encode = json.JSONEncoder(default=str, ensure_ascii=False).encode


@dataclass
class _Batch:
    columns: dict[str, list[Any]] = field(default_factory=lambda: defaultdict(list))
    events: dict[str, list[Any]] = field(default_factory=lambda: defaultdict(list))
    finished: set[tuple[uuid.UUID, uuid.UUID]] = field(default_factory=set)
    rendered: dict[tuple[Any, ...], str | None] = field(default_factory=dict)

    def render(self, source: str | None, context: dict[str, Any], row: dict[str, Any]) -> Any:
        """``render``, once per batch for a template that reads nothing of the contact.

        The referral reminder usually names only the member ("call {{ member.name }}"),
        so a batch renders it once per member instead of once per touch.
        """
        if source is None or not shared_only(source):
            return render(source, context)
        key = (
            source,
            row["member_id"],
            row["member_name"],
            row["member_email"],
            row["plan_name"],
            row["workspace_name"],
            context["referral_reminder"],
        )
        if key not in self.rendered:
            self.rendered[key] = render(source, context)
        return self.rendered[key]


def _context(row: dict[str, Any], reminder: str | None) -> dict[str, Any]:
    contact = contact_context(row)
    contact["id"] = str(row["contact_id"])
    member_id = row["member_id"]
    member = {"id": str(member_id) if member_id else None, "name": row["member_name"]}
    member["email"] = row["member_email"]
    return send_context(
        {
            "contact": contact,
            "member": member,
            "referral_reminder": reminder,
            "plan": {"name": row["plan_name"]},
            "workspace": {"name": row["workspace_name"]},
        }
    )


def _decide(row: Row[Any]) -> tuple[str, str | None]:
    if row.enrollment_status is not None and row.enrollment_status != "active":
        return "cancelled", f"enrollment_{row.enrollment_status}"
    if row.do_not_contact:
        return "skipped", "do_not_contact"
    if not has_consent(row.consent, row.channel):
        return "skipped", "no_consent"
    return "due", None


def payload(
    row: dict[str, Any], status: str, reason: str | None, texts: dict[str, Any]
) -> dict[str, Any]:
    """Everything a mail or SMS sender needs, without calling back."""
    touch_id, contact_id = str(row["id"]), str(row["contact_id"])
    member_id, plan_id, step_id = row["member_id"], row["plan_id"], row["step_id"]
    data: dict[str, Any] = {
        "id": touch_id,
        "idempotency_key": touch_id,
        "status": status,
        "channel": row["channel"],
        "mode": row["mode"],
        "content_kind": row["content_kind"],
        "due_at": utc_text(row["due_at"]),
        "subject": texts["subject"],
        "body": texts["body"],
        "referral_reminder": texts["reminder"],
        "recipient": recipient(row, row["channel"]),
        "contact_id": contact_id,
        "contact": {
            "id": contact_id,
            "name": display_name(row),
            "first_name": row["first_name"],
            "last_name": row["last_name"],
            "locale": row["locale"],
            "time_zone": row["time_zone"] or row["workspace_time_zone"],
        },
        "member": (
            {"id": str(member_id), "name": row["member_name"], "email": row["member_email"]}
            if member_id
            else None
        ),
        "plan": {"id": str(plan_id), "name": row["plan_name"]} if plan_id else None,
        "step": {"id": str(step_id), "position": row["step_position"]} if step_id else None,
        "enrollment_id": str(row["enrollment_id"]) if row["enrollment_id"] else None,
    }
    if reason is not None:
        data["reason"] = reason
    return data


def _add(batch: _Batch, claimed: Row[Any]) -> None:
    status, reason = _decide(claimed)
    row = claimed._asdict()  # plain dict: the per-touch work below reads it many times
    texts: dict[str, Any] = {"subject": row["subject"], "body": row["body"]}
    texts["reminder"] = row["referral_reminder"]
    if status == "due" and row["step_id"] is not None:  # plan touch: render now, keep forever
        base = _context(row, None)
        texts["reminder"] = batch.render(row["plan_reminder"], base, row)
        base["referral_reminder"] = texts["reminder"]
        texts["subject"] = batch.render(row["subject_template"], base, row)
        texts["body"] = batch.render(row["body_template"], base, row)
    cols = batch.columns
    for name, value in (
        ("ws", row["workspace_id"]),
        ("ids", row["id"]),
        ("status", status),
        ("reason", reason),
        ("subject", texts["subject"]),
        ("body", texts["body"]),
        ("reminder", texts["reminder"]),
        ("assignee", row["member_id"]),
    ):
        cols[name].append(value)
    if status != "due" and row["enrollment_id"] is not None:
        batch.finished.add((row["workspace_id"], row["enrollment_id"]))
    if status == "cancelled":
        return
    event_type = "touch.due" if status == "due" else "touch.skipped"
    batch.events["ws"].append(row["workspace_id"])
    batch.events["types"].append(event_type)
    batch.events["data"].append(_encode(payload(row, status, reason, texts)))


async def emit_due_touches(session: AsyncSession, *, at: datetime, limit: int = 1000) -> int:
    """Claim up to ``limit`` touches due at ``at``; returns how many were claimed.

    Manual touches become tasks: ``due`` with the assignee resolved now (the step's named
    member, else the contact's owner), and the same ``touch.due`` event.
    """
    rows = (await session.execute(_CLAIM, {"now": at, "limit": limit})).all()
    if not rows:
        return 0
    batch = _Batch()
    for row in rows:
        _add(batch, row)
    await session.execute(_STORE, {"now": at, **batch.columns})
    if batch.events["ws"]:
        created = await session.execute(_EVENTS, {"now": at, **batch.events})
        by_workspace: dict[uuid.UUID, list[int]] = defaultdict(list)
        for ws, event_id in created:
            by_workspace[ws].append(int(event_id))
        for ws, ids in by_workspace.items():
            await fan_out(session, ws, ids, at=at)
    await complete_finished(session, sorted(batch.finished), at=at)
    return len(rows)
