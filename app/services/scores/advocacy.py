"""Suggested advocacy stages, derived from data and applied to a workspace set-based.

The rules (seed 001: seekers learn, engaged contacts converse, advocates recommend, core
advocates refer steadily; DOMAIN: a lapse lowers advocacy), evaluated as of ``at``:

1. ``core_advocate``: at least N referrals received from the contact in the last 12 months
   (N = ``core_advocate_referrals`` of the analytics settings, default 3);
2. ``advocate``: at least one referral received from the contact, ever;
3. ``engaged``: at least two engagements in the last 12 months (inbound or two-way
   interactions, engagement activities attended);
4. ``seeker``: otherwise.

A lapsed contact (``lapsed_at`` set) is suggested one stage lower (never below seeker).
Suggestions never touch a contact whose stage a member set by hand.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.contacts import ADVOCACY_STAGES, ENGAGING_DIRECTIONS
from app.models.scores.events import StageChangedData
from app.models.scores.schemas import StageFacts
from app.services.analytics import get_settings
from app.services.platform import record_events

# The same directions as ``last_engaged_at`` and the lapse rule count as engagement.
_DIRECTIONS = ", ".join(f"'{d}'" for d in sorted(ENGAGING_DIRECTIONS))
_STAGE_ARRAY = "ARRAY[" + ", ".join(f"'{s}'" for s in ADVOCACY_STAGES) + "]"

_FACTS = f"""
recv AS (
    SELECT r.source_contact_id AS contact_id,
           count(*) FILTER (WHERE r.received_at > CAST(:year_ago AS timestamptz)) AS n12,
           count(*) AS n_all
      FROM referrals r
     WHERE r.workspace_id = :ws AND r.direction = 'received'
       AND r.source_contact_id IS NOT NULL AND r.received_at <= CAST(:at AS timestamptz)
     GROUP BY r.source_contact_id
),
eng AS (
    SELECT e.contact_id, count(*) AS n
      FROM (SELECT i.contact_id, i.occurred_at AS t
              FROM interactions i
             WHERE i.workspace_id = :ws AND i.direction IN ({_DIRECTIONS})
            UNION ALL
            SELECT p.contact_id, coalesce(p.attended_at, CAST(a.date AS timestamptz))
              FROM engagement_participants p
              JOIN engagement_activities a
                ON a.workspace_id = p.workspace_id AND a.id = p.activity_id
             WHERE p.workspace_id = :ws AND p.status = 'attended') e
     WHERE e.t > CAST(:year_ago AS timestamptz) AND e.t <= CAST(:at AS timestamptz)
     GROUP BY e.contact_id
),
facts AS (
    SELECT c.id AS contact_id, c.advocacy_stage, c.advocacy_stage_manual, c.lapsed_at,
           coalesce(recv.n12, 0) AS referrals_12_months,
           coalesce(recv.n_all, 0) AS referrals_ever,
           coalesce(eng.n, 0) AS engagements_12_months,
           CASE WHEN coalesce(recv.n12, 0) >= :core THEN 3
                WHEN coalesce(recv.n_all, 0) >= 1 THEN 2
                WHEN coalesce(eng.n, 0) >= 2 THEN 1
                ELSE 0 END AS base_level
      FROM contacts c
      LEFT JOIN recv ON recv.contact_id = c.id
      LEFT JOIN eng ON eng.contact_id = c.id
     WHERE c.workspace_id = :ws
       AND (CAST(:contact_id AS uuid) IS NULL OR c.id = CAST(:contact_id AS uuid))
),
suggested AS (
    SELECT facts.*,
           ({_STAGE_ARRAY})[greatest(base_level - (lapsed_at IS NOT NULL)::int, 0) + 1]
               AS suggested_stage
      FROM facts
)"""

FACTS_SELECT: TextClause = text(f"WITH {_FACTS}\nSELECT * FROM suggested")

# Rows are locked before they are changed and re-checked under the lock (READ COMMITTED
# re-evaluates the WHERE on the newest row version), so a member's manual change made
# meanwhile wins, and ``from_stage`` is the stage actually replaced.
APPLY: TextClause = text(
    f"""
WITH {_FACTS},
locked AS (
    SELECT c.id, c.advocacy_stage AS from_stage, s.suggested_stage AS to_stage
      FROM contacts c
      JOIN suggested s ON s.contact_id = c.id
     WHERE c.workspace_id = :ws AND NOT c.advocacy_stage_manual
       AND c.advocacy_stage <> s.suggested_stage
       FOR UPDATE OF c
),
changed AS (
    UPDATE contacts c
       SET advocacy_stage = l.to_stage, version = c.version + 1,
           updated_at = CAST(:at AS timestamptz)
      FROM locked l
     WHERE c.workspace_id = :ws AND c.id = l.id
 RETURNING c.id, l.from_stage, l.to_stage
),
history AS (
    INSERT INTO contact_stage_history (workspace_id, id, contact_id, from_stage, to_stage,
                                       source, at)
    SELECT CAST(:ws AS uuid), gen_random_uuid(), id, from_stage, to_stage, 'suggested',
           CAST(:at AS timestamptz)
      FROM changed
)
SELECT id, from_stage, to_stage FROM changed
"""
)

STAGE_HISTORY_INSERT: TextClause = text(
    """
INSERT INTO contact_stage_history (workspace_id, id, contact_id, from_stage, to_stage, source, at)
VALUES (CAST(:ws AS uuid), gen_random_uuid(), CAST(:contact_id AS uuid), :from_stage,
        :to_stage, :source, CAST(:at AS timestamptz))
"""
)


async def _params(
    session: AsyncSession, workspace_id: uuid.UUID, at: datetime, contact_id: uuid.UUID | None
) -> dict[str, Any]:
    core = (await get_settings(session, workspace_id)).core_advocate_referrals
    return {
        "ws": workspace_id,
        "at": at,
        "year_ago": at - timedelta(days=365),
        "core": core,
        "contact_id": contact_id,
    }


def stage_event(contact_id: uuid.UUID, from_stage: str | None, to_stage: str, source: str) -> Any:
    data = StageChangedData.model_validate(
        {"id": contact_id, "from_stage": from_stage, "to_stage": to_stage, "source": source}
    )
    return "contact.stage_changed", data.model_dump(mode="json")


async def apply_suggestions(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    *,
    at: datetime,
    contact_id: uuid.UUID | None = None,
) -> int:
    """Apply suggested stages to every contact not set by hand (or to one contact).

    One statement changes the stages and writes their history; one more records one
    ``contact.stage_changed`` event per change. Returns the number of changes.
    """
    params = await _params(session, workspace_id, at, contact_id)
    changes = (await session.execute(APPLY, params)).all()
    await record_events(
        session,
        workspace_id,
        [stage_event(c.id, c.from_stage, c.to_stage, "suggested") for c in changes],
        at=at,
    )
    return len(changes)


async def record_stage_change(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    contact_id: uuid.UUID,
    *,
    from_stage: str | None,
    to_stage: str,
    source: str,
    at: datetime,
) -> None:
    """History row and event for a stage change made elsewhere (e.g. a contact PATCH)."""
    if from_stage == to_stage:
        return
    values = {"ws": workspace_id, "contact_id": contact_id, "at": at}
    values |= {"from_stage": from_stage, "to_stage": to_stage, "source": source}
    await session.execute(STAGE_HISTORY_INSERT, values)
    await record_events(
        session, workspace_id, [stage_event(contact_id, from_stage, to_stage, source)], at=at
    )


def reason(facts: Any, core: int) -> str:
    """The rule that produced a suggestion, in words a member can check."""
    if facts.base_level == 3:
        why = f"{facts.referrals_12_months} referrals in 12 months (core advocate from {core})"
    elif facts.base_level == 2:
        why = f"referred {facts.referrals_ever} time(s); fewer than {core} in 12 months"
    elif facts.base_level == 1:
        why = f"{facts.engagements_12_months} engagements in 12 months, no referral yet"
    else:
        why = "fewer than 2 engagements in 12 months and no referral"
    if facts.lapsed_at is not None:
        why += "; lapsed, so one stage lower"
    return why


async def suggestion_for(
    session: AsyncSession, workspace_id: uuid.UUID, contact_id: uuid.UUID, *, at: datetime
) -> tuple[Any, StageFacts, str] | None:
    """The facts row of one contact, its facts for the API and the reason; None if absent."""
    params = await _params(session, workspace_id, at, contact_id)
    row = (await session.execute(FACTS_SELECT, params)).one_or_none()
    if row is None:
        return None
    facts = StageFacts(
        referrals_12_months=row.referrals_12_months,
        referrals_ever=row.referrals_ever,
        engagements_12_months=row.engagements_12_months,
        lapsed=row.lapsed_at is not None,
        core_advocate_referrals=params["core"],
    )
    return row, facts, reason(row, params["core"])
