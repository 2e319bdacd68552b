"""Turning enrolments into touch rows, ahead of time, a bounded horizon at a time.

Touches are rows from the moment they are planned, so "what is coming" is a query and the
scheduler's claim is an index range scan. Every active enrolment keeps its touches planned
at least ``HORIZON_DAYS`` ahead; ``enrollments.materialized_until`` records how far, and the
top-up job reads only enrolments whose horizon runs out (a partial index on that column),
so its cost follows the work coming due, not the number of enrolments stored. Each top-up
plans ``EXTEND_DAYS`` more, plus a per-enrolment spread, so a million enrolments created on
one day do not all need topping up on the same later day.

Re-planning is idempotent: a touch is keyed by (enrolment, step, date) and inserted with
``ON CONFLICT DO NOTHING``, so planning a range twice, or a step that already fired on a
date, never makes a second touch.

A non-yearly plan runs one cycle: from the start date to a year later (or to its last
days-after-enrolment step when that is later). A yearly plan repeats its days-after-
enrolment steps on every anniversary of the start; recurrences and observances repeat
anyway. When a non-yearly enrolment has planned its whole cycle, ``materialized_until``
becomes ``date.max`` and the top-up job never reads it again.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, select, text, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.models.contacts import Contact, Observance
from app.models.platform import Workspace
from app.models.touches.tables import Enrollment, Touch
from app.services.touches.steps import DONE, PlanSpec, due_at_cached, load_plans, step_dates

HORIZON_DAYS = 90
EXTEND_DAYS = 30
SPREAD_DAYS = 30
INSERT_CHUNK = 2000
_TOUCH_KEY = "uq_touches_workspace_id_enrollment_id_step_id_occurrence_key"


@dataclass(frozen=True)
class Target:
    """An enrolment to plan, with what its touches' times depend on."""

    workspace_id: uuid.UUID
    id: uuid.UUID
    contact_id: uuid.UUID
    plan_id: uuid.UUID
    start_date: date
    materialized_until: date
    tz: str
    window_start: time
    window_end: time
    owner_id: uuid.UUID | None
    do_not_contact: bool


def horizon_for(enrollment_id: uuid.UUID, today: date) -> date:
    """How far to plan: the horizon, a month more, and a stable per-enrolment spread."""
    return today + timedelta(days=HORIZON_DAYS + EXTEND_DAYS + enrollment_id.int % SPREAD_DAYS)


async def load_targets(
    session: AsyncSession, keys: Sequence[tuple[uuid.UUID, uuid.UUID]]
) -> list[Target]:
    if not keys:
        return []
    stmt = (
        select(
            col(Enrollment.workspace_id),
            col(Enrollment.id),
            col(Enrollment.contact_id),
            col(Enrollment.plan_id),
            col(Enrollment.start_date),
            col(Enrollment.materialized_until),
            col(Contact.time_zone),
            Workspace.__table__.c.time_zone.label("ws_time_zone"),
            col(Workspace.send_window_start),
            col(Workspace.send_window_end),
            col(Contact.owner_id),
            col(Contact.do_not_contact),
        )
        .join(
            Contact,
            and_(
                col(Contact.workspace_id) == col(Enrollment.workspace_id),
                col(Contact.id) == col(Enrollment.contact_id),
            ),
        )
        .join(Workspace, col(Workspace.id) == col(Enrollment.workspace_id))
        .where(
            tuple_(col(Enrollment.workspace_id), col(Enrollment.id)).in_(list(keys)),
            col(Enrollment.status) == "active",
        )
    )
    return [
        Target(
            workspace_id=r.workspace_id,
            id=r.id,
            contact_id=r.contact_id,
            plan_id=r.plan_id,
            start_date=r.start_date,
            materialized_until=r.materialized_until,
            tz=r.time_zone or r.ws_time_zone,
            window_start=r.send_window_start,
            window_end=r.send_window_end,
            owner_id=r.owner_id,
            do_not_contact=r.do_not_contact,
        )
        for r in await session.execute(stmt)
    ]


async def _observances(
    session: AsyncSession, contacts: set[tuple[uuid.UUID, uuid.UUID]], kinds: set[str]
) -> dict[tuple[uuid.UUID, uuid.UUID], dict[str, tuple[int, int]]]:
    found: dict[tuple[uuid.UUID, uuid.UUID], dict[str, tuple[int, int]]] = {}
    if not contacts or not kinds:
        return found
    stmt = (
        select(col(Observance.workspace_id), col(Observance.contact_id), col(Observance.kind))
        .add_columns(col(Observance.month), col(Observance.day))
        .where(
            tuple_(col(Observance.workspace_id), col(Observance.contact_id)).in_(list(contacts)),
            col(Observance.kind).in_(kinds),
        )
        .order_by(col(Observance.created_at))
    )
    for r in await session.execute(stmt):
        found.setdefault((r.workspace_id, r.contact_id), {}).setdefault(r.kind, (r.month, r.day))
    return found


def _rows_for(
    target: Target,
    plan: PlanSpec,
    lo: date,
    hi: date,
    observances: dict[str, tuple[int, int]],
    not_before: datetime | None,
    at: datetime,
) -> list[dict[str, Any]]:
    rows = []
    for step in plan.steps:
        for day in step_dates(plan, step, target.start_date, lo, hi, observances):
            due = due_at_cached(
                day, target.tz, target.window_start, target.window_end, step.send_time
            )
            if not_before is not None and due < not_before:
                continue
            rows.append(
                {
                    "workspace_id": target.workspace_id,
                    "id": uuid.uuid4(),
                    "contact_id": target.contact_id,
                    "enrollment_id": target.id,
                    "plan_id": plan.id,
                    "step_id": step.id,
                    "assignee_id": step.assignee_id or target.owner_id,
                    "channel": step.channel,
                    "mode": step.mode,
                    "content_kind": step.content_kind,
                    "status": "scheduled",
                    "due_at": due,
                    "due_date": day,
                    "occurrence_key": day.isoformat(),
                    "version": 1,
                    "created_at": at,
                    "updated_at": at,
                }
            )
    return rows


async def materialize(
    session: AsyncSession,
    keys: Sequence[tuple[uuid.UUID, uuid.UUID]],
    *,
    at: datetime,
    not_before: datetime | None = None,
) -> int:
    """Plan touches of these enrolments up to their horizon; returns touches inserted.

    ``not_before`` drops occurrences due earlier (re-planning after an edit must not fire
    a new step's past dates); a new enrolment passes None so a past start catches up.
    Do-not-contact contacts get no touches, but their horizon still advances.
    """
    targets = await load_targets(session, keys)
    plans = await load_plans(session, {(t.workspace_id, t.plan_id) for t in targets})
    kinds = set().union(*(p.observance_kinds for p in plans.values())) if plans else set()
    needs_obs = {
        (t.workspace_id, t.contact_id)
        for t in targets
        if plans.get((t.workspace_id, t.plan_id), PlanSpec(t.plan_id, False, ())).observance_kinds
    }
    observances = await _observances(session, needs_obs, kinds)
    today = at.date()
    rows: list[dict[str, Any]] = []
    advanced: list[tuple[uuid.UUID, uuid.UUID, date]] = []
    for t in targets:
        plan = plans.get((t.workspace_id, t.plan_id))
        if plan is None:
            continue
        end = plan.cycle_end(t.start_date)
        lo = max(t.start_date, t.materialized_until + timedelta(days=1))
        hi = min(horizon_for(t.id, today), end)
        if lo <= hi and not t.do_not_contact:
            obs = observances.get((t.workspace_id, t.contact_id), {})
            rows.extend(_rows_for(t, plan, lo, hi, obs, not_before, at))
        advanced.append(
            (t.workspace_id, t.id, DONE if hi >= end else max(hi, t.materialized_until))
        )
    inserted = 0
    stmt = insert(Touch).on_conflict_do_nothing(constraint=_TOUCH_KEY)
    for i in range(0, len(rows), INSERT_CHUNK):
        result = await session.execute(stmt.returning(col(Touch.id)), rows[i : i + INSERT_CHUNK])
        inserted += len(result.all())
    if advanced:
        await session.execute(
            text(
                "UPDATE enrollments AS e SET materialized_until = v.until "
                "FROM unnest(CAST(:ws AS uuid[]), CAST(:ids AS uuid[]), CAST(:until AS date[])) "
                "AS v(ws, id, until) WHERE e.workspace_id = v.ws AND e.id = v.id"
            ),
            {
                "ws": [a[0] for a in advanced],
                "ids": [a[1] for a in advanced],
                "until": [a[2] for a in advanced],
            },
        )
    return inserted


async def top_up(session: AsyncSession, *, at: datetime, limit: int = 500) -> int:
    """Plan ahead for enrolments whose horizon runs out; returns enrolments topped up.

    ``SKIP LOCKED`` lets replicas share the work; the partial index on
    ``materialized_until`` (active only) makes finding them cost what they number.
    """
    stmt = (
        select(col(Enrollment.workspace_id), col(Enrollment.id))
        .where(
            col(Enrollment.status) == "active",
            col(Enrollment.materialized_until) < at.date() + timedelta(days=HORIZON_DAYS),
        )
        .order_by(col(Enrollment.materialized_until))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    keys = [(r.workspace_id, r.id) for r in await session.execute(stmt)]
    await materialize(session, keys, at=at)
    return len(keys)
