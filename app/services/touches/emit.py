"""The scheduler's touch tick: claim touches that came due, decide, render, tell the world.

One batch is a fixed number of statements in the caller's transaction, whatever its size:

1. claim: ``SELECT … FROM (SELECT … WHERE status = 'scheduled' AND due_at <= now
   ORDER BY due_at LIMIT n FOR UPDATE SKIP LOCKED)``, joined in the same statement to
   the contact, workspace, step, plan, enrolment and member each touch needs
   (``payloads.details``);
2. decide (``release``: cancelled, skipped with a reason, stale, put back until the
   contact's send window opens, or released) and render in Python, then store each
   touch's new status, due time and rendered text in one ``UPDATE … FROM unnest(…)``;
3. write the events in one ``INSERT INTO events … SELECT … FROM unnest(…)`` and hand
   their ids to the webhook fan-out (one ``INSERT … SELECT`` per workspace).

A released automated touch is ``touch.due`` (its ``due_at`` is the moment of release,
inside the window); a released task is ``task.due``, never ``touch.due``; a skipped one
``touch.skipped`` (and a task skipped or cancelled, ``task.cancelled``). A touch put
back stays ``scheduled`` with its due time moved to the window's opening, so no claim
sees it before then and it costs nothing meanwhile.

The claim locks rather than updates: the row lock is what keeps other replicas away
(``SKIP LOCKED`` gives each a disjoint set), and writing each touch once, with its final
status and text, halves the heap and index writes of a claim-then-update. Once the
caller commits, released touches are no longer ``scheduled``, so each is emitted once. A
crash before the commit releases the locks and rolls everything back; the touches are
claimed again on the next tick. The claim reads the partial index on ``due_at`` of
scheduled touches, so a tick costs what is due, not what is stored.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.services.touches.enrollment_status import complete_finished
from app.services.touches.payloads import (
    TOUCH_COLUMNS,
    EventBatch,
    details,
    task_payload,
    touch_payload,
)
from app.services.touches.release import Decision, Windows, decide
from app.services.touches.render import contact_context, render, send_context, shared_only
from app.services.touches.tasks import cancelled_payload

_CLAIM = text(
    f"""
    WITH claimed AS (
        SELECT {TOUCH_COLUMNS}
        FROM touches
        WHERE status = 'scheduled' AND due_at <= :now
        ORDER BY due_at
        LIMIT :limit
        FOR UPDATE SKIP LOCKED
    )
    {details("claimed")}
    """
)

_STORE = text(
    """
    UPDATE touches AS t
    SET status = v.status, reason = v.reason, subject = v.subject, body = v.body,
        referral_reminder = v.reminder, assignee_id = v.assignee, due_at = v.due_at,
        emitted_at = CASE WHEN v.status = 'scheduled' THEN NULL
                          ELSE CAST(:now AS timestamptz) END,
        updated_at = CAST(:now AS timestamptz),
        version = t.version + 1,
        finished_at = CASE WHEN v.status IN ('due', 'scheduled') THEN NULL
                           ELSE CAST(:now AS timestamptz) END
    FROM unnest(CAST(:ws AS uuid[]), CAST(:ids AS uuid[]), CAST(:status AS text[]),
                CAST(:reason AS text[]), CAST(:subject AS text[]), CAST(:body AS text[]),
                CAST(:reminder AS text[]), CAST(:assignee AS uuid[]),
                CAST(:due_at AS timestamptz[]))
         AS v(ws, id, status, reason, subject, body, reminder, assignee, due_at)
    WHERE t.workspace_id = v.ws AND t.id = v.id
    """
)


@dataclass
class _Batch:
    at: datetime
    windows: Windows
    columns: dict[str, list[Any]] = field(default_factory=lambda: defaultdict(list))
    events: EventBatch = field(default_factory=EventBatch)
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


def _texts(batch: _Batch, row: dict[str, Any], decision: Decision) -> dict[str, Any]:
    """The touch's text: a released plan touch is rendered now and kept forever."""
    texts = {"subject": row["subject"], "body": row["body"], "reminder": row["referral_reminder"]}
    if decision.status == "due" and row["step_id"] is not None:
        base = _context(row, None)
        texts["reminder"] = batch.render(row["plan_reminder"], base, row)
        base["referral_reminder"] = texts["reminder"]
        texts["subject"] = batch.render(row["subject_template"], base, row)
        texts["body"] = batch.render(row["body_template"], base, row)
    return texts


def _add(batch: _Batch, claimed: Any) -> None:
    row = claimed._asdict()  # plain dict: the per-touch work below reads it many times
    decision = decide(row, batch.windows)
    texts = _texts(batch, row, decision)
    due_at = decision.due_at or row["due_at"]
    cols = batch.columns
    for name, value in (
        ("ws", row["workspace_id"]),
        ("ids", row["id"]),
        ("status", decision.status),
        ("reason", decision.reason),
        ("subject", texts["subject"]),
        ("body", texts["body"]),
        ("reminder", texts["reminder"]),
        ("assignee", row["member_id"]),
        ("due_at", due_at),
    ):
        cols[name].append(value)
    status = decision.status
    if status in ("skipped", "cancelled") and row["enrollment_id"] is not None:
        batch.finished.add((row["workspace_id"], row["enrollment_id"]))
    if status in ("skipped", "cancelled") and row["mode"] == "manual":
        assert decision.reason is not None
        data = cancelled_payload(row, decision.reason)
        batch.events.add(row["workspace_id"], "task.cancelled", data)
    if status == "skipped":
        data = touch_payload(row, status, decision.reason, texts, due_at=due_at)
        batch.events.add(row["workspace_id"], "touch.skipped", data)
    elif status == "due" and row["mode"] == "manual":
        data = task_payload(row, status, texts, due_at=batch.at)
        batch.events.add(row["workspace_id"], "task.due", data)
    elif status == "due":
        data = touch_payload(row, status, None, texts, due_at=batch.at)
        batch.events.add(row["workspace_id"], "touch.due", data)


async def emit_due_touches(session: AsyncSession, *, at: datetime, limit: int = 1000) -> int:
    """Claim up to ``limit`` touches due at ``at``; returns how many were claimed."""
    rows = (await session.execute(_CLAIM, {"now": at, "limit": limit})).all()
    if not rows:
        return 0
    batch = _Batch(at=at, windows=Windows(at))
    for row in rows:
        _add(batch, row)
    await session.execute(_STORE, {"now": at, **batch.columns})
    await batch.events.record(session, at=at)
    await complete_finished(session, sorted(batch.finished), at=at)
    return len(rows)
