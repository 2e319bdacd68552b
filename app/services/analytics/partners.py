"""Allied-resource review and the satisfaction model, both read from service records.

Allied resources (seed 000 5.2: "evaluating vendors based on service quality and reciprocal
referral activity"): the partner's service quality is the clients' Q rating on service
records naming them, and reciprocity is what we sent them against what they sent us.

Satisfaction model (seed 000 5.4): S = alpha*C + beta*Q + gamma*V fitted by
:func:`app.services.analytics.stats.fit_satisfaction` over the records with all four ratings.
"""

from __future__ import annotations

import uuid
from statistics import fmean
from typing import Any

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.analytics.people_schemas import (
    AlliedRanking,
    AlliedReport,
    AlliedResource,
    Coefficients,
    SatisfactionModel,
)
from app.models.analytics.schemas import PeriodRead
from app.models.contacts import display_name_sql
from app.services.analytics.period import money
from app.services.analytics.settings import get_settings
from app.services.analytics.stats import fit_satisfaction
from app.services.platform import contact_row_sql, referral_visible_sql, text_binds, visible_sql

MIN_FEEDBACK = 10
_RECEIVED_IN = (
    "received_at >= CAST(:start AS timestamptz) AND received_at < CAST(:end AS timestamptz)"
)
_CLOSED_VALUE = "coalesce(sum(actual_value) FILTER (WHERE stage = 'closed' AND currency = :cur), 0)"

ALLIED: TextClause = text(
    f"""
WITH q AS (
    SELECT partner_id AS id, count(*) AS n, avg(rating_quality) AS quality,
           avg(rating_satisfaction) AS satisfaction
      FROM service_records s
     WHERE workspace_id = :ws AND partner_id IS NOT NULL
       AND date >= :start_date AND date <= :end_date
       AND {visible_sql("s.workspace_id", "s.contact_id")}
     GROUP BY partner_id
),
g AS (
    SELECT partner_contact_id AS id, count(*) AS n, {_CLOSED_VALUE} AS v
      FROM referrals r
     WHERE workspace_id = :ws AND direction = 'given' AND partner_contact_id IS NOT NULL
       AND {_RECEIVED_IN} AND {referral_visible_sql("r")}
     GROUP BY partner_contact_id
),
rc AS (
    SELECT source_contact_id AS id, count(*) AS n, {_CLOSED_VALUE} AS v
      FROM referrals r
     WHERE workspace_id = :ws AND direction = 'received' AND source_contact_id IS NOT NULL
       AND {_RECEIVED_IN} AND {referral_visible_sql("r")}
     GROUP BY source_contact_id
),
ids AS (
    SELECT id FROM contacts WHERE workspace_id = :ws AND segment = 'allied_resource'
    UNION SELECT id FROM q
    UNION SELECT id FROM g
)
SELECT c.id,
       {display_name_sql("c")} AS name,
       c.allied_category,
       coalesce(q.n, 0) AS records, q.quality, q.satisfaction,
       coalesce(g.n, 0) AS given, coalesce(g.v, 0) AS value_given,
       coalesce(rc.n, 0) AS received, coalesce(rc.v, 0) AS value_received
  FROM ids
  JOIN contacts c ON c.workspace_id = :ws AND c.id = ids.id
  LEFT JOIN q ON q.id = c.id
  LEFT JOIN g ON g.id = c.id
  LEFT JOIN rc ON rc.id = c.id
 WHERE {contact_row_sql("c")}
"""
)

FEEDBACK: TextClause = text(
    f"""
SELECT rating_communication AS c, rating_quality AS q, rating_value AS v,
       rating_satisfaction AS s
  FROM service_records s
 WHERE workspace_id = :ws AND date >= :start_date AND date <= :end_date
   AND {visible_sql("s.workspace_id", "s.contact_id")}
   AND rating_communication IS NOT NULL AND rating_quality IS NOT NULL
   AND rating_value IS NOT NULL AND rating_satisfaction IS NOT NULL
"""
)


def _rank_key(by: AlliedRanking, p: AlliedResource) -> tuple[Any, ...]:
    """Quality: best-rated first (unrated last). Received: most leads first. Balance: the
    partners we owe referrals to first (they sent us more than we sent them: give to get)."""
    if by == "quality":
        return (p.average_quality is None, -(p.average_quality or 0), -p.referrals_received)
    if by == "received":
        return (-p.referrals_received, -p.value_received)
    return (p.balance, p.value_balance)


async def allied_resources(
    session: AsyncSession, workspace_id: uuid.UUID, period: PeriodRead, *, by: AlliedRanking
) -> AlliedReport:
    settings = await get_settings(session, workspace_id)
    params = {
        "ws": workspace_id,
        "cur": settings.currency,
        "start": period.starts_at,
        "end": period.ends_at,
        "start_date": period.start_date,
        "end_date": period.end_date,
        **text_binds(),
    }
    partners = [
        AlliedResource(
            rank=0,
            contact_id=r.id,
            name=r.name,
            category=r.allied_category,
            service_records=int(r.records),
            average_quality=None if r.quality is None else round(float(r.quality), 2),
            average_satisfaction=None
            if r.satisfaction is None
            else round(float(r.satisfaction), 2),
            referrals_given=int(r.given),
            referrals_received=int(r.received),
            value_given=money(r.value_given),
            value_received=money(r.value_received),
            balance=int(r.given) - int(r.received),
            value_balance=money(r.value_given) - money(r.value_received),
        )
        for r in (await session.execute(ALLIED, params)).all()
    ]
    partners.sort(key=lambda p: (*_rank_key(by, p), p.name, str(p.contact_id)))
    for rank, p in enumerate(partners, start=1):
        p.rank = rank
    return AlliedReport(period=period, ranked_by=by, currency=settings.currency, partners=partners)


async def satisfaction_model(
    session: AsyncSession, workspace_id: uuid.UUID, period: PeriodRead
) -> SatisfactionModel:
    params = {
        "ws": workspace_id,
        "start_date": period.start_date,
        "end_date": period.end_date,
        **text_binds(),
    }
    rows = [
        (float(r.c), float(r.q), float(r.v), float(r.s))
        for r in (await session.execute(FEEDBACK, params)).all()
    ]
    fit = fit_satisfaction(rows, min_n=MIN_FEEDBACK)
    means = {
        name: (round(fmean(r[i] for r in rows), 2) if rows else None)
        for i, name in enumerate(("C", "Q", "V", "S"))
    }
    coefficients = {"C": fit.alpha, "Q": fit.beta, "V": fit.gamma}
    known = {k: v for k, v in coefficients.items() if v is not None}
    return SatisfactionModel(
        period=period,
        n=fit.n,
        min_n=MIN_FEEDBACK,
        sufficient=fit.sufficient,
        reason=fit.reason,
        coefficients=Coefficients(alpha=fit.alpha, beta=fit.beta, gamma=fit.gamma),
        r_squared=fit.r_squared,
        means=means,
        strongest_driver=max(known, key=lambda k: known[k]) if known else None,
    )
