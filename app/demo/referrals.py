"""Demo referrals for ``make run``: a default reward program and a pipeline in every stage.

Everything goes through the services, so the demo also shows what they produce: stage
history, ``referral.*`` and ``reward.*`` events, thank-you touches and rewards.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from app.demo.team import find_agent
from app.models.contacts import ContactCreate
from app.models.referrals import NewContact, ReferralCreate, RewardProgramCreate, TransitionCreate
from app.services import contacts, referrals

DEFAULT_PROGRAM = RewardProgramCreate.model_validate(
    {
        "name": "Thank-you card and closing bonus",
        "description": "A small gift card on receipt, cash by deal size on closing.",
        "is_default": True,
        "rules": [
            {
                "trigger": "received",
                "amount": {"kind": "fixed", "amount": "25.00"},
                "currency": "USD",
                "reward_kind": "gift_card",
                "approval_required": False,
            },
            {
                "trigger": "closed",
                "amount": {
                    "kind": "tiered",
                    "tiers": [
                        {"min_value": "0.00", "amount": "100.00"},
                        {"min_value": "250000.00", "amount": "250.00"},
                        {"min_value": "500000.00", "amount": "500.00"},
                    ],
                },
                "currency": "USD",
                "reward_kind": "cash",
                "cap": {"amount": "1000.00", "period_days": 365},
                "hold_days": 14,
            },
        ],
    }
)

# (referred first name, last name, days ago received, stages to walk, lost reason, value)
PIPELINE: tuple[tuple[str, str, int, tuple[str, ...], str | None, str | None], ...] = (
    ("Jordan", "Lee", 0, (), None, None),
    ("Avery", "Chen", 3, ("contacted",), None, None),
    ("Noah", "Patel", 10, ("contacted", "meeting"), None, None),
    ("Emma", "Garcia", 21, ("contacted", "meeting", "agreement"), None, None),
    ("Liam", "Okafor", 45, ("contacted", "meeting", "agreement", "closed"), None, "310000.00"),
    ("Mia", "Rossi", 30, ("contacted", "lost"), "chose a relative's agent", None),
)


async def _contact(
    session: AsyncSession, workspace_id: uuid.UUID, at: datetime, **fields: object
) -> uuid.UUID:
    data = ContactCreate.model_validate(fields)
    return (await contacts.create_contact(session, workspace_id, data, at=at)).id


async def seed_referrals(session: AsyncSession, workspace_id: uuid.UUID, *, at: datetime) -> None:
    await referrals.create_program(session, workspace_id, DEFAULT_PROGRAM, at=at)
    agent = await find_agent(session, workspace_id)
    maria = await _contact(  # the agent's: today's referral from her is theirs to thank
        session,
        workspace_id,
        at,
        first_name="Maria",
        last_name="Santos",
        segment="core_advocate",
        advocacy_stage="core_advocate",
        owner_id=agent.id if agent else None,
        emails=[{"address": "maria.santos@example.com", "primary": True}],
    )
    lender = await _contact(
        session,
        workspace_id,
        at,
        company_name="Harbor Lending",
        kind="business",
        segment="allied_resource",
        allied_category="lender",
    )
    for first, last, days_ago, stages, reason, value in PIPELINE:
        received_at = at - timedelta(days=days_ago)
        created = await referrals.create_referral(
            session,
            workspace_id,
            ReferralCreate(
                source_contact_id=maria if days_ago % 2 == 0 else lender,
                referred_contact=NewContact(first_name=first, last_name=last),
                service="home purchase",
                expected_value=Decimal("300000.00"),
                received_at=received_at,
            ),
            at=at,
        )
        for step, stage in enumerate(stages, start=1):
            await referrals.transition_referral(
                session,
                workspace_id,
                created.referral.id,
                TransitionCreate(
                    to_stage=stage,
                    at=min(received_at + timedelta(days=2 * step), at),
                    lost_reason=reason if stage == "lost" else None,
                    actual_value=Decimal(value) if value and stage == "closed" else None,
                ),
                expected_version=None,
                at=at,
            )
    # Reciprocity: we sent one of our clients to the lender.
    await referrals.create_referral(
        session,
        workspace_id,
        ReferralCreate(
            direction="given",
            referred_contact_id=maria,
            partner_contact_id=lender,
            service="mortgage pre-approval",
            received_at=at - timedelta(days=60),
        ),
        at=at,
    )
