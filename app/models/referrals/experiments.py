"""Experiments: reward programs (or touch plans) compared across randomly assigned cohorts.

An arm's share of referrers follows its weight through a hash of experiment and contact
(``stats.assign_arm``); the first assignment is recorded and wins thereafter, so changing
nothing can move a referrer between arms mid-experiment.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import Field, model_validator
from sqlalchemy import CheckConstraint, Index, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import ARRAY

from app.models.contacts import Segment
from app.models.platform import (
    AwareTime,
    CurrencyCode,
    IdMixin,
    InputModel,
    OutputModel,
    TenantMixin,
    column,
    created_at_column,
    currency_column,
    tenant_fk,
    timestamp,
    workspace_fk,
)

ExperimentStatus = Literal["draft", "running", "stopped"]
ExperimentKind = Literal["reward_program", "touch_plan"]
RewardMetric = Literal["referrals_per_referrer", "closed_per_referrer"]
PlanMetric = Literal["engagement_rate", "referrals_per_contact", "closed_per_contact"]
PrimaryMetric = Literal[
    "referrals_per_referrer",
    "closed_per_referrer",
    "engagement_rate",
    "referrals_per_contact",
    "closed_per_contact",
]
METRICS_OF: dict[str, tuple[str, ...]] = {
    "reward_program": ("referrals_per_referrer", "closed_per_referrer"),
    "touch_plan": ("engagement_rate", "referrals_per_contact", "closed_per_contact"),
}


class Experiment(IdMixin, table=True):
    __tablename__ = "experiments"
    __table_args__ = (
        workspace_fk(),
        Index("ix_experiments_workspace_id_created_at_id", "workspace_id", "created_at", "id"),
        Index("ix_experiments_workspace_id_status", "workspace_id", "status"),
    )

    name: str = column(String(200))
    description: str | None = column(String(2000), default=None)
    kind: str = column(String(16), default="reward_program", server_default="reward_program")
    status: str = column(String(16), default="draft")
    starts_at: datetime = timestamp()
    ends_at: datetime = timestamp()
    primary_metric: str = column(String(32))
    min_sample: int
    currency: str = currency_column()
    cohort_segments: list[str] = column(ARRAY(String(32)), default_factory=list)
    cohort_tags: list[str] = column(ARRAY(String(100)), default_factory=list)
    started_at: datetime | None = timestamp(default=None)
    stopped_at: datetime | None = timestamp(default=None)
    version: int = 1
    created_at: datetime = created_at_column()
    updated_at: datetime = created_at_column()


class ExperimentArm(IdMixin, table=True):
    __tablename__ = "experiment_arms"
    __table_args__ = (
        workspace_fk(),
        tenant_fk(["experiment_id"], "experiments", ondelete="CASCADE"),
        tenant_fk(["program_id"], "reward_programs", ondelete="RESTRICT"),
        tenant_fk(["plan_id"], "touch_plans", ondelete="RESTRICT"),
        UniqueConstraint("workspace_id", "experiment_id", "position"),
        CheckConstraint("num_nonnulls(program_id, plan_id) = 1", name="one_treatment"),
    )

    experiment_id: uuid.UUID
    position: int
    name: str = column(String(100))
    program_id: uuid.UUID | None = None  # a reward experiment's arm
    plan_id: uuid.UUID | None = None  # a touch plan experiment's arm
    weight: int


class ExperimentAssignment(TenantMixin, table=True):
    __tablename__ = "experiment_assignments"
    __table_args__ = (
        workspace_fk(),
        tenant_fk(["experiment_id"], "experiments", ondelete="CASCADE"),
        tenant_fk(["arm_id"], "experiment_arms", ondelete="CASCADE"),
        tenant_fk(["contact_id"], "contacts", ondelete="CASCADE"),
        Index("ix_experiment_assignments_workspace_id_arm_id", "workspace_id", "arm_id"),
        Index("ix_experiment_assignments_workspace_id_contact_id", "workspace_id", "contact_id"),
    )

    experiment_id: uuid.UUID = column(primary_key=True)
    contact_id: uuid.UUID = column(primary_key=True)
    arm_id: uuid.UUID
    assigned_at: datetime = timestamp()


class ArmSpec(InputModel):
    """One arm: a reward program (``reward_program`` experiments) or a touch plan."""

    name: str = Field(min_length=1, max_length=100, examples=["A: fixed"])
    program_id: uuid.UUID | None = Field(default=None, description="Reward experiments.")
    plan_id: uuid.UUID | None = Field(default=None, description="Touch plan experiments.")
    weight: int = Field(default=1, ge=1, le=1000, description="Relative share of the cohort.")

    @model_validator(mode="after")
    def _one_treatment(self) -> ArmSpec:
        if (self.program_id is None) == (self.plan_id is None):
            raise ValueError("give either program_id or plan_id")
        return self


def check_design(
    kind: str, metric: str, arms: list[ArmSpec] | None, cohort: Cohort | None
) -> list[tuple[list[str | int], str]]:
    """What is wrong with a design, as ``(loc, msg)`` pairs (empty when it holds)."""
    wrong: list[tuple[list[str | int], str]] = []
    if metric not in METRICS_OF[kind]:
        allowed = ", ".join(METRICS_OF[kind])
        wrong.append((["primary_metric"], f"a {kind} experiment measures one of {allowed}"))
    field = "program_id" if kind == "reward_program" else "plan_id"
    for i, arm in enumerate(arms or ()):
        if getattr(arm, field) is None:
            wrong.append((["arms", i, field], f"a {kind} experiment's arms each name a {field}"))
    if kind == "touch_plan" and (cohort is None or not (cohort.segments or cohort.tags)):
        wrong.append((["cohort"], "a touch plan experiment enrols its cohort: name one"))
    return wrong


class Cohort(InputModel):
    """Referrers assigned when the experiment starts, so non-referrers count too."""

    segments: list[Segment] = Field(default_factory=list, max_length=5)
    tags: list[str] = Field(default_factory=list, max_length=20, description="Any of these.")


class ExperimentCreate(InputModel):
    name: str = Field(min_length=1, max_length=200, examples=["Fixed vs value-based rewards"])
    description: str | None = Field(default=None, max_length=2_000)
    kind: ExperimentKind = Field(
        default="reward_program",
        description="What the arms are: reward programs (referrers assigned as they refer) "
        "or touch plans (the cohort enrolled in its arm's plan when the experiment starts).",
    )
    starts_at: AwareTime
    ends_at: AwareTime
    primary_metric: PrimaryMetric = Field(
        default="referrals_per_referrer",
        description="Reward experiments: referrals_per_referrer or closed_per_referrer. "
        "Touch plan experiments: engagement_rate, referrals_per_contact (their default) "
        "or closed_per_contact.",
    )
    min_sample: int = Field(
        default=10, ge=1, le=1_000_000, description="Referrers per arm before comparing."
    )
    currency: CurrencyCode = Field(default="USD", description="Revenue and costs counted in it.")
    cohort: Cohort | None = None
    arms: list[ArmSpec] = Field(min_length=2, max_length=10)

    @model_validator(mode="after")
    def _check(self) -> ExperimentCreate:
        if self.starts_at >= self.ends_at:
            raise ValueError("starts_at must be before ends_at")
        if len({a.name for a in self.arms}) != len(self.arms):
            raise ValueError("arm names must be distinct")
        if self.kind == "touch_plan" and "primary_metric" not in self.model_fields_set:
            self.primary_metric = "referrals_per_contact"
        return self  # the kind's own rules, field by field: ``check_design``


class ExperimentUpdate(InputModel):
    """Only a draft can change its design; a running experiment can change its name."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2_000)
    starts_at: AwareTime | None = None
    ends_at: AwareTime | None = None
    primary_metric: PrimaryMetric | None = None
    min_sample: int | None = Field(default=None, ge=1, le=1_000_000)
    currency: CurrencyCode | None = None
    cohort: Cohort | None = None
    arms: list[ArmSpec] | None = Field(default=None, min_length=2, max_length=10)


class ArmRead(OutputModel):
    id: uuid.UUID
    name: str
    program_id: uuid.UUID | None
    plan_id: uuid.UUID | None
    weight: int


class ExperimentRead(OutputModel):
    id: uuid.UUID
    name: str
    description: str | None
    kind: ExperimentKind
    status: ExperimentStatus
    starts_at: datetime
    ends_at: datetime
    primary_metric: PrimaryMetric
    min_sample: int
    currency: str
    cohort: Cohort | None
    arms: list[ArmRead]
    started_at: datetime | None
    stopped_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime


class ArmResult(OutputModel):
    arm_id: uuid.UUID
    name: str
    program_id: uuid.UUID
    referrers: int = Field(description="Referrers assigned to the arm.")
    referrals: int = Field(description="Referrals they sent during the period.")
    referrals_per_referrer: float | None
    closed: int
    conversion_rate: Decimal | None = Field(description="closed / referrals, 0..1.")
    revenue: Decimal = Field(description="Actual value of closed referrals, in `currency`.")
    reward_cost: Decimal = Field(description="Rewards not cancelled, in `currency`.")
    roi_percent: Decimal | None = Field(description="(revenue - cost) / cost x 100; null if free.")


class Comparison(OutputModel):
    """Arm ``arm_b`` against the control ``arm_a`` on one metric (Poisson rates): the
    primary one for reward experiments, each count metric for touch plan experiments."""

    metric: PrimaryMetric
    arm_a: str
    arm_b: str
    rate_a: float | None
    rate_b: float | None
    rate_ratio: float | None
    ci_low: float | None
    ci_high: float | None
    confidence: float
    p_value: float | None
    sufficient: bool
    verdict: str = Field(description='A plain reading, or "insufficient data".')
    reason: str | None


class ExperimentResults(OutputModel):
    """A reward experiment's results."""

    kind: Literal["reward_program"]
    experiment_id: uuid.UUID
    status: ExperimentStatus
    currency: str
    period_start: datetime
    period_end: datetime
    arms: list[ArmResult]
    comparisons: list[Comparison]
