"""Analytics settings of a workspace: the costs and thresholds the reports are computed with.

Kept in their own one-row-per-workspace table rather than as more ``workspaces`` columns:
they change with the firm's accounting, not with how it works, and a workspace without a
row simply gets the defaults below (nothing is spent, nothing is over-relied on at 50 %).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import Field
from sqlalchemy import Numeric, String
from sqlalchemy.dialects.postgresql import JSONB

from app.models.platform import (
    Amount,
    CurrencyCode,
    InputModel,
    Money,
    OutputModel,
    Share,
    TenantMixin,
    column,
    created_at_column,
    workspace_fk,
)

TouchChannel = Literal["email", "sms", "call", "mail", "card", "gift", "event_invite", "meeting"]
TOUCH_CHANNELS: tuple[TouchChannel, ...] = (
    "email",
    "sms",
    "call",
    "mail",
    "card",
    "gift",
    "event_invite",
    "meeting",
)
DEFAULT_CURRENCY = "USD"
DEFAULT_OVER_RELIANCE_SHARE = Decimal("0.5000")
DEFAULT_SCORE_WINDOW_DAYS = 365
DEFAULT_CORE_ADVOCATE_REFERRALS = 3


class AnalyticsSettings(TenantMixin, table=True):
    __tablename__ = "analytics_settings"
    __table_args__ = (workspace_fk(),)

    currency: str = column(String(3), default=DEFAULT_CURRENCY)
    touch_costs: dict[str, Any] = column(JSONB, default_factory=dict)
    tracking_cost_per_referral: Decimal = column(Numeric(14, 2), default=Decimal("0.00"))
    over_reliance_share: Decimal = column(Numeric(5, 4), default=DEFAULT_OVER_RELIANCE_SHARE)
    score_window_days: int = DEFAULT_SCORE_WINDOW_DAYS
    core_advocate_referrals: int = DEFAULT_CORE_ADVOCATE_REFERRALS
    version: int = 1
    updated_at: datetime = created_at_column()


class AnalyticsSettingsRead(OutputModel):
    currency: str = Field(
        description="Reporting currency: money in other currencies is left out of the reports "
        "(and counted as such)."
    )
    touch_costs: dict[TouchChannel, Amount] = Field(
        description="Cost of one delivered touch by channel (missing channels cost 0).",
        examples=[{"mail": "1.20", "card": "3.50", "gift": "25.00"}],
    )
    tracking_cost_per_referral: Amount = Field(
        description="TC of the referral-value formula, per referral received."
    )
    over_reliance_share: Decimal = Field(
        description="Lead-source mix warns when one source brings more than this share (0-1)."
    )
    score_window_days: int = Field(description="Activity window of the relationship score.")
    core_advocate_referrals: int = Field(
        description="Referrals in 12 months that make a suggested core advocate."
    )
    version: int
    updated_at: datetime | None


class AnalyticsSettingsUpdate(InputModel):
    currency: CurrencyCode | None = None
    touch_costs: dict[TouchChannel, Money] | None = Field(
        default=None, description="Replaces the whole map.", examples=[{"mail": "1.20"}]
    )
    tracking_cost_per_referral: Money | None = None
    over_reliance_share: Share | None = None
    score_window_days: int | None = Field(default=None, ge=30, le=3650)
    core_advocate_referrals: int | None = Field(default=None, ge=1, le=100)
