"""A touch plan experiment's results: per-arm figures and exact comparisons.

The unit is the contact assigned to an arm when the experiment started, whether its
plan reached them or not (intention to treat). Within the experiment's period, per arm:

* engaged contacts: an inbound or two-way interaction, or an attended activity;
* referrals they sent, those now closed, and the closed ones' actual value (in the
  experiment's currency);
* the touches of the arm's plan to them reported sent or completed, priced by channel
  with the workspace's ``touch_costs`` (analytics settings): the arm's touch cost, and
  ROI = (referral value - touch cost) / touch cost x 100.

Engaged contacts, referrals and closed referrals are counts per contact, so each arm is
compared with the first on each of them exactly as reward experiments compare theirs:
a Poisson rate ratio with its log-normal interval and the exact conditional p-value
(``analytics.compare_rates``), "insufficient data" below ``min_sample`` contacts. A value
is a sum of deal sizes, not a count, and has no such test: it is reported per arm and per
contact, with the closed-referral comparison as its evidence.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.contacts import ENGAGING_DIRECTIONS
from app.models.referrals.experiments import METRICS_OF, Comparison, Experiment
from app.models.referrals.plan_experiments import PlanArmResult, PlanExperimentResults
from app.services import analytics
from app.services.referrals.experiments.assignment import arms_of
from app.services.referrals.experiments.verdicts import CONFIDENCE, verdict

CENT = Decimal("0.01")
# The directions that count as engagement everywhere (the lapse rule, advocacy stages).
_ENGAGING = ", ".join(f"'{d}'" for d in sorted(ENGAGING_DIRECTIONS))
_ASSIGNED = """
    SELECT ea.arm_id, ea.contact_id FROM experiment_assignments AS ea
    WHERE ea.workspace_id = :ws AND ea.experiment_id = :experiment
"""

_PEOPLE = text(
    f"""
    WITH assigned AS ({_ASSIGNED})
    SELECT a.arm_id, count(*) AS contacts,
           count(*) FILTER (WHERE EXISTS (
               SELECT 1 FROM enrollments AS e
               WHERE e.workspace_id = :ws AND e.contact_id = a.contact_id
                 AND e.plan_id = arm.plan_id AND e.source = 'experiment'
                 AND e.created_at >= :started)) AS enrolled,
           count(*) FILTER (WHERE EXISTS (
               SELECT 1 FROM interactions AS i
               WHERE i.workspace_id = :ws AND i.contact_id = a.contact_id
                 AND i.direction IN ({_ENGAGING})
                 AND i.occurred_at >= :start AND i.occurred_at < :end)
             OR EXISTS (
               SELECT 1 FROM engagement_participants AS p
               JOIN engagement_activities AS act
                 ON act.workspace_id = p.workspace_id AND act.id = p.activity_id
               WHERE p.workspace_id = :ws AND p.contact_id = a.contact_id
                 AND p.status = 'attended'
                 AND coalesce(p.attended_at, CAST(act.date AS timestamptz)) >= :start
                 AND coalesce(p.attended_at, CAST(act.date AS timestamptz)) < :end)
           ) AS engaged
    FROM assigned AS a
    JOIN experiment_arms AS arm ON arm.workspace_id = :ws AND arm.id = a.arm_id
    GROUP BY a.arm_id
    """
)

_REFERRALS = text(
    f"""
    WITH assigned AS ({_ASSIGNED})
    SELECT a.arm_id, count(*) AS referrals,
           count(*) FILTER (WHERE r.stage = 'closed') AS closed,
           coalesce(sum(r.actual_value) FILTER (
               WHERE r.stage = 'closed' AND r.currency = :currency), 0) AS value
    FROM assigned AS a
    JOIN referrals AS r ON r.workspace_id = :ws AND r.source_contact_id = a.contact_id
    WHERE r.direction = 'received' AND r.received_at >= :start AND r.received_at < :end
    GROUP BY a.arm_id
    """
)

_TOUCHES = text(
    f"""
    WITH assigned AS ({_ASSIGNED})
    SELECT a.arm_id, t.channel, count(*) AS n
    FROM assigned AS a
    JOIN experiment_arms AS arm ON arm.workspace_id = :ws AND arm.id = a.arm_id
    JOIN touches AS t ON t.workspace_id = :ws AND t.contact_id = a.contact_id
                     AND t.plan_id = arm.plan_id
    WHERE t.status IN ('sent', 'completed')
      AND coalesce(t.finished_at, t.emitted_at, t.due_at) >= :start
      AND coalesce(t.finished_at, t.emitted_at, t.due_at) < :end
    GROUP BY a.arm_id, t.channel
    """
)


def _per(count: int | Decimal, contacts: int) -> float | None:
    return float(count) / contacts if contacts else None


async def plan_results(session: AsyncSession, experiment: Experiment) -> PlanExperimentResults:
    params: dict[str, Any] = {
        "ws": experiment.workspace_id,
        "experiment": experiment.id,
        "start": experiment.starts_at,
        "end": experiment.ends_at,
        "started": experiment.started_at or experiment.starts_at,
        "currency": experiment.currency,
    }
    people = {r.arm_id: r for r in await session.execute(_PEOPLE, params)}
    referred = {r.arm_id: r for r in await session.execute(_REFERRALS, params)}
    costs = (await analytics.get_settings(session, experiment.workspace_id)).touch_costs
    delivered: dict[uuid.UUID, int] = defaultdict(int)
    cost: dict[uuid.UUID, Decimal] = defaultdict(Decimal)
    for r in await session.execute(_TOUCHES, params):
        delivered[r.arm_id] += int(r.n)
        cost[r.arm_id] += costs.get(r.channel, Decimal(0)) * int(r.n)
    arms = []
    for arm in await arms_of(session, experiment):
        assert arm.plan_id is not None
        seen, ref = people.get(arm.id), referred.get(arm.id)
        contacts = int(seen.contacts) if seen else 0
        engaged = int(seen.engaged) if seen else 0
        n_referrals, n_closed = (int(ref.referrals), int(ref.closed)) if ref else (0, 0)
        value = Decimal(ref.value).quantize(CENT) if ref else Decimal("0.00")
        spent = cost[arm.id].quantize(CENT)
        arms.append(
            PlanArmResult(
                arm_id=arm.id,
                name=arm.name,
                plan_id=arm.plan_id,
                contacts=contacts,
                enrolled=int(seen.enrolled) if seen else 0,
                engaged=engaged,
                engagement_rate=_per(engaged, contacts),
                referrals=n_referrals,
                referrals_per_contact=_per(n_referrals, contacts),
                closed=n_closed,
                closed_per_contact=_per(n_closed, contacts),
                referral_value=value,
                value_per_contact=(value / contacts).quantize(CENT) if contacts else None,
                touches_delivered=delivered[arm.id],
                touch_cost=spent,
                roi_percent=analytics.roi_percent(revenue=value, costs=spent),
            )
        )
    return PlanExperimentResults(
        kind="touch_plan",
        experiment_id=experiment.id,
        status=experiment.status,
        currency=experiment.currency,
        period_start=experiment.starts_at,
        period_end=experiment.ends_at,
        arms=arms,
        comparisons=_compare(experiment, arms),
    )


_EVENTS = {
    "engagement_rate": "engaged",
    "referrals_per_contact": "referrals",
    "closed_per_contact": "closed",
}


def _compare(experiment: Experiment, arms: list[PlanArmResult]) -> list[Comparison]:
    """Each arm against the first, on every count metric, the primary one first."""
    if not arms:
        return []
    control = arms[0]
    metrics = sorted(METRICS_OF["touch_plan"], key=lambda m: m != experiment.primary_metric)
    out = []
    for metric in metrics:
        field = _EVENTS[metric]
        for arm in arms[1:]:
            c = analytics.compare_rates(
                getattr(control, field),
                control.contacts,
                getattr(arm, field),
                arm.contacts,
                min_exposure=experiment.min_sample,
                confidence=CONFIDENCE,
            )
            out.append(
                Comparison(
                    metric=metric,
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
