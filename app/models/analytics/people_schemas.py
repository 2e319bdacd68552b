"""API schemas of the people analytics: team performance, allied resources, satisfaction
model, and engagement against advocacy. Like the money reports, every figure has its inputs
beside it and is null when there is nothing to compute it from."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Literal

from pydantic import Field

from app.models.analytics.schemas import PeriodRead
from app.models.platform import OutputModel

AlliedRanking = Literal["quality", "received", "balance"]


class MemberPerformance(OutputModel):
    member_id: uuid.UUID | None = Field(description="Null: work assigned to nobody.")
    name: str
    referrals: int = Field(description="Received referrals they own, received in the period.")
    contacted: int = Field(description="Of those, contacted (left `received`).")
    average_hours_to_first_contact: float | None
    median_hours_to_first_contact: float | None
    contacted_late: int = Field(description="First contact after the follow-up due time.")
    overdue_now: int = Field(description="Still not contacted and past their follow-up time.")
    converted: int
    conversion_rate: Decimal | None
    touches_due: int = Field(description="Manual touches assigned to them that fell due.")
    touches_completed: int
    touches_on_time: int = Field(description="Completed within 24 hours of falling due.")
    on_time_rate: Decimal | None
    agenda_dismissed: dict[str, int] = Field(
        description="Agenda items they dismissed in the period, by kind (`task`, "
        "`follow_up`, `reconnect`, `observance`, `approve`, `thank`).",
        examples=[{"reconnect": 2, "task": 1}],
    )


class TeamReport(OutputModel):
    period: PeriodRead
    follow_up_hours: int = Field(description="The workspace's follow-up target.")
    members: list[MemberPerformance]


class AlliedResource(OutputModel):
    rank: int
    contact_id: uuid.UUID
    name: str
    category: str | None
    service_records: int = Field(description="Records in the period naming them as partner.")
    average_quality: float | None = Field(description="Mean Q rating (1-10) of those records.")
    average_satisfaction: float | None = Field(description="Mean S rating of those records.")
    referrals_given: int = Field(description="Clients we sent them.")
    referrals_received: int = Field(description="Leads they sent us.")
    value_given: Decimal = Field(description="Actual value of closed referrals we sent them.")
    value_received: Decimal = Field(description="Actual value of closed leads from them.")
    balance: int = Field(description="referrals_given - referrals_received: > 0, we give more.")
    value_balance: Decimal


class AlliedReport(OutputModel):
    period: PeriodRead
    ranked_by: AlliedRanking
    currency: str
    partners: list[AlliedResource]


class Coefficients(OutputModel):
    alpha: float | None = Field(description="Points of S per point of communication (C).")
    beta: float | None = Field(description="Points of S per point of service quality (Q).")
    gamma: float | None = Field(description="Points of S per point of perceived value (V).")


class SatisfactionModel(OutputModel):
    period: PeriodRead
    model: str = "S = alpha*C + beta*Q + gamma*V (least squares, no intercept)"
    n: int = Field(description="Feedback records with all four ratings.")
    min_n: int
    sufficient: bool
    reason: str | None = Field(description="Why there are no coefficients, e.g. too few records.")
    coefficients: Coefficients
    r_squared: float | None
    means: dict[str, float | None] = Field(description="Mean rating of C, Q, V and S.")
    strongest_driver: str | None


class CohortFigures(OutputModel):
    contacts: int
    referrals: int = Field(description="Referrals received from them in the period.")
    referring_contacts: int = Field(description="Contacts who referred at least once.")
    referrals_per_contact: float | None
    share_referring: Decimal | None


class RateComparisonRead(OutputModel):
    rate_ratio: float | None = Field(description="Engaged rate / lapsed rate.")
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    sufficient: bool
    reason: str | None


class EngagementAdvocacyReport(OutputModel):
    period: PeriodRead
    gap_days: int = Field(description="A contact 'lapsed' when engagement paused this long.")
    definition: str
    lapsed: CohortFigures
    engaged: CohortFigures
    comparison: RateComparisonRead
