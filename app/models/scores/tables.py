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

from sqlalchemy import Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.platform import (
    Base,
    IdMixin,
    TenantMixin,
    created_at_column,
    tenant_fk,
    workspace_fk,
)

StageSource = Literal["manual", "suggested"]


class ContactScore(TenantMixin, Base):
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

    contact_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    score: Mapped[float]
    communication: Mapped[float]
    reciprocity: Mapped[float]
    appreciation: Mapped[float]
    # Zero by default: a row written without its counts (a fixture, a merge) counted nothing.
    interactions: Mapped[int] = mapped_column(server_default=text("0"))
    referrals_received: Mapped[int] = mapped_column(server_default=text("0"))
    referrals_given: Mapped[int] = mapped_column(server_default=text("0"))
    events_attended: Mapped[int] = mapped_column(server_default=text("0"))
    appreciation_touches: Mapped[int] = mapped_column(server_default=text("0"))
    rewards_issued: Mapped[int] = mapped_column(server_default=text("0"))
    communication_weighted: Mapped[float] = mapped_column(server_default=text("0"))
    reciprocity_weighted: Mapped[float] = mapped_column(server_default=text("0"))
    appreciation_weighted: Mapped[float] = mapped_column(server_default=text("0"))
    computed_at: Mapped[datetime]
    previous_score: Mapped[float | None]
    previous_computed_at: Mapped[datetime | None]
    change: Mapped[float] = mapped_column(default=0.0)
    history_score: Mapped[float | None]


class ContactScoreHistory(TenantMixin, Base):
    __tablename__ = "contact_score_history"
    __table_args__ = (
        workspace_fk(),
        tenant_fk(["contact_id"], "contacts", ondelete="CASCADE"),
    )

    contact_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    computed_at: Mapped[datetime] = mapped_column(primary_key=True)
    score: Mapped[float]
    communication: Mapped[float]
    reciprocity: Mapped[float]
    appreciation: Mapped[float]


class ContactStageHistory(IdMixin, Base):
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

    contact_id: Mapped[uuid.UUID]
    from_stage: Mapped[str | None] = mapped_column(String(32))
    to_stage: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime]
    created_at: Mapped[datetime] = created_at_column()


class ScoreRun(TenantMixin, Base):
    """When the nightly job last scored a workspace, so each replica knows it is done."""

    __tablename__ = "score_runs"
    __table_args__ = (workspace_fk(),)

    last_run_at: Mapped[datetime]
    scored: Mapped[int] = mapped_column(default=0)
    duration_ms: Mapped[int] = mapped_column(default=0)


class ScoreParamSet(TenantMixin, Base):
    """The parameters of a workspace's latest recompute, shared by every stored score.

    Every recompute rewrites every contact's row with the same ``computed_at`` in the same
    transaction as this row, so a stored score is always explained with the weights and
    targets it was computed with, even after the workspace's settings change.
    """

    __tablename__ = "score_params"
    __table_args__ = (workspace_fk(),)

    computed_at: Mapped[datetime]
    window_days: Mapped[int]
    half_life_days: Mapped[float]
    weights: Mapped[dict[str, Any]]
    targets: Mapped[dict[str, Any]]
