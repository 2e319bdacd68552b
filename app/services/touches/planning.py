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
date, never makes a second touch. A re-plan that dropped scheduled touches passes their
ids back (``reuse``), so a touch planned again under its key keeps its id: a sender's
idempotency key and a member's task stay the same.

Each touch is planned with the moment it goes stale (``expires_at``, see
``steps.expires_at``). An enrolment dated in the past plans the dates that fell before
the day it was made as ``skipped: before_start``, unless it asked to ``catch_up``: then
they are scheduled, and the tick sends those still fresh and skips the others as stale.
Manual steps are tasks: each new one is announced (``task.assigned``) as it is planned.

A non-yearly plan runs one cycle: from the start date to a year later (or to its last
days-after-enrolment step when that is later). A yearly plan repeats its days-after-
enrolment steps on every anniversary of the start; recurrences and observances repeat
anyway. When a non-yearly enrolment has planned its whole cycle, ``materialized_until``
becomes ``date.max`` and the top-up job never reads it again.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, select, text, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.models.contacts import Contact, Observance
from app.models.platform import Member, Workspace
from app.models.touches.tables import Enrollment, Touch
from app.services.touches.enrollment_status import complete_finished
from app.services.touches.steps import (
    DONE,
    PlanSpec,
    due_at_cached,
    expires_at,
    load_plans,
    step_dates,
)
from app.services.touches.tasks import announce_assigned

HORIZON_DAYS = 90
EXTEND_DAYS = 30
SPREAD_DAYS = 30
INSERT_CHUNK = 2000
_TOUCH_KEY = "uq_touches_workspace_id_enrollment_id_step_id_occurrence_key"
#: (enrolment, step, occurrence key) → the id a touch planned again under it keeps.
Reuse = Mapping[tuple[uuid.UUID, uuid.UUID, str], uuid.UUID]


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
    default_sender: uuid.UUID | None = None
    made_on: date = date.min  # the day the enrolment was made: earlier dates are missed
    catch_up: bool = False


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
            col(Member.id).label("default_sender"),
            col(Enrollment.created_at),
            col(Enrollment.catch_up),
        )
        .join(
            Contact,
            and_(
                col(Contact.workspace_id) == col(Enrollment.workspace_id),
                col(Contact.id) == col(Enrollment.contact_id),
            ),
        )
        .join(Workspace, col(Workspace.id) == col(Enrollment.workspace_id))
        .outerjoin(
            Member,
            and_(
                col(Member.workspace_id) == col(Workspace.id),
                col(Member.id) == col(Workspace.default_sender_member_id),
            ),
        )
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
            default_sender=r.default_sender,
            made_on=r.created_at.astimezone(UTC).date(),
            catch_up=r.catch_up,
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
    reuse: Reuse,
) -> list[dict[str, Any]]:
    rows = []
    sender = target.owner_id or target.default_sender
    for step in plan.steps:
        for day in step_dates(plan, step, target.start_date, lo, hi, observances):
            due = due_at_cached(
                day, target.tz, target.window_start, target.window_end, step.send_time
            )
            if not_before is not None and due < not_before:
                continue
            missed = day < target.made_on and not target.catch_up
            key = day.isoformat()
            rows.append(
                {
                    "workspace_id": target.workspace_id,
                    "id": reuse.get((target.id, step.id, key)) or uuid.uuid4(),
                    "contact_id": target.contact_id,
                    "enrollment_id": target.id,
                    "plan_id": plan.id,
                    "step_id": step.id,
                    "assignee_id": step.assignee_id or sender,
                    "channel": step.channel,
                    "mode": step.mode,
                    "content_kind": step.content_kind,
                    "status": "skipped" if missed else "scheduled",
                    "reason": "before_start" if missed else None,
                    "finished_at": at if missed else None,
                    "due_at": due,
                    "expires_at": expires_at(step, day, due, _known_zone(target.tz)),
                    "due_date": day,
                    "occurrence_key": key,
                    "version": 1,
                    "created_at": at,
                    "updated_at": at,
                }
            )
    return rows


@lru_cache(maxsize=1024)
def _known_zone(tz: str) -> str:
    """The zone, or UTC where this host's tz database lacks it (as ``due_at_cached``)."""
    try:
        ZoneInfo(tz)
    except (ValueError, KeyError):
        return "UTC"
    return tz


async def materialize(
    session: AsyncSession,
    keys: Sequence[tuple[uuid.UUID, uuid.UUID]],
    *,
    at: datetime,
    not_before: datetime | None = None,
    reuse: Reuse | None = None,
) -> int:
    """Plan touches of these enrolments up to their horizon; returns touches inserted.

    ``not_before`` drops occurrences due earlier (re-planning after an edit must not fire
    a new step's past dates); a new enrolment passes None, so its missed dates are
    recorded (``before_start``) or caught up. ``reuse`` gives touches planned again the
    ids they had. Do-not-contact contacts get no touches, but their horizon advances.
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
            rows.extend(_rows_for(t, plan, lo, hi, obs, not_before, at, reuse or {}))
        advanced.append(
            (t.workspace_id, t.id, DONE if hi >= end else max(hi, t.materialized_until))
        )
    inserted = 0
    stmt = insert(Touch).on_conflict_do_nothing(constraint=_TOUCH_KEY)
    returning = stmt.returning(col(Touch.workspace_id), col(Touch.id), col(Touch.mode))
    kept = set((reuse or {}).values())
    tasks: list[tuple[uuid.UUID, uuid.UUID]] = []
    for i in range(0, len(rows), INSERT_CHUNK):
        chunk = rows[i : i + INSERT_CHUNK]
        planned = {r["id"] for r in chunk if r["status"] == "scheduled"}
        for r in (await session.execute(returning, chunk)).all():
            inserted += 1
            if r.mode == "manual" and r.id in planned and r.id not in kept:
                tasks.append((r.workspace_id, r.id))
    await announce_assigned(session, tasks, at=at)
    done = [(ws, i) for ws, i, until in advanced if until == DONE]
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
    # Fully planned with nothing left to send (every date missed before the start): done.
    await complete_finished(session, done, at=at)
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
