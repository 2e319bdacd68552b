"""Reward programs (rules turning referral milestones into rewards) and the rewards ledger.

A program's rules are stored as JSONB but always written through :class:`RewardRule`, so
what is stored has been validated; ``rule_index`` (the rule's position) identifies a rule in
the ledger. The unique key ``(workspace_id, referral_id, program_id, rule_index)`` is what
makes "each rule fires at most once per referral" hold under concurrency.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import Index, String, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB

from app.models.platform import (
    Actor,
    Amount,
    CurrencyCode,
    IdMixin,
    InputModel,
    Money,
    OutputModel,
    Percent,
    column,
    created_at_column,
    currency_column,
    money_column,
    require_tag,
    tenant_fk,
    timestamp,
    workspace_fk,
)

Trigger = Literal[
    "received", "stage:contacted", "stage:meeting", "stage:agreement", "stage:closed", "closed"
]
RewardKind = Literal["gift_card", "cash", "gift", "donation", "event_invitation", "discount"]
RewardStatus = Literal["pending", "approved", "issued", "cancelled"]


class RewardProgram(IdMixin, table=True):
    __tablename__ = "reward_programs"
    __table_args__ = (
        workspace_fk(),
        # At most one default program per workspace.
        Index(
            "uq_reward_programs_workspace_id_default",
            "workspace_id",
            unique=True,
            postgresql_where=text("is_default"),
        ),
        Index("ix_reward_programs_workspace_id_created_at_id", "workspace_id", "created_at", "id"),
    )

    name: str = column(String(200))
    description: str | None = column(String(2000), default=None)
    rules: list[dict[str, Any]] = column(JSONB, default_factory=list)
    is_default: bool = False
    version: int = 1
    created_at: datetime = created_at_column()
    updated_at: datetime = created_at_column()


class Reward(IdMixin, table=True):
    __tablename__ = "rewards"
    __table_args__ = (
        workspace_fk(),
        tenant_fk(["referral_id"], "referrals", ondelete="CASCADE"),
        tenant_fk(["referrer_id"], "contacts", ondelete="SET NULL"),
        tenant_fk(["program_id"], "reward_programs", ondelete="RESTRICT"),
        UniqueConstraint("workspace_id", "referral_id", "program_id", "rule_index"),
        Index("ix_rewards_workspace_id_created_at_id", "workspace_id", "created_at", "id"),
        Index(
            "ix_rewards_workspace_id_referrer_id_created_at",
            "workspace_id",
            "referrer_id",
            "created_at",
        ),
    )

    referral_id: uuid.UUID
    referrer_id: uuid.UUID | None = None
    program_id: uuid.UUID
    rule_index: int
    trigger: str = column(String(32))
    amount: Decimal = money_column()
    currency: str = currency_column()
    kind: str = column(String(32))
    status: str = column(String(16))
    available_at: datetime = timestamp()
    approved_at: datetime | None = timestamp(default=None)
    approved_by: dict[str, Any] | None = column(JSONB, default=None)
    issued_at: datetime | None = timestamp(default=None)
    issued_by: dict[str, Any] | None = column(JSONB, default=None)
    cancelled_at: datetime | None = timestamp(default=None)
    cancelled_by: dict[str, Any] | None = column(JSONB, default=None)
    cancel_reason: str | None = column(String(500), default=None)
    version: int = 1
    created_at: datetime = created_at_column()
    updated_at: datetime = created_at_column()


class _AmountModel(BaseModel):
    """Amount shapes are plain models: the discriminator must not pass through
    ``InputModel``'s catch-all validator (the rule that holds them checks NUL bytes)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=require_tag)


class FixedAmount(_AmountModel):
    kind: Literal["fixed"] = "fixed"
    amount: Money


class PercentAmount(_AmountModel):
    """A percentage of the referral's actual (deal) value."""

    kind: Literal["percent"] = "percent"
    percent: Percent


class TierSpec(InputModel):
    min_value: Money = Field(description="Deals worth at least this (inclusive) earn `amount`.")
    amount: Money


class TieredAmount(_AmountModel):
    """The highest tier whose ``min_value`` the actual (deal) value reaches; none below all."""

    kind: Literal["tiered"] = "tiered"
    tiers: list[TierSpec] = Field(min_length=1, max_length=20)

    @model_validator(mode="after")
    def _distinct(self) -> TieredAmount:
        if len({t.min_value for t in self.tiers}) != len(self.tiers):
            raise ValueError("tier min_value must be distinct")
        return self


RuleAmount = Annotated[FixedAmount | PercentAmount | TieredAmount, Field(discriminator="kind")]


class RewardCap(InputModel):
    """At most ``amount`` from this rule to one referrer within any ``period_days``."""

    amount: Money
    period_days: int = Field(ge=1, le=3660)


class RewardRule(InputModel):
    trigger: Trigger = Field(
        description="`received`, a stage reached (`stage:<stage>`), or `closed`.",
        examples=["closed"],
    )
    amount: RuleAmount
    currency: CurrencyCode = Field(
        description="Currency of the reward; deal-based amounts apply to deals in it only."
    )
    reward_kind: RewardKind = "cash"
    cap: RewardCap | None = None
    approval_required: bool = Field(
        default=True, description="Rewards start `pending` until approved; else `approved`."
    )
    hold_days: int = Field(default=0, ge=0, le=365, description="Not issuable before then.")
    description: str | None = Field(default=None, max_length=500)

    @property
    def stage(self) -> str:
        """The stage whose reaching fires the rule."""
        return "closed" if self.trigger == "closed" else self.trigger.removeprefix("stage:")


class RewardProgramCreate(InputModel):
    name: str = Field(min_length=1, max_length=200, examples=["Thank-you and closing bonus"])
    description: str | None = Field(default=None, max_length=2_000)
    rules: list[RewardRule] = Field(min_length=1, max_length=20)
    is_default: bool = False


class RewardProgramUpdate(InputModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2_000)
    rules: list[RewardRule] | None = Field(default=None, min_length=1, max_length=20)
    is_default: bool | None = None


class RewardProgramRead(OutputModel):
    id: uuid.UUID
    name: str
    description: str | None
    rules: list[RewardRule]
    is_default: bool
    version: int
    created_at: datetime
    updated_at: datetime


class RewardRead(OutputModel):
    id: uuid.UUID
    referral_id: uuid.UUID
    referrer_id: uuid.UUID | None
    program_id: uuid.UUID
    rule_index: int
    trigger: Trigger
    amount: Amount
    currency: str
    kind: RewardKind
    status: RewardStatus
    available_at: datetime = Field(description="Issuable from then on (after the hold).")
    approved_at: datetime | None
    approved_by: Actor | None = Field(
        description="Who approved it (`system` when no approval was required)."
    )
    issued_at: datetime | None
    issued_by: Actor | None
    cancelled_at: datetime | None
    cancelled_by: Actor | None
    cancel_reason: str | None
    version: int
    created_at: datetime
    updated_at: datetime


class RewardCancel(InputModel):
    reason: str | None = Field(default=None, max_length=500)


class LedgerTotal(OutputModel):
    currency: str
    status: RewardStatus
    count: int
    amount: Amount


class RewardLedger(OutputModel):
    """A referrer's rewards, newest first, with totals over all of them."""

    contact_id: uuid.UUID
    totals: list[LedgerTotal]
    data: list[RewardRead]
    next_cursor: str | None = None
