"""Referrals: leads received from a source, and clients we send to allied resources.

A ``received`` referral links a source (the referrer) to the referred person; a ``given``
one links the client we sent (``referred_contact_id``) to the partner we sent them to.
Contact references are ``ON DELETE SET NULL`` so erasing a person keeps the firm's
pipeline figures; the rules that make them required live in the service.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Literal

from sqlalchemy import Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.platform import (
    Base,
    IdMixin,
    created_at_column,
    currency_column,
    money_column,
    tenant_fk,
    workspace_fk,
)

Direction = Literal["received", "given"]
Stage = Literal["received", "contacted", "meeting", "agreement", "closed", "lost"]
OPEN_STAGES: tuple[Stage, ...] = ("received", "contacted", "meeting", "agreement")
PIPELINE: tuple[Stage, ...] = (*OPEN_STAGES, "closed")
STAGES: tuple[Stage, ...] = (*PIPELINE, "lost")


class Referral(IdMixin, Base):
    __tablename__ = "referrals"
    __table_args__ = (
        workspace_fk(),
        tenant_fk(["source_contact_id"], "contacts", ondelete="SET NULL"),
        tenant_fk(["referred_contact_id"], "contacts", ondelete="SET NULL"),
        tenant_fk(["partner_contact_id"], "contacts", ondelete="SET NULL"),
        tenant_fk(["owner_id"], "members", ondelete="SET NULL"),
        tenant_fk(["reward_program_id"], "reward_programs", ondelete="SET NULL"),
        Index("ix_referrals_workspace_id_received_at_id", "workspace_id", "received_at", "id"),
        Index(
            "ix_referrals_workspace_id_source_contact_id_received_at",
            "workspace_id",
            "source_contact_id",
            "received_at",
        ),
        Index(
            "ix_referrals_workspace_id_referred_contact_id", "workspace_id", "referred_contact_id"
        ),
        Index("ix_referrals_workspace_id_partner_contact_id", "workspace_id", "partner_contact_id"),
        # The follow-up job's scan: only referrals still waiting for a first contact.
        Index(
            "ix_referrals_follow_up_pending",
            "follow_up_due_at",
            postgresql_where=text(
                "direction = 'received' AND stage = 'received' AND follow_up_notified_at IS NULL"
            ),
        ),
    )

    direction: Mapped[str] = mapped_column(String(16))
    source_contact_id: Mapped[uuid.UUID | None]
    referred_contact_id: Mapped[uuid.UUID | None]
    partner_contact_id: Mapped[uuid.UUID | None]
    service: Mapped[str | None] = mapped_column(String(200))
    currency: Mapped[str] = currency_column()
    expected_value: Mapped[Decimal | None] = money_column(nullable=True)
    actual_value: Mapped[Decimal | None] = money_column(nullable=True)
    fee: Mapped[Decimal | None] = money_column(nullable=True)
    owner_id: Mapped[uuid.UUID | None]
    notes: Mapped[str | None] = mapped_column(String(10_000))
    stage: Mapped[str] = mapped_column(String(16), default="received")
    lost_reason: Mapped[str | None] = mapped_column(String(500))
    received_at: Mapped[datetime]
    stage_changed_at: Mapped[datetime]
    follow_up_due_at: Mapped[datetime | None]
    follow_up_notified_at: Mapped[datetime | None]
    possible_duplicate: Mapped[bool] = mapped_column(default=False)
    reward_program_id: Mapped[uuid.UUID | None]
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = created_at_column()


class ReferralStageHistory(IdMixin, Base):
    """One stage change; ``from_stage`` is null for the entry written at creation."""

    __tablename__ = "referral_stage_history"
    __table_args__ = (
        workspace_fk(),
        tenant_fk(["referral_id"], "referrals", ondelete="CASCADE"),
        tenant_fk(["member_id"], "members", ondelete="SET NULL"),
        Index(
            "ix_referral_stage_history_workspace_id_referral_id_at",
            "workspace_id",
            "referral_id",
            "at",
        ),
    )

    referral_id: Mapped[uuid.UUID]
    from_stage: Mapped[str | None] = mapped_column(String(16))
    to_stage: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime]
    note: Mapped[str | None] = mapped_column(String(2_000))
    member_id: Mapped[uuid.UUID | None]
    created_at: Mapped[datetime] = created_at_column()
