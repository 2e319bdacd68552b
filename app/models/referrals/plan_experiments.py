"""Results of an experiment whose arms are touch plans.

Its unit is the contact of the cohort, enrolled in its arm's plan when the experiment
started; whether the plan reached them or not, they count in their arm (intention to
treat), so an arm whose plan skips people does not look better for it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import Field

from app.models.platform import OutputModel
from app.models.referrals.experiments import Comparison, ExperimentStatus


class PlanArmResult(OutputModel):
    arm_id: uuid.UUID
    name: str
    plan_id: uuid.UUID
    contacts: int = Field(description="Contacts of the cohort assigned to the arm.")
    enrolled: int = Field(description="Of them, enrolled in the arm's plan by the experiment.")
    engaged: int = Field(
        description="Contacts with an inbound or two-way interaction, or an attended "
        "activity, during the period."
    )
    engagement_rate: float | None = Field(description="engaged / contacts.")
    referrals: int = Field(description="Referrals they sent during the period.")
    referrals_per_contact: float | None
    closed: int = Field(description="Of those referrals, how many are closed.")
    closed_per_contact: float | None
    referral_value: Decimal = Field(
        description="Actual value of the closed referrals, in `currency`."
    )
    value_per_contact: Decimal | None
    touches_delivered: int = Field(
        description="Touches of the arm's plan to its contacts reported sent or completed "
        "during the period."
    )
    touch_cost: Decimal = Field(
        description="Those touches priced by channel (analytics settings `touch_costs`)."
    )
    roi_percent: Decimal | None = Field(
        description="(referral value - touch cost) / touch cost x 100; null if free."
    )


class PlanExperimentResults(OutputModel):
    """A touch plan experiment's results: each count metric of every arm against the
    first arm's, with the same exact test and interval as reward experiments."""

    kind: Literal["touch_plan"]
    experiment_id: uuid.UUID
    status: ExperimentStatus
    currency: str
    period_start: datetime
    period_end: datetime
    arms: list[PlanArmResult]
    comparisons: list[Comparison]
