"""Assigning referrers to experiment arms, and the program a new referral gets.

``stats.assign_arm`` (a hash of experiment and contact) decides; the first decision is
recorded with ``INSERT ... ON CONFLICT DO NOTHING`` and read back ever after, so the arm
never changes under a referrer, whichever replica asks. Starting an experiment records
its whole cohort at once, so referrers who never refer still count in the denominator.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.models.contacts import Contact
from app.models.referrals.experiments import Experiment, ExperimentArm, ExperimentAssignment
from app.models.referrals.rewards import RewardProgram
from app.services.analytics import assign_arm

COHORT_BATCH = 5_000


async def arms_of(session: AsyncSession, experiment: Experiment) -> list[ExperimentArm]:
    stmt = (
        select(ExperimentArm)
        .where(
            col(ExperimentArm.workspace_id) == experiment.workspace_id,
            col(ExperimentArm.experiment_id) == experiment.id,
        )
        .order_by(col(ExperimentArm.position))
    )
    return list((await session.execute(stmt)).scalars())


async def record(
    session: AsyncSession,
    experiment: Experiment,
    arms: Sequence[ExperimentArm],
    contact_ids: Sequence[uuid.UUID],
    at: datetime,
) -> None:
    weights = [a.weight for a in arms]
    rows = [
        {
            "workspace_id": experiment.workspace_id,
            "experiment_id": experiment.id,
            "contact_id": cid,
            "arm_id": arms[assign_arm(experiment.id, cid, weights)].id,
            "assigned_at": at,
        }
        for cid in contact_ids
    ]
    if rows:
        await session.execute(insert(ExperimentAssignment).values(rows).on_conflict_do_nothing())


async def assign_cohort(session: AsyncSession, experiment: Experiment, at: datetime) -> None:
    if not (experiment.cohort_segments or experiment.cohort_tags):
        return
    arms = await arms_of(session, experiment)
    stmt = select(col(Contact.id)).where(col(Contact.workspace_id) == experiment.workspace_id)
    if experiment.cohort_segments:
        stmt = stmt.where(col(Contact.segment).in_(experiment.cohort_segments))
    if experiment.cohort_tags:
        stmt = stmt.where(Contact.__table__.c.tags.overlap(experiment.cohort_tags))
    after: uuid.UUID | None = None
    while True:  # keyset batches: bounded memory and statement size whatever the cohort
        page = stmt if after is None else stmt.where(col(Contact.id) > after)
        batch = list(
            (await session.execute(page.order_by(col(Contact.id)).limit(COHORT_BATCH))).scalars()
        )
        await record(session, experiment, arms, batch, at)
        if len(batch) < COHORT_BATCH:
            return
        after = batch[-1]


async def assign(
    session: AsyncSession, experiment: Experiment, contact_id: uuid.UUID, *, at: datetime
) -> ExperimentArm:
    """The contact's arm: recorded on first use, read back ever after."""
    arms = await arms_of(session, experiment)
    await record(session, experiment, arms, [contact_id], at)
    stmt = select(col(ExperimentAssignment.arm_id)).where(
        col(ExperimentAssignment.workspace_id) == experiment.workspace_id,
        col(ExperimentAssignment.experiment_id) == experiment.id,
        col(ExperimentAssignment.contact_id) == contact_id,
    )
    arm_id = (await session.execute(stmt)).scalar_one()
    return next(a for a in arms if a.id == arm_id)


async def program_for_referrer(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    contact_id: uuid.UUID,
    *,
    received_at: datetime,
    at: datetime,
) -> uuid.UUID | None:
    """The referrer's arm's program if a running reward experiment covers the referral,
    else the workspace's default program (None when there is none yet)."""
    stmt = (
        select(Experiment)
        .where(
            col(Experiment.workspace_id) == workspace_id,
            col(Experiment.kind) == "reward_program",
            col(Experiment.status) == "running",
            col(Experiment.starts_at) <= received_at,
            col(Experiment.ends_at) > received_at,
        )
        .order_by(col(Experiment.starts_at), col(Experiment.id))
        .limit(1)
    )
    experiment = (await session.execute(stmt)).scalar_one_or_none()
    if experiment is not None:
        return (await assign(session, experiment, contact_id, at=at)).program_id
    default = select(col(RewardProgram.id)).where(
        col(RewardProgram.workspace_id) == workspace_id, col(RewardProgram.is_default).is_(True)
    )
    return (await session.execute(default)).scalar_one_or_none()
