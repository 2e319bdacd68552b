"""A reward experiment's results: per-arm figures and an honest comparison of the primary
metric (a touch plan experiment's are ``plan_results``').

Referrals count when their referrer is assigned to an arm and they were received within the
experiment's period. The primary metric is a count per referrer, so arms are compared as
Poisson rates (``stats.compare_rates``: rate ratio, CI, exact conditional p-value) with the
first arm as the control; below ``min_sample`` referrers per arm the answer is
"insufficient data", never a number that only looks meaningful.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from app.models.referrals.experiments import (
    ArmResult,
    Comparison,
    Experiment,
    ExperimentArm,
    ExperimentAssignment,
    ExperimentResults,
)
from app.models.referrals.plan_experiments import PlanExperimentResults
from app.models.referrals.rewards import Reward
from app.models.referrals.tables import Referral
from app.services.analytics import compare_rates, conversion_rate, roi_percent
from app.services.referrals.experiments.design import get_experiment
from app.services.referrals.experiments.plan_results import plan_results
from app.services.referrals.experiments.verdicts import CONFIDENCE, verdict

ZERO = Decimal("0.00")


async def results(
    session: AsyncSession, workspace_id: uuid.UUID, experiment_id: uuid.UUID
) -> ExperimentResults | PlanExperimentResults:
    experiment = await get_experiment(session, workspace_id, experiment_id)
    if experiment.kind == "touch_plan":
        return await plan_results(session, experiment)
    arms = list(
        (
            await session.execute(
                select(ExperimentArm)
                .where(
                    col(ExperimentArm.workspace_id) == workspace_id,
                    col(ExperimentArm.experiment_id) == experiment.id,
                )
                .order_by(col(ExperimentArm.position))
            )
        ).scalars()
    )
    referrers = await _referrers(session, experiment)
    counts = await _referral_counts(session, experiment)
    costs = await _reward_costs(session, experiment)
    arm_results = []
    for arm in arms:
        assert arm.program_id is not None  # a reward experiment's arms name programs
        n_referrers = referrers.get(arm.id, 0)
        n_referrals, n_closed, revenue = counts.get(arm.id, (0, 0, ZERO))
        cost = costs.get(arm.id, ZERO)
        arm_results.append(
            ArmResult(
                arm_id=arm.id,
                name=arm.name,
                program_id=arm.program_id,
                referrers=n_referrers,
                referrals=n_referrals,
                referrals_per_referrer=n_referrals / n_referrers if n_referrers else None,
                closed=n_closed,
                conversion_rate=conversion_rate(n_closed, n_referrals),
                revenue=revenue,
                reward_cost=cost,
                roi_percent=roi_percent(revenue=revenue, costs=cost),
            )
        )
    return ExperimentResults(
        kind="reward_program",
        experiment_id=experiment.id,
        status=experiment.status,
        currency=experiment.currency,
        period_start=experiment.starts_at,
        period_end=experiment.ends_at,
        arms=arm_results,
        comparisons=_compare(experiment, arm_results),
    )


def _compare(experiment: Experiment, arms: list[ArmResult]) -> list[Comparison]:
    if not arms:
        return []
    control = arms[0]
    closed = experiment.primary_metric == "closed_per_referrer"
    out = []
    for arm in arms[1:]:
        c = compare_rates(
            control.closed if closed else control.referrals,
            control.referrers,
            arm.closed if closed else arm.referrals,
            arm.referrers,
            min_exposure=experiment.min_sample,
            confidence=CONFIDENCE,
        )
        out.append(
            Comparison(
                metric=experiment.primary_metric,
                arm_a=control.name,
                arm_b=arm.name,
                rate_a=c.rate_a,
                rate_b=c.rate_b,
                rate_ratio=c.rate_ratio,
                ci_low=c.ci_low,
                ci_high=c.ci_high,
                confidence=CONFIDENCE,
                p_value=c.p_value,
                sufficient=c.sufficient,
                verdict=verdict(c, control.name, arm.name),
                reason=c.reason,
            )
        )
    return out


async def _referrers(session: AsyncSession, experiment: Experiment) -> dict[uuid.UUID, int]:
    stmt = (
        select(col(ExperimentAssignment.arm_id), func.count())
        .where(
            col(ExperimentAssignment.workspace_id) == experiment.workspace_id,
            col(ExperimentAssignment.experiment_id) == experiment.id,
        )
        .group_by(col(ExperimentAssignment.arm_id))
    )
    return {arm_id: int(n) for arm_id, n in (await session.execute(stmt)).all()}


def _in_period(experiment: Experiment) -> list[ColumnElement[bool]]:
    """Referrals received within the period from referrers assigned in this experiment."""
    return [
        col(Referral.workspace_id) == experiment.workspace_id,
        col(Referral.direction) == "received",
        col(Referral.received_at) >= experiment.starts_at,
        col(Referral.received_at) < experiment.ends_at,
    ]


def _assigned() -> ColumnElement[bool]:
    return and_(
        col(ExperimentAssignment.workspace_id) == col(Referral.workspace_id),
        col(ExperimentAssignment.contact_id) == col(Referral.source_contact_id),
    )


async def _referral_counts(
    session: AsyncSession, experiment: Experiment
) -> dict[uuid.UUID, tuple[int, int, Decimal]]:
    is_closed = col(Referral.stage) == "closed"
    counted = and_(is_closed, col(Referral.currency) == experiment.currency)
    stmt = (
        select(
            col(ExperimentAssignment.arm_id),
            func.count(),
            func.count().filter(is_closed),
            func.coalesce(func.sum(col(Referral.actual_value)).filter(counted), ZERO),
        )
        .select_from(Referral)
        .join(ExperimentAssignment, _assigned())
        .where(col(ExperimentAssignment.experiment_id) == experiment.id, *_in_period(experiment))
        .group_by(col(ExperimentAssignment.arm_id))
    )
    return {
        arm: (n, closed, Decimal(value or ZERO))
        for arm, n, closed, value in (await session.execute(stmt)).all()
    }


async def _reward_costs(session: AsyncSession, experiment: Experiment) -> dict[uuid.UUID, Decimal]:
    stmt = (
        select(col(ExperimentAssignment.arm_id), func.sum(col(Reward.amount)))
        .select_from(Reward)
        .join(
            Referral,
            and_(
                col(Referral.workspace_id) == col(Reward.workspace_id),
                col(Referral.id) == col(Reward.referral_id),
            ),
        )
        .join(ExperimentAssignment, _assigned())
        .where(
            col(ExperimentAssignment.experiment_id) == experiment.id,
            col(Reward.status) != "cancelled",
            col(Reward.currency) == experiment.currency,
            *_in_period(experiment),
        )
        .group_by(col(ExperimentAssignment.arm_id))
    )
    return {arm: Decimal(total) for arm, total in (await session.execute(stmt)).all()}
