"""Relationship strength: recompute a workspace set-based, read scores, list movers.

The SQL lives in ``app.services.scores.strength_sql``; this module supplies its parameters (weights
from the workspace, window from the analytics settings, targets derived from cadences) and
turns rows into answers that explain themselves.
"""

from __future__ import annotations

import json
import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.errors import NotFound
from app.models.contacts import Contact, display_name_sql
from app.models.scores.schemas import (
    ComponentRead,
    ContactScoreRead,
    ScoreComponents,
    ScoreListItem,
    ScoreOrder,
    ScorePoint,
)
from app.models.scores.tables import ContactScore, ContactScoreHistory, ScoreParamSet
from app.services.analytics import get_settings, recency_weight
from app.services.platform import PageRequest, SortKey, get_workspace, keyset_page, where_visible
from app.services.scores.strength_sql import (
    BASELINE_HOURS,
    CADENCE_PER_YEAR,
    HALF_LIFE_DAYS,
    HISTORY_STEP,
    PARAMS_UPSERT,
    RECOMPUTE,
    SCORE_SELECT,
    WORK_MEM,
    WORKSPACE_LOCK,
)

COMPONENTS = ("communication", "reciprocity", "appreciation")
COUNTS = {
    "communication": ("interactions",),
    "reciprocity": ("referrals_received", "referrals_given"),
    "appreciation": ("events_attended", "appreciation_touches", "rewards_issued"),
}


def cadence_target(
    per_year: int, window_days: int, half_life_days: float = HALF_LIFE_DAYS
) -> float:
    """The weighted count of ``per_year`` activities spread evenly over the window.

    Targets are defined by a cadence a team leader recognises ("an interaction a month")
    rather than by an abstract number: the activities sit at the middle of equal slices of
    the window and each is weighted by :func:`recency_weight`, exactly as real activity is.
    A contact on that cadence therefore scores 100 x (1 - 1/e) = 63 on the component.
    """
    n = max(1, round(per_year * window_days / 365))
    spacing = window_days / n
    return math.fsum(recency_weight((k + 0.5) * spacing, half_life_days) for k in range(n))


@dataclass(frozen=True)
class ScoreParams:
    window_days: int
    weights: dict[str, float]
    targets: dict[str, float]
    half_life_days: float = HALF_LIFE_DAYS

    def bind(self, workspace_id: uuid.UUID, at: datetime) -> dict[str, Any]:
        return {
            "ws": workspace_id,
            "at": at,
            "start": at - timedelta(days=self.window_days),
            "baseline": at - timedelta(hours=BASELINE_HOURS),
            "half_life_seconds": HALF_LIFE_DAYS * 86_400.0,
            "half_life_days": HALF_LIFE_DAYS,
            "window_days": self.window_days,
            "history_step": HISTORY_STEP,
            "contact_id": None,
            "weights": json.dumps(self.weights),
            "targets": json.dumps(self.targets),
            **{f"w_{name}": w for name, w in self.weights.items()},
            **{f"target_{name}": t for name, t in self.targets.items()},
        }


async def score_params(session: AsyncSession, workspace_id: uuid.UUID) -> ScoreParams:
    workspace = await get_workspace(session, workspace_id)
    window = (await get_settings(session, workspace_id)).score_window_days
    weights = {
        "communication": workspace.weight_communication,
        "reciprocity": workspace.weight_reciprocity,
        "appreciation": workspace.weight_appreciation,
    }
    targets = {name: cadence_target(CADENCE_PER_YEAR[name], window) for name in COMPONENTS}
    return ScoreParams(window, weights, targets)


async def recompute_scores(
    session: AsyncSession, workspace_id: uuid.UUID, *, at: datetime
) -> tuple[int, int]:
    """Score every contact of the workspace in one statement; returns (scored, history rows).

    An advisory lock serialises recomputes of one workspace (nightly job on several
    replicas, on-demand calls): the statement reads the stored scores to decide what
    changed, and two interleaved runs would each decide from a stale copy. The run's
    shared parameters are stored once beside the scores (``score_params``).
    """
    await session.execute(WORKSPACE_LOCK, {"ws": workspace_id})
    params = (await score_params(session, workspace_id)).bind(workspace_id, at)
    await session.execute(WORK_MEM)
    row = (await session.execute(RECOMPUTE, params)).one()
    await session.execute(PARAMS_UPSERT, params)
    return int(row.scored), int(row.history)


def _component(name: str, row: Any, params: ScoreParams) -> ComponentRead:
    weight = float(params.weights[name])
    value = float(getattr(row, name))
    return ComponentRead(
        value=round(value, 2),
        weight=weight,
        contribution=round(weight * value, 2),
        weighted_count=round(float(getattr(row, f"{name}_weighted")), 4),
        target=round(float(params.targets[name]), 4),
        cadence_per_year=CADENCE_PER_YEAR[name],
        counts={key: int(getattr(row, key)) for key in COUNTS[name]},
    )


def _explain(row: Any, params: ScoreParams, *, stored: bool, at: datetime) -> ContactScoreRead:
    return ContactScoreRead(
        contact_id=row.contact_id,
        score=round(row.score, 2),
        components=ScoreComponents(**{name: _component(name, row, params) for name in COMPONENTS}),
        change=round(row.change, 2) if stored else 0.0,
        previous_score=(
            round(row.previous_score, 2) if stored and row.previous_score is not None else None
        ),
        previous_computed_at=row.previous_computed_at if stored else None,
        computed_at=row.computed_at if stored else at,
        window_days=params.window_days,
        half_life_days=params.half_life_days,
        stored=stored,
    )


async def _stored_params(session: AsyncSession, workspace_id: uuid.UUID) -> ScoreParams | None:
    stmt = select(ScoreParamSet).where(col(ScoreParamSet.workspace_id) == workspace_id)
    row = (await session.execute(stmt)).scalar_one_or_none()
    if row is None:
        return None
    return ScoreParams(
        window_days=row.window_days,
        weights={k: float(v) for k, v in row.weights.items()},
        targets={k: float(v) for k, v in row.targets.items()},
        half_life_days=row.half_life_days,
    )


async def _require_contact(
    session: AsyncSession, workspace_id: uuid.UUID, contact_id: uuid.UUID
) -> None:
    stmt = select(col(Contact.id)).where(
        col(Contact.workspace_id) == workspace_id, col(Contact.id) == contact_id
    )
    if (await session.execute(stmt)).first() is None:
        raise NotFound("contact not found")


async def get_score(
    session: AsyncSession, workspace_id: uuid.UUID, contact_id: uuid.UUID, *, at: datetime
) -> ContactScoreRead:
    """The stored score; a contact not scored yet is scored for this answer (not stored)."""
    await _require_contact(session, workspace_id, contact_id)
    stmt = select(ContactScore).where(
        col(ContactScore.workspace_id) == workspace_id, col(ContactScore.contact_id) == contact_id
    )
    stored = (await session.execute(stmt)).scalar_one_or_none()
    if stored is not None:
        params = await _stored_params(session, workspace_id)
        if params is not None:  # always, since the run that stored the score wrote them
            return _explain(stored, params, stored=True, at=at)
    current = await score_params(session, workspace_id)
    bound = current.bind(workspace_id, at)
    bound["contact_id"] = contact_id
    row = (await session.execute(SCORE_SELECT, bound)).one()
    return _explain(row, current, stored=False, at=at)


def _order_keys(order: ScoreOrder) -> tuple[list[SortKey], bool]:
    column = col(ContactScore.score) if order.lstrip("-") == "score" else col(ContactScore.change)
    return [column, col(ContactScore.contact_id)], order.startswith("-")


async def list_scores(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    page: PageRequest,
    *,
    order: ScoreOrder = "-score",
) -> tuple[list[ScoreListItem], str | None]:
    """Stored scores; ``change`` lists the biggest drops first, ``-change`` the rises."""
    keys, descending = _order_keys(order)
    stmt = (
        select(*_LIST_COLUMNS)
        .join(
            Contact,
            (col(Contact.workspace_id) == col(ContactScore.workspace_id))
            & (col(Contact.id) == col(ContactScore.contact_id)),
        )
        .where(col(ContactScore.workspace_id) == workspace_id)
    )
    stmt = where_visible(stmt, Contact.__table__, ["id"])
    rows, cursor = await keyset_page(
        session, stmt, keys=keys, page=page, sort=f"scores:{order}", descending=descending
    )
    return [_item(r) for r in rows], cursor


_LIST_COLUMNS: tuple[Any, ...] = (
    ContactScore.contact_id,
    literal_column(display_name_sql("contacts")).label("display_name"),
    Contact.segment,
    Contact.advocacy_stage,
    ContactScore.score,
    ContactScore.communication,
    ContactScore.reciprocity,
    ContactScore.appreciation,
    ContactScore.change,
    ContactScore.computed_at,
)


def _item(r: Row[Any]) -> ScoreListItem:
    return ScoreListItem(
        contact_id=r.contact_id,
        name=r.display_name,
        segment=r.segment,
        advocacy_stage=r.advocacy_stage,
        score=round(r.score, 2),
        communication=round(r.communication, 2),
        reciprocity=round(r.reciprocity, 2),
        appreciation=round(r.appreciation, 2),
        change=round(r.change, 2),
        computed_at=r.computed_at,
    )


async def score_history(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    contact_id: uuid.UUID,
    page: PageRequest,
    *,
    since: datetime | None = None,
) -> tuple[list[ScorePoint], str | None]:
    """Oldest first, the order a chart draws in."""
    await _require_contact(session, workspace_id, contact_id)
    h = ContactScoreHistory
    columns: tuple[Any, ...] = (
        h.computed_at,
        h.score,
        h.communication,
        h.reciprocity,
        h.appreciation,
    )
    stmt = select(*columns).where(
        col(h.workspace_id) == workspace_id, col(h.contact_id) == contact_id
    )
    if since is not None:
        stmt = stmt.where(col(h.computed_at) >= since)
    rows, cursor = await keyset_page(
        session, stmt, keys=[col(h.computed_at)], page=page, sort="score-history"
    )
    return [
        ScorePoint(
            computed_at=r.computed_at,
            score=round(r.score, 2),
            communication=round(r.communication, 2),
            reciprocity=round(r.reciprocity, 2),
            appreciation=round(r.appreciation, 2),
        )
        for r in rows
    ], cursor
