"""The rewards ledger: listing rewards, moving them through approval, a referrer's totals.

``pending → approved → issued``, or ``cancelled`` from either open status. Issuing respects
the hold (``available_at``): a reward for a deal that can still unwind is not paid early.
Issued rewards are final; a mistake is corrected by the firm outside the ledger, never by
rewriting what the referrer was told they received.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.errors import Conflict, NotFound
from app.models.contacts import Contact
from app.models.platform import utc_text
from app.models.referrals.rewards import LedgerTotal, Reward
from app.services.platform import (
    PageRequest,
    current_actor,
    guard_path_parameter,
    keyset_page,
    record_event,
    row_check,
    where_visible,
)
from app.services.referrals.rewards.rules import reward_payload


@dataclass
class RewardFilters:
    status: str | None = None
    referrer_id: uuid.UUID | None = None
    referral_id: uuid.UUID | None = None
    program_id: uuid.UUID | None = None


# A reward is seen through the referrer it rewards.
guard_path_parameter("reward_id", row_check(Reward.__table__, ["referrer_id"]), "reward")


async def get_reward(
    session: AsyncSession, workspace_id: uuid.UUID, reward_id: uuid.UUID, *, lock: bool = False
) -> Reward:
    stmt = select(Reward).where(
        col(Reward.workspace_id) == workspace_id, col(Reward.id) == reward_id
    )
    if lock:
        stmt = stmt.with_for_update()
    reward = (await session.execute(stmt)).scalar_one_or_none()
    if reward is None:
        raise NotFound("reward not found")
    return reward


async def list_rewards(
    session: AsyncSession, workspace_id: uuid.UUID, page: PageRequest, filters: RewardFilters
) -> tuple[list[Reward], str | None]:
    """Newest first."""
    stmt = select(Reward).where(col(Reward.workspace_id) == workspace_id)
    stmt = where_visible(stmt, Reward.__table__, ["referrer_id"])
    if filters.status is not None:
        stmt = stmt.where(col(Reward.status) == filters.status)
    if filters.referrer_id is not None:
        stmt = stmt.where(col(Reward.referrer_id) == filters.referrer_id)
    if filters.referral_id is not None:
        stmt = stmt.where(col(Reward.referral_id) == filters.referral_id)
    if filters.program_id is not None:
        stmt = stmt.where(col(Reward.program_id) == filters.program_id)
    rows, cursor = await keyset_page(
        session,
        stmt,
        keys=[col(Reward.created_at), col(Reward.id)],
        page=page,
        sort="rewards",
        descending=True,
    )
    return [r[0] for r in rows], cursor


def _refuse(reward: Reward, action: str) -> Conflict:
    """409 naming the reward's state as ``reward_status`` (``status`` is the HTTP one)."""
    article = "an" if reward.status[:1] in "aeiou" else "a"
    return Conflict(
        f"{article} {reward.status} reward cannot be {action}",
        extra={"reward_status": reward.status},
    )


def _touch(reward: Reward, at: datetime) -> None:
    reward.version += 1
    reward.updated_at = at


async def approve_reward(
    session: AsyncSession, workspace_id: uuid.UUID, reward_id: uuid.UUID, *, at: datetime
) -> Reward:
    reward = await get_reward(session, workspace_id, reward_id, lock=True)
    if reward.status != "pending":
        raise _refuse(reward, "approved")
    reward.status = "approved"
    reward.approved_at = at
    reward.approved_by = current_actor().as_json()
    _touch(reward, at)
    await session.flush()
    return reward


async def issue_reward(
    session: AsyncSession, workspace_id: uuid.UUID, reward_id: uuid.UUID, *, at: datetime
) -> Reward:
    reward = await get_reward(session, workspace_id, reward_id, lock=True)
    if reward.status != "approved":
        raise _refuse(reward, "issued" if reward.status != "pending" else "issued before approval")
    if reward.available_at > at:
        raise Conflict(
            f"the reward is on hold until {utc_text(reward.available_at)}",
            extra={"available_at": utc_text(reward.available_at)},
        )
    reward.status = "issued"
    reward.issued_at = at
    reward.issued_by = current_actor().as_json()
    _touch(reward, at)
    await session.flush()
    await record_event(session, workspace_id, "reward.issued", reward_payload(reward), at=at)
    return reward


async def cancel_reward(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    reward_id: uuid.UUID,
    *,
    reason: str | None,
    at: datetime,
) -> Reward:
    reward = await get_reward(session, workspace_id, reward_id, lock=True)
    if reward.status not in ("pending", "approved"):
        raise _refuse(reward, "cancelled")
    reward.status = "cancelled"
    reward.cancelled_at = at
    reward.cancel_reason = reason
    reward.cancelled_by = current_actor().as_json()
    _touch(reward, at)
    await session.flush()
    return reward


async def ledger(
    session: AsyncSession, workspace_id: uuid.UUID, contact_id: uuid.UUID, page: PageRequest
) -> tuple[list[LedgerTotal], list[Reward], str | None]:
    """A referrer's rewards (newest first, paged) and totals per currency and status."""
    exists = select(col(Contact.id)).where(
        col(Contact.workspace_id) == workspace_id, col(Contact.id) == contact_id
    )
    if (await session.execute(exists)).first() is None:
        raise NotFound("contact not found")
    totals_stmt = (
        select(col(Reward.currency), col(Reward.status), func.count(), func.sum(col(Reward.amount)))
        .where(col(Reward.workspace_id) == workspace_id, col(Reward.referrer_id) == contact_id)
        .group_by(col(Reward.currency), col(Reward.status))
        .order_by(col(Reward.currency), col(Reward.status))
    )
    totals = [
        LedgerTotal(currency=c, status=s, count=n, amount=a)
        for c, s, n, a in (await session.execute(totals_stmt)).all()
    ]
    entries, cursor = await list_rewards(
        session, workspace_id, page, RewardFilters(referrer_id=contact_id)
    )
    return totals, entries, cursor
