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
from typing import Any, Literal

from sqlalchemy import Index, String, text
from sqlalchemy.dialects.postgresql import JSONB

from app.models.platform import (
    IdMixin,
    column,
    created_at_column,
    currency_column,
    money_column,
    tenant_fk,
    timestamp,
    workspace_fk,
)

Direction = Literal["received", "given"]
Stage = Literal["received", "contacted", "meeting", "agreement", "closed", "lost"]
OPEN_STAGES: tuple[Stage, ...] = ("received", "contacted", "meeting", "agreement")
PIPELINE: tuple[Stage, ...] = (*OPEN_STAGES, "closed")
STAGES: tuple[Stage, ...] = (*PIPELINE, "lost")
OPEN_RECEIVED = (
    "direction = 'received' AND stage IN ('received', 'contacted', 'meeting', 'agreement')"
)


class Referral(IdMixin, table=True):
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
        # A member's agenda: their open received referrals (follow-ups), by owner.
        Index(
            "ix_referrals_workspace_id_owner_id_open",
            "workspace_id",
            "owner_id",
            postgresql_where=text(OPEN_RECEIVED),
        ),
    )

    direction: str = column(String(16))
    source_contact_id: uuid.UUID | None = None
    referred_contact_id: uuid.UUID | None = None
    partner_contact_id: uuid.UUID | None = None
    service: str | None = column(String(200), default=None)
    currency: str = currency_column()
    expected_value: Decimal | None = money_column(nullable=True)
    actual_value: Decimal | None = money_column(nullable=True)
    fee: Decimal | None = money_column(nullable=True)
    owner_id: uuid.UUID | None = None
    notes: str | None = column(String(10000), default=None)
    stage: str = column(String(16), default="received")
    lost_reason: str | None = column(String(500), default=None)
    received_at: datetime = timestamp()
    stage_changed_at: datetime = timestamp()
    follow_up_due_at: datetime | None = timestamp(default=None)
    follow_up_notified_at: datetime | None = timestamp(default=None)
    possible_duplicate: bool = False
    reward_program_id: uuid.UUID | None = None
    version: int = 1
    created_at: datetime = created_at_column()
    updated_at: datetime = created_at_column()


class ReferralStageHistory(IdMixin, table=True):
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

    referral_id: uuid.UUID
    from_stage: str | None = column(String(16), default=None)
    to_stage: str = column(String(16))
    at: datetime = timestamp()
    note: str | None = column(String(2000), default=None)
    member_id: uuid.UUID | None = None
    actor: dict[str, Any] | None = column(JSONB, default=None)
    created_at: datetime = created_at_column()
