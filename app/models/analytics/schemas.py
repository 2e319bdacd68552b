"""API schemas of the money analytics: referral value and ROI, the funnel, the lead-source mix.

Every figure travels with its inputs, so a chart can show the number and a tooltip can
show how it was reached. Money is a decimal string in the reporting currency; rates are
fractions 0..1 with four decimals; a figure that cannot be computed (nothing to divide) is
null, never 0 and never an error.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import Field

from app.models.platform import OutputModel

ValueDimension = Literal["source", "segment", "plan", "program", "activity"]
MixDimension = Literal["source", "segment"]


class PeriodRead(OutputModel):
    start_date: date = Field(description="First day, in the workspace's time zone.")
    end_date: date = Field(description="Last day (inclusive).")
    time_zone: str
    starts_at: datetime = Field(description="The period's first instant, UTC.")
    ends_at: datetime = Field(description="The instant after its last day, UTC (exclusive).")


class CostBreakdown(OutputModel):
    rewards: Decimal = Field(description="Rewards created in the period, not cancelled.")
    touches: Decimal = Field(description="Delivered touches x the per-touch cost of the channel.")
    activities: Decimal = Field(description="Cost of engagement activities held in the period.")


class ValueInputs(OutputModel):
    contacts: int = Field(description="C: referrals received in the period.")
    converted: int = Field(description="Of those, closed (won).")
    conversion_rate: Decimal | None = Field(description="CR = converted / C; null when C = 0.")
    average_value: Decimal | None = Field(
        description="AV = revenue / converted; null when nothing converted."
    )
    closed_without_value: int = Field(description="Closed referrals with no actual value (0).")
    revenue: Decimal = Field(description="C x CR x AV: actual value of the closed referrals.")
    acquisition_cost: Decimal = Field(description="AC = rewards + touches + activities.")
    acquisition_breakdown: CostBreakdown
    tracking_cost: Decimal = Field(description="TC = C x tracking cost per referral.")
    costs: Decimal = Field(description="AC + TC.")


class ValueRow(OutputModel):
    key: str | None = Field(description="Contact, plan, program or activity id, or segment.")
    label: str
    inputs: ValueInputs
    referral_value: Decimal = Field(description="RV = (C x CR x AV) - (AC + TC).")
    roi_percent: Decimal | None = Field(
        description="(revenue - costs) / costs x 100; null when nothing was spent."
    )


class ValueReport(OutputModel):
    period: PeriodRead
    by: ValueDimension
    currency: str
    formula: str = "RV = (C x CR x AV) - (AC + TC); ROI = (revenue - costs) / costs x 100"
    attribution: str = Field(description="How referrals and costs are tied to a row.")
    rows: list[ValueRow] = Field(description="Highest referral value first.")
    groups: int = Field(description="Rows in all (the list is cut at `limit`).")
    total: ValueRow = Field(description="The whole workspace: every referral and every cost.")
    excluded_other_currency: int = Field(
        description="Referrals in another currency than the reporting one, left out."
    )


class FunnelStage(OutputModel):
    stage: str
    reached: int = Field(description="Referrals that got at least this far.")
    current: int = Field(description="Referrals in this stage now.")
    conversion_from_previous: Decimal | None = Field(
        description="reached / reached at the previous stage."
    )
    conversion_from_received: Decimal | None = Field(description="reached / referrals received.")
    average_hours_in_stage: float | None = Field(
        description="Mean time spent in the stage, over stays that ended."
    )
    stays_measured: int = Field(description="Number of ended stays the mean is over.")


class FunnelReport(OutputModel):
    period: PeriodRead
    received: int = Field(description="Referrals received in the period.")
    stages: list[FunnelStage]
    lost: int
    lost_by_stage: dict[str, int] = Field(description="The stage each lost referral left.")
    open: int


class SourceShare(OutputModel):
    key: str | None
    label: str
    closed: int
    value: Decimal
    share_of_count: Decimal | None
    share_of_value: Decimal | None
    over_reliance: bool = Field(description="Its share of count or value exceeds the threshold.")


class LeadSourceMix(OutputModel):
    period: PeriodRead
    by: MixDimension
    basis: str = "referrals closed (won) in the period: new business"
    currency: str
    threshold: Decimal = Field(description="The over-reliance share from the settings.")
    closed: int
    value: Decimal
    sources: list[SourceShare] = Field(description="Largest share first.")
    warnings: list[str]
