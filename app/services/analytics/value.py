"""Referral value and ROI per source, segment, touch plan, reward program and activity.

RV = (C x CR x AV) - (AC + TC) and ROI = (revenue - costs) / costs x 100, computed with
:func:`app.services.analytics.formulas.referral_value` and
:func:`~app.services.analytics.formulas.roi_percent`
from aggregates one SQL statement produces per dimension. Attribution (also in the answer):

* referrals: received in the period, in the reporting currency; C counts them, CR is the
  share now closed, revenue is their actual value;
* source / segment: the referrer (and the referrer's current segment);
* program: the reward program the referral was under;
* plan: every plan the referrer was enrolled in on the referral date (enrolment started by
  then and ended less than a year before), so one referral can count for several plans;
* activity: every activity the referrer attended in the year up to the referral date;
* costs, always in the period: rewards created (not cancelled) by referrer, segment or
  program; delivered touches priced by channel by contact, segment or plan; activity costs
  by activity. TC = C x the tracking cost per referral.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.analytics.schemas import (
    CostBreakdown,
    PeriodRead,
    ValueDimension,
    ValueInputs,
    ValueReport,
    ValueRow,
)
from app.models.contacts import display_name_sql
from app.services.analytics.formulas import conversion_rate, referral_value, roi_percent
from app.services.analytics.period import money
from app.services.analytics.settings import get_settings
from app.services.platform import referral_visible_sql, text_binds, visible_sql

_IN = "CAST(:start AS timestamptz) AND {col} < CAST(:end AS timestamptz)"
REFS = f"""
refs AS (
    SELECT r.id, r.source_contact_id, r.reward_program_id, r.received_at, r.stage,
           r.actual_value
      FROM referrals r
     WHERE r.workspace_id = :ws AND r.direction = 'received' AND r.currency = :cur
       AND r.received_at >= {_IN.format(col="r.received_at")}
       AND {referral_visible_sql("r")}
)"""
TOUCH_COST = "coalesce(CAST(CAST(:touch_costs AS jsonb) ->> t.channel AS numeric), 0)"
_T_AT = "coalesce(t.finished_at, t.due_at)"
DELIVERED = f"""t.workspace_id = :ws AND t.status IN ('sent', 'completed')
       AND {_T_AT} >= {_IN.format(col=_T_AT)}
       AND {visible_sql("t.workspace_id", "t.contact_id")}"""
REWARDED = f"""rw.workspace_id = :ws AND rw.status <> 'cancelled' AND rw.currency = :cur
       AND rw.created_at >= {_IN.format(col="rw.created_at")}
       AND {visible_sql("rw.workspace_id", "rw.referrer_id")}"""
HELD = "a.workspace_id = :ws AND a.date >= :start_date AND a.date <= :end_date"
_SOURCE_JOIN = "LEFT JOIN contacts c ON c.workspace_id = :ws AND c.id = r.source_contact_id"
_DISPLAY = display_name_sql("c")


def _by_contact(column: str) -> str:
    return f"(SELECT {_DISPLAY} FROM contacts c WHERE c.workspace_id = :ws AND c.id = {column})"


@dataclass(frozen=True)
class Dimension:
    attribution: str  # rows (referral_id, key)
    costs: str  # rows (key, rewards, touches, activities)
    label: str  # SQL of a row's label, given ranked.key
    none_label: str
    explained: str


def _uuid_key(expr: str) -> str:
    return f"coalesce(CAST({expr} AS text), '')"


def _costs(rewards_key: str, rewards_join: str, touches_key: str, touches_join: str) -> str:
    return f"""
    SELECT key, sum(rewards) AS rewards, sum(touches) AS touches, 0 AS activities FROM (
        SELECT {rewards_key} AS key, rw.amount AS rewards, 0 AS touches
          FROM rewards rw {rewards_join} WHERE {REWARDED}
        UNION ALL
        SELECT {touches_key}, 0, {TOUCH_COST} FROM touches t {touches_join} WHERE {DELIVERED}
    ) x GROUP BY key"""


_KEY_UUID = "CAST(nullif(ranked.key, '') AS uuid)"
DIMENSIONS: dict[str, Dimension] = {
    "source": Dimension(
        f"SELECT r.id AS referral_id, {_uuid_key('r.source_contact_id')} AS key FROM refs r",
        _costs(_uuid_key("rw.referrer_id"), "", _uuid_key("t.contact_id"), ""),
        _by_contact(_KEY_UUID),
        "unknown source",
        "the referrer; rewards to them and touches to them in the period",
    ),
    "segment": Dimension(
        f"SELECT r.id AS referral_id, coalesce(c.segment, '') AS key FROM refs r {_SOURCE_JOIN}",
        _costs(
            "coalesce(c.segment, '')",
            "LEFT JOIN contacts c ON c.workspace_id = :ws AND c.id = rw.referrer_id",
            "coalesce(c.segment, '')",
            "LEFT JOIN contacts c ON c.workspace_id = :ws AND c.id = t.contact_id",
        ),
        "nullif(ranked.key, '')",
        "unknown source",
        "the referrer's current segment; rewards and touches to contacts of the segment",
    ),
    "program": Dimension(
        f"SELECT r.id AS referral_id, {_uuid_key('r.reward_program_id')} AS key FROM refs r",
        f"""SELECT {_uuid_key("rw.program_id")} AS key, sum(rw.amount) AS rewards,
                   0 AS touches, 0 AS activities
              FROM rewards rw WHERE {REWARDED} GROUP BY 1""",
        f"(SELECT p.name FROM reward_programs p WHERE p.workspace_id = :ws AND p.id = {_KEY_UUID})",
        "no program",
        "the referral's reward program; the program's rewards created in the period",
    ),
    "plan": Dimension(
        f"""SELECT DISTINCT r.id AS referral_id, {_uuid_key("e.plan_id")} AS key
              FROM refs r
              LEFT JOIN enrollments e
                ON e.workspace_id = :ws AND e.contact_id = r.source_contact_id
               AND e.start_date <= CAST(r.received_at AS date)
               AND coalesce(e.completed_at, e.cancelled_at, 'infinity')
                   >= r.received_at - interval '365 days'""",
        f"""SELECT {_uuid_key("t.plan_id")} AS key, 0 AS rewards,
                   sum({TOUCH_COST}) AS touches, 0 AS activities
              FROM touches t WHERE {DELIVERED} GROUP BY 1""",
        f"(SELECT p.name FROM touch_plans p WHERE p.workspace_id = :ws AND p.id = {_KEY_UUID})",
        "no plan",
        "every plan the referrer was on at the referral date; the plan's delivered touches",
    ),
    "activity": Dimension(
        f"""SELECT DISTINCT r.id AS referral_id, {_uuid_key("a.id")} AS key
              FROM refs r
              LEFT JOIN (engagement_participants p
                         JOIN engagement_activities a
                           ON a.workspace_id = p.workspace_id AND a.id = p.activity_id)
                ON p.workspace_id = :ws AND p.contact_id = r.source_contact_id
               AND p.status = 'attended' AND a.date <= CAST(r.received_at AS date)
               AND a.date > CAST(r.received_at AS date) - 365""",
        f"""SELECT {_uuid_key("a.id")} AS key, 0 AS rewards, 0 AS touches,
                   sum(a.cost) AS activities
              FROM engagement_activities a WHERE {HELD} GROUP BY 1""",
        "(SELECT a.name FROM engagement_activities a WHERE a.workspace_id = :ws AND a.id = "
        f"{_KEY_UUID})",
        "no activity",
        "every activity the referrer attended in the year before the referral; its cost",
    ),
}

_RV = "revenue - (rewards + touches + activities + c * CAST(:tc AS numeric))"


def _grouped(dim: Dimension) -> str:
    return f"""
WITH {REFS},
attr AS ({dim.attribution}),
cost AS ({dim.costs}),
agg AS (
    SELECT a.key, count(*) AS c, count(*) FILTER (WHERE r.stage = 'closed') AS converted,
           coalesce(sum(r.actual_value) FILTER (WHERE r.stage = 'closed'), 0) AS revenue,
           count(*) FILTER (WHERE r.stage = 'closed' AND r.actual_value IS NULL) AS cwv
      FROM attr a JOIN refs r ON r.id = a.referral_id
     GROUP BY a.key
),
keyed AS (SELECT key FROM agg UNION SELECT key FROM cost),
joined AS (
    SELECT k.key, coalesce(agg.c, 0) AS c, coalesce(agg.converted, 0) AS converted,
           coalesce(agg.revenue, 0) AS revenue, coalesce(agg.cwv, 0) AS cwv,
           coalesce(cost.rewards, 0) AS rewards, coalesce(cost.touches, 0) AS touches,
           coalesce(cost.activities, 0) AS activities
      FROM keyed k LEFT JOIN agg ON agg.key = k.key LEFT JOIN cost ON cost.key = k.key
),
ranked AS (
    SELECT joined.*, {_RV} AS rv, count(*) OVER () AS groups
      FROM joined ORDER BY rv DESC, key LIMIT :limit
)
SELECT ranked.*, {dim.label} AS label FROM ranked ORDER BY rv DESC, key
"""


TOTAL = text(
    f"""
WITH {REFS}
SELECT (SELECT count(*) FROM refs) AS c,
       (SELECT count(*) FROM refs WHERE stage = 'closed') AS converted,
       (SELECT coalesce(sum(actual_value), 0) FROM refs WHERE stage = 'closed') AS revenue,
       (SELECT count(*) FROM refs WHERE stage = 'closed' AND actual_value IS NULL) AS cwv,
       (SELECT coalesce(sum(rw.amount), 0) FROM rewards rw WHERE {REWARDED}) AS rewards,
       (SELECT coalesce(sum({TOUCH_COST}), 0) FROM touches t WHERE {DELIVERED}) AS touches,
       (SELECT coalesce(sum(a.cost), 0) FROM engagement_activities a WHERE {HELD}) AS activities,
       (SELECT count(*) FROM referrals r
         WHERE r.workspace_id = :ws AND r.direction = 'received' AND r.currency <> :cur
           AND r.received_at >= {_IN.format(col="r.received_at")}
           AND {referral_visible_sql("r")}) AS other_currency
"""
)


def value_row(key: str | None, label: str, r: Any, tracking_per_referral: Decimal) -> ValueRow:
    """One row of figures from aggregates, through the formulas of ``formulas.py``."""
    c, converted, revenue = int(r.c), int(r.converted), money(r.revenue)
    breakdown = CostBreakdown(
        rewards=money(r.rewards), touches=money(r.touches), activities=money(r.activities)
    )
    acquisition = breakdown.rewards + breakdown.touches + breakdown.activities
    tracking = money(c * tracking_per_referral)
    # The exact fractions feed RV so that C x CR x AV is the revenue to the cent; the
    # rounded ones are what a reader sees.
    exact_cr = Decimal(converted) / c if c else Decimal(0)
    exact_av = revenue / converted if converted else Decimal(0)
    rv = referral_value(
        contacts=c,
        conversion_rate=exact_cr,
        average_value=exact_av,
        acquisition_cost=acquisition,
        tracking_cost=tracking,
    )
    inputs = ValueInputs(
        contacts=c,
        converted=converted,
        conversion_rate=conversion_rate(converted, c),
        average_value=money(exact_av) if converted else None,
        closed_without_value=int(r.cwv),
        revenue=revenue,
        acquisition_cost=acquisition,
        acquisition_breakdown=breakdown,
        tracking_cost=tracking,
        costs=acquisition + tracking,
    )
    roi = roi_percent(revenue=revenue, costs=acquisition + tracking)
    return ValueRow(key=key, label=label, inputs=inputs, referral_value=rv, roi_percent=roi)


async def referral_value_report(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    period: PeriodRead,
    *,
    by: ValueDimension,
    limit: int,
) -> ValueReport:
    settings = await get_settings(session, workspace_id)
    dim = DIMENSIONS[by]
    params: dict[str, Any] = {
        "ws": workspace_id,
        "cur": settings.currency,
        "start": period.starts_at,
        "end": period.ends_at,
        "start_date": period.start_date,
        "end_date": period.end_date,
        "touch_costs": json.dumps({k: str(v) for k, v in settings.touch_costs.items()}),
        "tc": settings.tracking_cost_per_referral,
        "limit": limit,
        **text_binds(),
    }
    tc = settings.tracking_cost_per_referral
    rows = (await session.execute(text(_grouped(dim)), params)).all()
    total = (await session.execute(TOTAL, params)).one()
    return ValueReport(
        period=period,
        by=by,
        currency=settings.currency,
        attribution=dim.explained,
        rows=[value_row(r.key or None, r.label or dim.none_label, r, tc) for r in rows],
        groups=int(rows[0].groups) if rows else 0,
        total=value_row(None, "all referrals", total, tc),
        excluded_other_currency=int(total.other_currency),
    )
