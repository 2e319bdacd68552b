"""Experiments: designing them, starting and stopping them.

A draft's design (arms, period, metric, cohort) may change freely; once started it is
frozen, because referrers were assigned under it. Assignment itself lives in
``assignment``; a touch plan experiment's enrolment of its cohort in ``plan_arms``.

Running experiments of one kind may not overlap: a referral must belong to one reward
arm at most, and a contact to one plan arm. A reward experiment and a plan experiment
may run side by side: they measure different treatments of the same people.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.errors import Conflict, FieldError, NotFound, ValidationFailed
from app.models.referrals.experiments import (
    ArmRead,
    ArmSpec,
    Cohort,
    Experiment,
    ExperimentArm,
    ExperimentCreate,
    ExperimentRead,
    ExperimentUpdate,
    check_design,
)
from app.models.referrals.rewards import RewardProgram
from app.models.touches import TouchPlan
from app.services.platform import PageRequest, check_version, keyset_page
from app.services.referrals.experiments.assignment import arms_of, assign_cohort
from app.services.referrals.experiments.plan_arms import enrol_cohort

DESIGN_FIELDS = ("starts_at", "ends_at", "primary_metric", "min_sample", "currency")


async def _set_arms(session: AsyncSession, experiment: Experiment, arms: Sequence[ArmSpec]) -> None:
    table: type[RewardProgram] | type[TouchPlan]
    if experiment.kind == "touch_plan":
        table, field, what = TouchPlan, "plan_id", "touch plan"
    else:
        table, field, what = RewardProgram, "program_id", "reward program"
    ids = {getattr(a, field) for a in arms}
    stmt = select(col(table.id)).where(
        col(table.workspace_id) == experiment.workspace_id, col(table.id).in_(ids)
    )
    found = set((await session.execute(stmt)).scalars())
    for i, arm in enumerate(arms):
        if getattr(arm, field) not in found:
            raise ValidationFailed.on(["body", "arms", i, field], f"no such {what}")
    await session.execute(
        delete(ExperimentArm).where(
            col(ExperimentArm.workspace_id) == experiment.workspace_id,
            col(ExperimentArm.experiment_id) == experiment.id,
        )
    )
    for position, arm in enumerate(arms):
        session.add(
            ExperimentArm(
                workspace_id=experiment.workspace_id,
                experiment_id=experiment.id,
                position=position,
                **arm.model_dump(),
            )
        )
    await session.flush()


async def read(session: AsyncSession, experiment: Experiment) -> ExperimentRead:
    arms = await arms_of(session, experiment)
    cohort = None
    if experiment.cohort_segments or experiment.cohort_tags:
        cohort = Cohort.model_validate(
            {"segments": experiment.cohort_segments, "tags": experiment.cohort_tags}
        )
    data = {
        c: getattr(experiment, c) for c in ExperimentRead.model_fields if hasattr(experiment, c)
    }
    data.update(cohort=cohort, arms=[ArmRead.model_validate(a) for a in arms])
    return ExperimentRead.model_validate(data)


def _require_design(
    kind: str, metric: str, arms: Sequence[ArmSpec] | None, cohort: Cohort | None
) -> None:
    """Refuse a design its kind does not allow, naming every field at fault."""
    wrong = check_design(kind, metric, list(arms) if arms is not None else None, cohort)
    if wrong:
        raise ValidationFailed(
            detail="; ".join(f"{'.'.join(map(str, loc))}: {msg}" for loc, msg in wrong),
            errors=[FieldError(["body", *loc], msg) for loc, msg in wrong],
        )


async def create_experiment(
    session: AsyncSession, workspace_id: uuid.UUID, data: ExperimentCreate, *, at: datetime
) -> Experiment:
    _require_design(data.kind, data.primary_metric, data.arms, data.cohort)
    cohort = data.cohort or Cohort()
    experiment = Experiment(
        workspace_id=workspace_id,
        status="draft",
        cohort_segments=list(cohort.segments),
        cohort_tags=list(cohort.tags),
        version=1,
        created_at=at,
        updated_at=at,
        **data.model_dump(exclude={"arms", "cohort"}),
    )
    session.add(experiment)
    await session.flush()
    await _set_arms(session, experiment, data.arms)
    return experiment


async def get_experiment(
    session: AsyncSession, workspace_id: uuid.UUID, experiment_id: uuid.UUID, *, lock: bool = False
) -> Experiment:
    stmt = select(Experiment).where(
        col(Experiment.workspace_id) == workspace_id, col(Experiment.id) == experiment_id
    )
    if lock:
        stmt = stmt.with_for_update()
    experiment = (await session.execute(stmt)).scalar_one_or_none()
    if experiment is None:
        raise NotFound("experiment not found")
    return experiment


async def list_experiments(
    session: AsyncSession, workspace_id: uuid.UUID, page: PageRequest, *, status: str | None
) -> tuple[list[Experiment], str | None]:
    stmt = select(Experiment).where(col(Experiment.workspace_id) == workspace_id)
    if status is not None:
        stmt = stmt.where(col(Experiment.status) == status)
    rows, cursor = await keyset_page(
        session,
        stmt,
        keys=[col(Experiment.created_at), col(Experiment.id)],
        page=page,
        sort="experiments",
    )
    return [r[0] for r in rows], cursor


async def update_experiment(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    experiment_id: uuid.UUID,
    changes: ExperimentUpdate,
    *,
    expected_version: int | None,
    at: datetime,
) -> Experiment:
    """A draft changes freely; once started, only its name and description may change."""
    experiment = await get_experiment(session, workspace_id, experiment_id, lock=True)
    check_version(experiment.version, expected_version)
    values = changes.model_dump(exclude_unset=True)
    design = {k for k in values if k not in ("name", "description")}
    if design and experiment.status != "draft":
        raise Conflict(
            f"a {experiment.status} experiment's design cannot change: {', '.join(sorted(design))}"
        )
    for name in ("name", "description", *DESIGN_FIELDS):
        if name in values and (values[name] is not None or name == "description"):
            setattr(experiment, name, values[name])
    if experiment.starts_at >= experiment.ends_at:
        raise ValidationFailed.on(["body", "ends_at"], "starts_at must be before ends_at")
    if "cohort" in values:
        cohort = changes.cohort or Cohort()
        experiment.cohort_segments = list(cohort.segments)
        experiment.cohort_tags = list(cohort.tags)
    cohort = Cohort.model_validate(
        {"segments": experiment.cohort_segments, "tags": experiment.cohort_tags}
    )
    _require_design(experiment.kind, experiment.primary_metric, changes.arms, cohort)
    if changes.arms is not None:
        if len({a.name for a in changes.arms}) != len(changes.arms):
            raise ValidationFailed.on(["body", "arms"], "arm names must be distinct")
        await _set_arms(session, experiment, changes.arms)
    experiment.version += 1
    experiment.updated_at = at
    await session.flush()
    return experiment


async def delete_experiment(
    session: AsyncSession, workspace_id: uuid.UUID, experiment_id: uuid.UUID
) -> None:
    experiment = await get_experiment(session, workspace_id, experiment_id, lock=True)
    if experiment.status != "draft":
        raise Conflict("only a draft experiment can be deleted; stop it instead")
    await session.delete(experiment)
    await session.flush()


async def start_experiment(
    session: AsyncSession, workspace_id: uuid.UUID, experiment_id: uuid.UUID, *, at: datetime
) -> Experiment:
    """Running experiments of a kind may not overlap. Starting assigns the cohort; a touch
    plan experiment also enrols each contact of it in its arm's plan."""
    key = f"experiments:{workspace_id}"
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(key, 0))))
    experiment = await get_experiment(session, workspace_id, experiment_id, lock=True)
    if experiment.status != "draft":
        raise Conflict(f"only a draft experiment can start (this one is {experiment.status})")
    overlap = select(col(Experiment.id)).where(
        col(Experiment.workspace_id) == workspace_id,
        col(Experiment.kind) == experiment.kind,
        col(Experiment.status) == "running",
        col(Experiment.starts_at) < experiment.ends_at,
        col(Experiment.ends_at) > experiment.starts_at,
    )
    if (other := (await session.execute(overlap)).scalar()) is not None:
        raise Conflict(f"running experiment {other} overlaps this one's period")
    experiment.status = "running"
    experiment.started_at = at
    experiment.version += 1
    experiment.updated_at = at
    await assign_cohort(session, experiment, at)
    if experiment.kind == "touch_plan":
        await enrol_cohort(session, experiment, at=at)
    await session.flush()
    return experiment


async def stop_experiment(
    session: AsyncSession, workspace_id: uuid.UUID, experiment_id: uuid.UUID, *, at: datetime
) -> Experiment:
    experiment = await get_experiment(session, workspace_id, experiment_id, lock=True)
    if experiment.status != "running":
        raise Conflict(f"only a running experiment can stop (this one is {experiment.status})")
    experiment.status = "stopped"
    experiment.stopped_at = at
    experiment.version += 1
    experiment.updated_at = at
    await session.flush()
    return experiment
