"""A touch plan experiment's treatment: each contact of its cohort enrolled in its arm's plan.

Run when the experiment starts, right after the cohort is assigned (``assignment``), so
the arms are the recorded assignments and nothing else. The enrolments start on the
experiment's first day (today if that is past: nothing is caught up) and are marked
``experiment``. A contact who cannot be enrolled (do-not-contact, already on the plan,
nobody to sign a plan that names the member) stays in the arm all the same: results
count the arm as assigned, so a plan that reaches fewer people does not look better for
it (``plan_results``).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.errors import Conflict
from app.models.referrals.experiments import Experiment, ExperimentArm, ExperimentAssignment
from app.models.touches import TouchPlan
from app.services import touches
from app.services.referrals.experiments.assignment import COHORT_BATCH, arms_of


async def _require_active(session: AsyncSession, arms: list[ExperimentArm]) -> None:
    """Every arm's plan must take enrolments, whether or not the cohort has anyone yet."""
    stmt = select(col(TouchPlan.id)).where(
        col(TouchPlan.workspace_id) == arms[0].workspace_id,
        col(TouchPlan.id).in_([a.plan_id for a in arms]),
        col(TouchPlan.active).is_(False),
    )
    inactive = set((await session.execute(stmt)).scalars())
    names = [a.name for a in arms if a.plan_id in inactive]
    if names:
        raise Conflict(f"the plan of arm(s) {', '.join(names)} is inactive; activate it first")


async def enrol_cohort(session: AsyncSession, experiment: Experiment, *, at: datetime) -> int:
    """Enrol each assigned contact in its arm's plan; returns the enrolments made."""
    start = max(experiment.starts_at.date(), at.date())
    enrolled = 0
    arms = await arms_of(session, experiment)
    await _require_active(session, arms)
    for arm in arms:
        assert arm.plan_id is not None  # a touch plan experiment's arms name plans
        after: uuid.UUID | None = None
        while True:  # keyset batches: bounded statements whatever the cohort
            stmt = select(col(ExperimentAssignment.contact_id)).where(
                col(ExperimentAssignment.workspace_id) == experiment.workspace_id,
                col(ExperimentAssignment.experiment_id) == experiment.id,
                col(ExperimentAssignment.arm_id) == arm.id,
            )
            if after is not None:
                stmt = stmt.where(col(ExperimentAssignment.contact_id) > after)
            stmt = stmt.order_by(col(ExperimentAssignment.contact_id)).limit(COHORT_BATCH)
            batch = list((await session.execute(stmt)).scalars())
            if batch:
                made, _ = await touches.enroll_many(
                    session,
                    experiment.workspace_id,
                    plan_id=arm.plan_id,
                    segments=[],
                    tags=[],
                    contact_ids=batch,
                    start=start,
                    at=at,
                    source="experiment",
                )
                enrolled += made
            if len(batch) < COHORT_BATCH:
                break
            after = batch[-1]
    return enrolled
