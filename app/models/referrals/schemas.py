"""API schemas of referrals, their stage changes and the reciprocity summary.

Kept apart from the tables (``app.models.referrals.tables``) because the referral API has more
shapes than the table has columns: inline new contacts, warnings, transitions.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import Field, model_validator

from app.models.platform import (
    Actor,
    Amount,
    AwareTime,
    CurrencyCode,
    EmailAddress,
    InputModel,
    Money,
    OutputModel,
)
from app.models.referrals.tables import Direction, Stage


class NewContact(InputModel):
    """A referred person not yet in the database; they are created as a ``prospect``."""

    first_name: str = Field(min_length=1, max_length=200, examples=["Jordan"])
    last_name: str | None = Field(default=None, max_length=200, examples=["Lee"])
    email: EmailAddress | None = Field(
        default=None, max_length=320, examples=["jordan@example.com"]
    )
    phone: str | None = Field(default=None, min_length=3, max_length=32, examples=["+14155550123"])


class ReferralCreate(InputModel):
    direction: Direction = Field(
        default="received",
        description="`received`: a source sent us a lead. `given`: we sent a client to a partner.",
    )
    source_contact_id: uuid.UUID | None = Field(
        default=None, description="The referrer (required for `received`)."
    )
    referred_contact_id: uuid.UUID | None = Field(
        default=None, description="The referred person (or, for `given`, the client we sent)."
    )
    referred_contact: NewContact | None = Field(
        default=None, description="Instead of `referred_contact_id`: create a prospect."
    )
    partner_contact_id: uuid.UUID | None = Field(
        default=None, description="The allied resource we sent the client to (`given` only)."
    )
    service: str | None = Field(default=None, max_length=200, examples=["home purchase"])
    currency: CurrencyCode = "USD"
    expected_value: Money | None = None
    actual_value: Money | None = None
    fee: Money | None = Field(default=None, description="Fee or commission on the deal.")
    owner_id: uuid.UUID | None = Field(default=None, description="The member handling it.")
    notes: str | None = Field(default=None, max_length=10_000)
    received_at: AwareTime | None = Field(
        default=None, description="When the referral came in; defaults to now."
    )

    @model_validator(mode="after")
    def _shape(self) -> ReferralCreate:
        if (self.referred_contact_id is None) == (self.referred_contact is None):
            raise ValueError("give exactly one of referred_contact_id and referred_contact")
        if self.direction == "received":
            if self.source_contact_id is None:
                raise ValueError("a received referral needs source_contact_id (the referrer)")
            if self.partner_contact_id is not None:
                raise ValueError("partner_contact_id is only for given referrals")
        else:
            if self.partner_contact_id is None:
                raise ValueError("a given referral needs partner_contact_id (the partner)")
            if self.source_contact_id is not None:
                raise ValueError("a given referral has no source_contact_id: we are the source")
        return self


class ReferralUpdate(InputModel):
    """Descriptive fields, and the received time; the stage moves only through transitions."""

    received_at: AwareTime | None = Field(
        default=None,
        description="Correct when the referral came in: not in the future, not after its "
        "first stage change; the follow-up due time (if not yet notified) moves with it.",
    )
    service: str | None = Field(default=None, max_length=200)
    currency: CurrencyCode | None = None
    expected_value: Money | None = None
    actual_value: Money | None = None
    fee: Money | None = None
    owner_id: uuid.UUID | None = None
    notes: str | None = Field(default=None, max_length=10_000)


class ReferralWarning(OutputModel):
    """Something the caller should look at; the referral was still recorded."""

    code: Literal["possible_duplicate", "linked_existing_contact"]
    message: str
    referral_ids: list[uuid.UUID] = Field(description="The earlier referrals it may duplicate.")


class ReferralRead(OutputModel):
    id: uuid.UUID
    direction: Direction
    source_contact_id: uuid.UUID | None
    referred_contact_id: uuid.UUID | None
    partner_contact_id: uuid.UUID | None
    service: str | None
    currency: str
    expected_value: Amount | None
    actual_value: Amount | None
    fee: Amount | None
    owner_id: uuid.UUID | None
    notes: str | None
    stage: Stage
    lost_reason: str | None
    received_at: datetime
    stage_changed_at: datetime
    follow_up_due_at: datetime | None
    follow_up_notified_at: datetime | None
    possible_duplicate: bool
    reward_program_id: uuid.UUID | None = Field(
        description="The reward program whose rules apply to this referral."
    )
    version: int
    created_at: datetime
    updated_at: datetime


class ReferralCreated(ReferralRead):
    warnings: list[ReferralWarning] = Field(default_factory=list)


class TransitionCreate(InputModel):
    to_stage: Stage
    at: AwareTime | None = Field(default=None, description="When it happened; default now.")
    note: str | None = Field(default=None, max_length=2_000)
    lost_reason: str | None = Field(
        default=None, min_length=1, max_length=500, description="Required when `to_stage=lost`."
    )
    actual_value: Money | None = Field(
        default=None, description="Record the deal value with the move (typically on close)."
    )
    member_id: uuid.UUID | None = Field(default=None, description="The member who moved it.")

    @model_validator(mode="after")
    def _reason(self) -> TransitionCreate:
        if self.to_stage == "lost" and not self.lost_reason:
            raise ValueError("lost_reason is required when a referral is lost")
        if self.to_stage != "lost" and self.lost_reason is not None:
            raise ValueError("lost_reason is only for to_stage=lost")
        return self


class ReferralStageChangeRead(OutputModel):
    id: uuid.UUID
    referral_id: uuid.UUID
    from_stage: Stage | None
    to_stage: Stage
    at: datetime
    note: str | None
    member_id: uuid.UUID | None
    actor: Actor | None = Field(description="Who moved it (none on entries before actors).")


class ReciprocityRow(OutputModel):
    """Referrals in one stage and currency, with their summed values."""

    stage: Stage
    currency: str
    count: int
    expected_value: Amount
    actual_value: Amount
    fees: Amount


class ReciprocitySide(OutputModel):
    count: int
    rows: list[ReciprocityRow]


class ReciprocityRead(OutputModel):
    contact_id: uuid.UUID
    received_from: ReciprocitySide = Field(description="Referrals this contact sent us.")
    given_to: ReciprocitySide = Field(description="Referrals we sent to this contact.")
    balance: int = Field(description="given_to.count - received_from.count.")
