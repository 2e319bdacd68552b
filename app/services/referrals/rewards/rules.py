"""Turning referral milestones into rewards, inside the transaction that reached them.

Each rule fires at most once per referral: the insert is ``ON CONFLICT DO NOTHING`` on
``(workspace_id, referral_id, program_id, rule_index)``, so a retried or concurrent
transition cannot pay twice. Amounts come from ``formulas.reward_amount`` and caps from
``formulas.apply_cap``; nothing here rounds money on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.models.referrals.events import RewardNotice
from app.models.referrals.rewards import (
    FixedAmount,
    PercentAmount,
    Reward,
    RewardProgram,
    RewardRead,
    RewardRule,
)
from app.models.referrals.tables import Referral
from app.services.analytics import Tier, apply_cap, reward_amount
from app.services.platform import SYSTEM, current_actor, record_event

OPEN_STATUSES = ("pending", "approved")


def reward_payload(reward: Reward) -> dict[str, Any]:
    """The reward as the API shows it; ``contact_id`` repeats the referrer."""
    read = RewardRead.model_validate(reward)
    return RewardNotice(**dict(read), contact_id=read.referrer_id).model_dump(mode="json")


def rule_amount(rule: RewardRule, referral: Referral) -> Decimal | None:
    """The rule's amount for this referral before caps; None when it cannot be computed.

    Deal-based amounts need the actual value in the rule's currency: converting between
    currencies would need a rate the firm never agreed to, so such a rule does not fire.
    """
    amount = rule.amount
    deal_value = referral.actual_value if referral.currency == rule.currency else None
    if isinstance(amount, FixedAmount):
        return reward_amount(
            kind="fixed", fixed=amount.amount, percent=None, tiers=(), deal_value=None
        )
    if isinstance(amount, PercentAmount):
        return reward_amount(
            kind="percent", fixed=None, percent=amount.percent, tiers=(), deal_value=deal_value
        )
    tiers = [Tier(min_value=t.min_value, amount=t.amount) for t in amount.tiers]
    return reward_amount(
        kind="tiered", fixed=None, percent=None, tiers=tiers, deal_value=deal_value
    )


async def _program(session: AsyncSession, referral: Referral) -> RewardProgram | None:
    """The referral's program; a referral without one adopts the current default for good."""
    stmt = select(RewardProgram).where(col(RewardProgram.workspace_id) == referral.workspace_id)
    if referral.reward_program_id is not None:
        stmt = stmt.where(col(RewardProgram.id) == referral.reward_program_id)
    else:
        stmt = stmt.where(col(RewardProgram.is_default).is_(True))
    program = (await session.execute(stmt)).scalar_one_or_none()
    if program is not None and referral.reward_program_id is None:
        referral.reward_program_id = program.id
    return program


async def _awarded_within(
    session: AsyncSession,
    referral: Referral,
    program_id: Any,
    index: int,
    rule: RewardRule,
    at: datetime,
) -> Decimal:
    """What this rule already gave the referrer within the cap period (cancelled excluded).

    An advisory lock per referrer makes concurrent closes of two of their referrals take
    turns, so together they cannot exceed the cap.
    """
    assert rule.cap is not None
    key = f"reward-cap:{referral.workspace_id}:{referral.source_contact_id}"
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(key, 0))))
    stmt = select(func.coalesce(func.sum(col(Reward.amount)), 0)).where(
        col(Reward.workspace_id) == referral.workspace_id,
        col(Reward.referrer_id) == referral.source_contact_id,
        col(Reward.program_id) == program_id,
        col(Reward.rule_index) == index,
        col(Reward.currency) == rule.currency,
        col(Reward.status) != "cancelled",
        col(Reward.created_at) > at - timedelta(days=rule.cap.period_days),
    )
    return Decimal((await session.execute(stmt)).scalar_one())


async def apply_rules(
    session: AsyncSession,
    referral: Referral,
    stages: Sequence[str],
    *,
    at: datetime,
    deal_based_only: bool = False,
) -> list[Reward]:
    """Fire the rules of the referral's program triggered by reaching ``stages``.

    ``deal_based_only`` is for a deal value arriving late: fixed rules had their chance
    when the milestone was reached (a cap may have stopped them) and must not fire later.
    """
    if referral.direction != "received" or referral.source_contact_id is None or not stages:
        return []
    program = await _program(session, referral)
    if program is None:
        return []
    created: list[Reward] = []
    for index, stored in enumerate(program.rules):
        rule = RewardRule.model_validate(stored)
        if rule.stage not in stages or (deal_based_only and isinstance(rule.amount, FixedAmount)):
            continue
        amount = rule_amount(rule, referral)
        if amount is not None and rule.cap is not None:
            already = await _awarded_within(session, referral, program.id, index, rule, at)
            amount = apply_cap(amount, already_awarded=already, cap=rule.cap.amount)
        if amount is None or amount <= 0:
            continue
        stmt = (
            insert(Reward)
            .values(
                workspace_id=referral.workspace_id,
                referral_id=referral.id,
                referrer_id=referral.source_contact_id,
                program_id=program.id,
                rule_index=index,
                trigger=rule.trigger,
                amount=amount,
                currency=rule.currency,
                kind=rule.reward_kind,
                status="pending" if rule.approval_required else "approved",
                available_at=at + timedelta(days=rule.hold_days),
                approved_at=None if rule.approval_required else at,
                approved_by=None if rule.approval_required else SYSTEM.as_json(),
                version=1,
                created_at=at,
                updated_at=at,
            )
            .on_conflict_do_nothing(
                index_elements=["workspace_id", "referral_id", "program_id", "rule_index"]
            )
            .returning(Reward)
        )
        reward = (await session.execute(stmt)).scalar_one_or_none()
        if reward is not None:
            created.append(reward)
            await record_event(
                session, referral.workspace_id, "reward.created", reward_payload(reward), at=at
            )
    return created


async def cancel_open(
    session: AsyncSession, referral: Referral, reason: str, *, at: datetime
) -> list[Reward]:
    """Cancel the referral's rewards not yet issued (issued ones are never clawed back)."""
    stmt = (
        update(Reward)
        .where(
            col(Reward.workspace_id) == referral.workspace_id,
            col(Reward.referral_id) == referral.id,
            col(Reward.status).in_(OPEN_STATUSES),
        )
        .values(
            status="cancelled",
            cancelled_at=at,
            cancelled_by=current_actor().as_json(),
            cancel_reason=reason[:500],
            version=col(Reward.version) + 1,
            updated_at=at,
        )
        .returning(Reward)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    return list((await session.execute(stmt)).scalars())
