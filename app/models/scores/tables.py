"""Score tables: each contact's current relationship strength, its history, and stage history.

``contact_scores`` holds one row per contact, rewritten by the set-based recompute; it keeps
the previous day's score so "movers" can be listed from an index on ``change``. The counts
behind a score are narrow columns, not a JSON document: the nightly recompute rewrites every
row, and a 250-byte row costs a third of the writes of a 750-byte one (see
``benchmarks/bench_scores.py``). What is the same for every contact of a run (window,
half-life, weights, targets) is stored once, in ``score_params``.
``contact_score_history`` gets a row only when the score moved noticeably (see
``app.services.scores.strength_sql``), so contacts with no activity do not add a row every night.
``contact_stage_history`` records every advocacy-stage change, suggested or set by hand.
The API schemas are in ``app.models.scores.schemas``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Double, Index, String, text
from sqlalchemy.dialects.postgresql import JSONB

from app.models.platform import (
    TIMESTAMPTZ,
    IdMixin,
    TenantMixin,
    column,
    created_at_column,
    tenant_fk,
    timestamp,
    workspace_fk,
)

StageSource = Literal["manual", "suggested"]


class ContactScore(TenantMixin, table=True):
    __tablename__ = "contact_scores"
    __table_args__ = (
        workspace_fk(),
        tenant_fk(["contact_id"], "contacts", ondelete="CASCADE"),
        Index(
            "ix_contact_scores_workspace_id_score_contact_id", "workspace_id", "score", "contact_id"
        ),
        Index(
            "ix_contact_scores_workspace_id_change_contact_id",
            "workspace_id",
            "change",
            "contact_id",
        ),
    )

    contact_id: uuid.UUID = column(primary_key=True)
    score: float = column(Double)
    communication: float = column(Double)
    reciprocity: float = column(Double)
    appreciation: float = column(Double)
    # Zero by default: a row written without its counts (a fixture, a merge) counted nothing.
    interactions: int = column(server_default=text("0"))
    referrals_received: int = column(server_default=text("0"))
    referrals_given: int = column(server_default=text("0"))
    events_attended: int = column(server_default=text("0"))
    appreciation_touches: int = column(server_default=text("0"))
    rewards_issued: int = column(server_default=text("0"))
    communication_weighted: float = column(Double, server_default=text("0"))
    reciprocity_weighted: float = column(Double, server_default=text("0"))
    appreciation_weighted: float = column(Double, server_default=text("0"))
    computed_at: datetime = timestamp()
    previous_score: float | None = column(Double, default=None)
    previous_computed_at: datetime | None = timestamp(default=None)
    change: float = column(Double, default=0.0)
    history_score: float | None = column(Double, default=None)


class ContactScoreHistory(TenantMixin, table=True):
    __tablename__ = "contact_score_history"
    __table_args__ = (
        workspace_fk(),
        tenant_fk(["contact_id"], "contacts", ondelete="CASCADE"),
    )

    contact_id: uuid.UUID = column(primary_key=True)
    computed_at: datetime = column(TIMESTAMPTZ, primary_key=True)
    score: float = column(Double)
    communication: float = column(Double)
    reciprocity: float = column(Double)
    appreciation: float = column(Double)


class ContactStageHistory(IdMixin, table=True):
    """One advocacy-stage change; ``from_stage`` is null when the first stage was recorded."""

    __tablename__ = "contact_stage_history"
    __table_args__ = (
        workspace_fk(),
        tenant_fk(["contact_id"], "contacts", ondelete="CASCADE"),
        Index(
            "ix_contact_stage_history_workspace_id_contact_id_at",
            "workspace_id",
            "contact_id",
            "at",
        ),
    )

    contact_id: uuid.UUID
    from_stage: str | None = column(String(32), default=None)
    to_stage: str = column(String(32))
    source: str = column(String(16))
    at: datetime = timestamp()
    created_at: datetime = created_at_column()


class ScoreRun(TenantMixin, table=True):
    """When the nightly job last scored a workspace, so each replica knows it is done."""

    __tablename__ = "score_runs"
    __table_args__ = (workspace_fk(),)

    last_run_at: datetime = timestamp()
    scored: int = 0
    duration_ms: int = 0


class ScoreParamSet(TenantMixin, table=True):
    """The parameters of a workspace's latest recompute, shared by every stored score.

    Every recompute rewrites every contact's row with the same ``computed_at`` in the same
    transaction as this row, so a stored score is always explained with the weights and
    targets it was computed with, even after the workspace's settings change.
    """

    __tablename__ = "score_params"
    __table_args__ = (workspace_fk(),)

    computed_at: datetime = timestamp()
    window_days: int
    half_life_days: float = column(Double)
    weights: dict[str, Any] = column(JSONB)
    targets: dict[str, Any] = column(JSONB)
