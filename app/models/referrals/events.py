"""What the referrals domain's events carry as ``data`` (built through these models).

A referral event is the referral as the API shows it, plus its referrer's contact data
and a suggested message to keep them informed (both null for a ``given`` referral); a
reward event is the reward as ``GET /v1/rewards/{id}`` shows it.
"""

from __future__ import annotations

import uuid

from pydantic import BaseModel, Field

from app.models.platform import OutputModel
from app.models.referrals.rewards import RewardRead
from app.models.referrals.schemas import ReferralRead
from app.models.referrals.tables import Stage


class ReferrerData(OutputModel):
    id: uuid.UUID
    first_name: str | None
    last_name: str | None
    company_name: str | None
    primary_email: str | None
    primary_phone: str | None


class ReferralNotice(ReferralRead):
    referrer: ReferrerData | None = Field(description="Who referred (null when given).")
    suggested_message: str | None = Field(
        description="A ready-to-send note keeping the referrer informed (null when given)."
    )


class ReferralStageNotice(ReferralNotice):
    from_stage: Stage
    to_stage: Stage
    note: str | None
    cancelled_reward_ids: list[uuid.UUID] = Field(
        description="Rewards cancelled because the referral was lost."
    )


class ReferralDeletedData(OutputModel):
    id: uuid.UUID = Field(description="The referral deleted (recorded by mistake).")


class ReferralOverdueNotice(ReferralNotice):
    hours_since_received: float = Field(description="Hours since the referral came in.")


class RewardNotice(RewardRead):
    contact_id: uuid.UUID | None = Field(description="The referrer (as `referrer_id`).")


EVENT_DATA: dict[str, type[BaseModel]] = {
    "referral.created": ReferralNotice,
    "referral.stage_changed": ReferralStageNotice,
    "referral.deleted": ReferralDeletedData,
    "referral.follow_up_overdue": ReferralOverdueNotice,
    "reward.created": RewardNotice,
    "reward.issued": RewardNotice,
}
