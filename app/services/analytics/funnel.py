"""The referral funnel and the lead-source mix.

Funnel: referrals received in the period, by the furthest stage each reached (from the stage
history and the current stage, so a referral moved straight from ``received`` to
``meeting`` still counts as contacted). Time in stage is measured from the stage history
over stays that ended; a referral still in a stage is not a measurement yet. Changes
recorded at the same instant (a referral created and moved at once) are ordered by stage.

Lead-source mix (seed 003, "over-reliance on referrals: diversify lead sources"): referrals
closed in the period are the new business; each source's share of their count and value is
compared with the configured threshold.
"""

from __future__ import annotations

import uuid
from collections import Counter
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.analytics.schemas import (
    FunnelReport,
    FunnelStage,
    LeadSourceMix,
    MixDimension,
    PeriodRead,
    SourceShare,
)
from app.models.contacts import display_name_sql
from app.models.referrals import PIPELINE
from app.services.analytics.formulas import RATE_QUANTUM, conversion_rate
from app.services.analytics.period import ZERO, money
from app.services.analytics.settings import get_settings
from app.services.platform import referral_visible_sql, text_binds


def stage_index(column: str) -> str:
    whens = " ".join(f"WHEN '{s}' THEN {i}" for i, s in enumerate(PIPELINE))
    return f"CASE {column} {whens} ELSE -1 END"


def stage_order(column: str) -> str:
    """Order of changes recorded at the same instant: moves only go forward and ``lost`` ends
    a referral, so the pipeline index (``lost`` last) is the order they happened in."""
    return f"CASE WHEN {column} = 'lost' THEN {len(PIPELINE)} ELSE {stage_index(column)} END"


_REFS = f"""
refs AS (
    SELECT r.id, r.stage FROM referrals r
     WHERE r.workspace_id = :ws AND r.direction = 'received'
       AND r.received_at >= CAST(:start AS timestamptz)
       AND r.received_at < CAST(:end AS timestamptz)
       AND {referral_visible_sql("r")}
)"""

REACHED: TextClause = text(
    f"""
WITH {_REFS}
SELECT top, stage, count(*) AS n FROM (
    SELECT r.id, r.stage,
           greatest({stage_index("r.stage")}, coalesce(max({stage_index("h.to_stage")}), 0), 0)
               AS top
      FROM refs r
      LEFT JOIN referral_stage_history h ON h.workspace_id = :ws AND h.referral_id = r.id
     GROUP BY r.id, r.stage
) x GROUP BY top, stage
"""
)

STAYS: TextClause = text(
    f"""
WITH {_REFS},
stays AS (
    SELECT h.to_stage, h.at,
           lead(h.at) OVER (PARTITION BY h.referral_id
                            ORDER BY h.at, {stage_order("h.to_stage")}) AS left_at
      FROM referral_stage_history h JOIN refs r ON r.id = h.referral_id
     WHERE h.workspace_id = :ws
)
SELECT to_stage, count(*) AS n,
       avg(extract(epoch FROM left_at - at)) / 3600.0 AS hours
  FROM stays WHERE left_at IS NOT NULL GROUP BY to_stage
"""
)


async def funnel(
    session: AsyncSession, workspace_id: uuid.UUID, period: PeriodRead
) -> FunnelReport:
    params = {
        "ws": workspace_id,
        "start": period.starts_at,
        "end": period.ends_at,
        **text_binds(),
    }
    reached_rows = (await session.execute(REACHED, params)).all()
    stays = {r.to_stage: r for r in (await session.execute(STAYS, params)).all()}
    total = sum(int(r.n) for r in reached_rows)
    current = Counter[str]()
    lost_by_stage = Counter[str]()
    for r in reached_rows:
        current[r.stage] += int(r.n)
        if r.stage == "lost":
            lost_by_stage[PIPELINE[int(r.top)]] += int(r.n)
    stages: list[FunnelStage] = []
    previous = total
    for i, stage in enumerate(PIPELINE):
        reached = sum(int(r.n) for r in reached_rows if int(r.top) >= i)
        stay = stays.get(stage)
        stages.append(
            FunnelStage(
                stage=stage,
                reached=reached,
                current=current[stage],
                conversion_from_previous=conversion_rate(reached, previous) if i else None,
                conversion_from_received=conversion_rate(reached, total),
                average_hours_in_stage=round(float(stay.hours), 2) if stay else None,
                stays_measured=int(stay.n) if stay else 0,
            )
        )
        previous = reached
    return FunnelReport(
        period=period,
        received=total,
        stages=stages,
        lost=current["lost"],
        lost_by_stage=dict(lost_by_stage),
        open=total - current["lost"] - current["closed"],
    )


_MIX_KEYS = {
    "source": (
        "coalesce(CAST(r.source_contact_id AS text), '')",
        f"min({display_name_sql('c')})",
    ),
    "segment": ("coalesce(c.segment, '')", "min(c.segment)"),
}


def _mix_sql(by: MixDimension) -> TextClause:
    key, label = _MIX_KEYS[by]
    return text(
        f"""
SELECT {key} AS key, {label} AS label, count(*) AS n,
       coalesce(sum(r.actual_value), 0) AS value
  FROM referrals r
  LEFT JOIN contacts c ON c.workspace_id = :ws AND c.id = r.source_contact_id
 WHERE r.workspace_id = :ws AND r.direction = 'received' AND r.stage = 'closed'
   AND r.currency = :cur
   AND r.stage_changed_at >= CAST(:start AS timestamptz)
   AND r.stage_changed_at < CAST(:end AS timestamptz)
   AND {referral_visible_sql("r")}
 GROUP BY 1
"""
    )


def _share(part: Decimal, whole: Decimal) -> Decimal | None:
    if whole == 0:
        return None
    return (part / whole).quantize(RATE_QUANTUM, rounding=ROUND_HALF_EVEN)


async def lead_source_mix(
    session: AsyncSession, workspace_id: uuid.UUID, period: PeriodRead, *, by: MixDimension
) -> LeadSourceMix:
    settings = await get_settings(session, workspace_id)
    params: dict[str, Any] = {
        "ws": workspace_id,
        "cur": settings.currency,
        "start": period.starts_at,
        "end": period.ends_at,
        **text_binds(),
    }
    rows = (await session.execute(_mix_sql(by), params)).all()
    closed = sum(int(r.n) for r in rows)
    value = money(sum((Decimal(r.value) for r in rows), ZERO))
    threshold = settings.over_reliance_share
    sources: list[SourceShare] = []
    warnings: list[str] = []
    for r in rows:
        label = r.label or ("unknown source" if by == "source" else "unknown segment")
        by_count = conversion_rate(int(r.n), closed)
        by_value = _share(Decimal(r.value), value)
        over = any(s is not None and s > threshold for s in (by_count, by_value))
        sources.append(
            SourceShare(
                key=r.key or None,
                label=label,
                closed=int(r.n),
                value=money(r.value),
                share_of_count=by_count,
                share_of_value=by_value,
                over_reliance=over,
            )
        )
        if over:
            top = max(s for s in (by_count, by_value) if s is not None)
            warnings.append(
                f"{label} brought {top:.1%} of new business (threshold {threshold:.0%}): "
                "over-reliance on one source; diversify lead sources"
            )
    sources.sort(key=lambda s: (s.share_of_value or 0, s.share_of_count or 0), reverse=True)
    return LeadSourceMix(
        period=period,
        by=by,
        currency=settings.currency,
        threshold=threshold,
        closed=closed,
        value=value,
        sources=sources,
        warnings=warnings,
    )
