"""What a touch's events carry, the one join that reads it, and recording them in bulk.

A touch handed to a sender (``touch.due``, ``touch.skipped``) carries everything the
sender needs without calling back; a task (``task.assigned``, ``task.due``) carries what
the member needs: the instructions and the contact's card. Both are built from the rows
of ``details``: the touch joined to its contact, workspace, step, plan, enrolment and
the member who signs it, resolved when the event is made (the step's named member, else
the contact's owner, else the workspace's default sender).
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.json_codec import to_json
from app.models.platform import utc_text
from app.services.platform import current_actor, fan_out
from app.services.touches.render import display_name, recipient

#: The touch columns ``details`` reads from its source relation.
TOUCH_COLUMNS = (
    "workspace_id, id, contact_id, enrollment_id, plan_id, step_id, assignee_id, channel, "
    "mode, content_kind, due_at, expires_at, subject, body, referral_reminder"
)


def details(source: str) -> str:
    """``SELECT`` of everything events and rendering need, for the touches of relation
    ``source`` (a CTE with ``TOUCH_COLUMNS``)."""
    return f"""
    SELECT {source}.*,
           c.first_name, c.last_name, c.company_name, c.company, c.job_title,
           c.primary_email, c.primary_phone, c.address, c.time_zone, c.locale, c.segment,
           c.tags, c.interests, c.family, c.custom_fields, c.consent, c.do_not_contact,
           w.time_zone AS workspace_time_zone, w.name AS workspace_name,
           w.send_window_start, w.send_window_end,
           s.subject_template, s.body_template, s.position AS step_position,
           p.name AS plan_name, p.referral_reminder AS plan_reminder,
           e.status AS enrollment_status,
           m.id AS member_id, m.name AS member_name, m.email AS member_email
    FROM {source}
    JOIN contacts AS c ON c.workspace_id = {source}.workspace_id AND c.id = {source}.contact_id
    JOIN workspaces AS w ON w.id = {source}.workspace_id
    LEFT JOIN touch_plan_steps AS s
        ON s.workspace_id = {source}.workspace_id AND s.id = {source}.step_id
    LEFT JOIN touch_plans AS p ON p.workspace_id = {source}.workspace_id AND p.id = {source}.plan_id
    LEFT JOIN enrollments AS e
        ON e.workspace_id = {source}.workspace_id AND e.id = {source}.enrollment_id
    LEFT JOIN members AS m ON m.workspace_id = {source}.workspace_id AND m.id = (
        CASE WHEN {source}.step_id IS NULL
             THEN coalesce({source}.assignee_id, c.owner_id, w.default_sender_member_id)
             ELSE coalesce(s.assignee_id, c.owner_id, w.default_sender_member_id,
                           {source}.assignee_id) END)
    """


def _iso(value: datetime | None) -> str | None:
    return utc_text(value) if value is not None else None


def _head(row: Mapping[str, Any], status: str, due_at: datetime) -> dict[str, Any]:
    touch_id = str(row["id"])
    return {
        "id": touch_id,
        "idempotency_key": touch_id,
        "status": status,
        "channel": row["channel"],
        "mode": row["mode"],
        "content_kind": row["content_kind"],
        "due_at": utc_text(due_at),
        "expires_at": _iso(row["expires_at"]),
    }


def _refs(row: Mapping[str, Any]) -> dict[str, Any]:
    plan_id, step_id = row["plan_id"], row["step_id"]
    return {
        "plan": {"id": str(plan_id), "name": row["plan_name"]} if plan_id else None,
        "step": {"id": str(step_id), "position": row["step_position"]} if step_id else None,
        "enrollment_id": str(row["enrollment_id"]) if row["enrollment_id"] else None,
    }


def _member(row: Mapping[str, Any]) -> dict[str, Any] | None:
    member_id = row["member_id"]
    if member_id is None:
        return None
    return {"id": str(member_id), "name": row["member_name"], "email": row["member_email"]}


def touch_payload(
    row: Mapping[str, Any],
    status: str,
    reason: str | None,
    texts: Mapping[str, Any],
    *,
    due_at: datetime,
) -> dict[str, Any]:
    """``touch.due`` / ``touch.skipped``: everything a mail or SMS sender needs."""
    contact_id = str(row["contact_id"])
    data: dict[str, Any] = {
        **_head(row, status, due_at),
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
        "member": _member(row),
        **_refs(row),
    }
    if reason is not None:
        data["reason"] = reason
    return data


#: A postal address in the contact card has every key (null when unknown), as
#: ``AddressRead`` does: contacts store only the parts they were given.
_ADDRESS_KEYS = ("line1", "line2", "city", "region", "postal_code", "country")


def _address(value: Mapping[str, Any] | None) -> dict[str, Any] | None:
    return {k: value.get(k) for k in _ADDRESS_KEYS} if value else None


def contact_card(row: Mapping[str, Any]) -> dict[str, Any]:
    """The contact as a member doing a task needs it: who, and how to reach them."""
    return {
        "id": str(row["contact_id"]),
        "name": display_name(row),
        "first_name": row["first_name"],
        "last_name": row["last_name"],
        "company_name": row["company_name"],
        "company": row["company"],
        "job_title": row["job_title"],
        "primary_email": row["primary_email"],
        "primary_phone": row["primary_phone"],
        "address": _address(row["address"]),
        "locale": row["locale"],
        "time_zone": row["time_zone"] or row["workspace_time_zone"],
    }


def task_payload(
    row: Mapping[str, Any], status: str, texts: Mapping[str, Any], *, due_at: datetime
) -> dict[str, Any]:
    """``task.assigned`` / ``task.due``: the task, its instructions (rendered when it
    falls due; null before) and the contact's card, for the member it is assigned to."""
    return {
        **_head(row, status, due_at),
        "subject": texts["subject"],
        "body": texts["body"],
        "referral_reminder": texts["reminder"],
        "assignee": _member(row),
        "contact_id": str(row["contact_id"]),
        "contact": contact_card(row),
        **_refs(row),
    }


_EVENTS = text(
    """
    INSERT INTO events (workspace_id, event_uid, type, occurred_at, data, actor)
    SELECT v.ws, gen_random_uuid(), v.type, :now, CAST(v.data AS jsonb), CAST(:actor AS jsonb)
    FROM unnest(CAST(:ws AS uuid[]), CAST(:types AS text[]), CAST(:data AS text[]))
         WITH ORDINALITY AS v(ws, type, data, n)
    ORDER BY v.n
    RETURNING workspace_id, id
    """
)

encode = json.JSONEncoder(default=str, ensure_ascii=False).encode


class EventBatch:
    """Events of several workspaces, recorded in one statement and fanned out to their
    webhook deliveries (one ``INSERT … SELECT`` per workspace)."""

    def __init__(self) -> None:
        self.columns: dict[str, list[Any]] = defaultdict(list)

    def add(self, workspace_id: uuid.UUID, event_type: str, data: dict[str, Any]) -> None:
        self.columns["ws"].append(workspace_id)
        self.columns["types"].append(event_type)
        self.columns["data"].append(encode(data))

    def __len__(self) -> int:
        return len(self.columns["ws"])

    async def record(self, session: AsyncSession, *, at: datetime) -> None:
        if not self:
            return
        actor = to_json(current_actor().as_json())  # the scheduler's: the system
        created = await session.execute(_EVENTS, {"now": at, "actor": actor, **self.columns})
        by_workspace: dict[uuid.UUID, list[int]] = defaultdict(list)
        for ws, event_id in created:
            by_workspace[ws].append(int(event_id))
        for ws, ids in by_workspace.items():
            await fan_out(session, ws, ids, at=at)


async def rows_of(
    session: AsyncSession, keys: Sequence[tuple[uuid.UUID, uuid.UUID]]
) -> list[dict[str, Any]]:
    """``details`` of these touches, as plain dicts."""
    if not keys:
        return []
    stmt = text(
        f"""
        WITH picked AS (
            SELECT {TOUCH_COLUMNS} FROM touches
            WHERE (workspace_id, id) IN (
                SELECT * FROM unnest(CAST(:ws AS uuid[]), CAST(:ids AS uuid[])))
        )
        {details("picked")}
        """
    )
    params = {"ws": [k[0] for k in keys], "ids": [k[1] for k in keys]}
    return [dict(r._mapping) for r in await session.execute(stmt, params)]
