"""Reward programs: named lists of rules, one of them the workspace's default.

Rules are stored as the JSON of validated :class:`RewardRule` objects; a rule's position is
its identity in the ledger (``rule_index``), so editing a program should append rules
rather than reorder them: a moved rule would look new to referrals already rewarded.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.errors import Conflict, NotFound
from app.models.referrals.rewards import (
    RewardProgram,
    RewardProgramCreate,
    RewardProgramUpdate,
    RewardRule,
)
from app.services.platform import PageRequest, check_version, keyset_page


def _rules_json(rules: list[RewardRule]) -> list[dict[str, Any]]:
    return [r.model_dump(mode="json") for r in rules]


async def _clear_default(session: AsyncSession, workspace_id: uuid.UUID, but: Any = None) -> None:
    """Only one default: an advisory lock orders concurrent changes, then the old one yields."""
    key = f"reward-default:{workspace_id}"
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(key, 0))))
    stmt = update(RewardProgram).where(
        col(RewardProgram.workspace_id) == workspace_id, col(RewardProgram.is_default).is_(True)
    )
    if but is not None:
        stmt = stmt.where(RewardProgram.id != but)
    await session.execute(
        stmt.values(is_default=False, version=RewardProgram.version + 1).execution_options(
            synchronize_session="fetch"
        )
    )


async def create_program(
    session: AsyncSession, workspace_id: uuid.UUID, data: RewardProgramCreate, *, at: datetime
) -> RewardProgram:
    if data.is_default:
        await _clear_default(session, workspace_id)
    program = RewardProgram(
        workspace_id=workspace_id,
        name=data.name,
        description=data.description,
        rules=_rules_json(data.rules),
        is_default=data.is_default,
        version=1,
        created_at=at,
        updated_at=at,
    )
    session.add(program)
    await session.flush()
    return program


async def get_program(
    session: AsyncSession, workspace_id: uuid.UUID, program_id: uuid.UUID, *, lock: bool = False
) -> RewardProgram:
    stmt = select(RewardProgram).where(
        col(RewardProgram.workspace_id) == workspace_id, col(RewardProgram.id) == program_id
    )
    if lock:
        stmt = stmt.with_for_update()
    program = (await session.execute(stmt)).scalar_one_or_none()
    if program is None:
        raise NotFound("reward program not found")
    return program


async def list_programs(
    session: AsyncSession, workspace_id: uuid.UUID, page: PageRequest
) -> tuple[list[RewardProgram], str | None]:
    stmt = select(RewardProgram).where(col(RewardProgram.workspace_id) == workspace_id)
    rows, cursor = await keyset_page(
        session,
        stmt,
        keys=[col(RewardProgram.created_at), col(RewardProgram.id)],
        page=page,
        sort="reward-programs",
    )
    return [r[0] for r in rows], cursor


async def update_program(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    program_id: uuid.UUID,
    changes: RewardProgramUpdate,
    *,
    expected_version: int | None,
    at: datetime,
) -> RewardProgram:
    """New rules apply to milestones reached from now on; past rewards stay as they are."""
    program = await get_program(session, workspace_id, program_id, lock=True)
    check_version(program.version, expected_version)
    values = changes.model_dump(exclude_unset=True)
    if values.get("name") is not None:
        program.name = values["name"]
    if "description" in values:
        program.description = values["description"]
    if changes.rules is not None:
        program.rules = _rules_json(changes.rules)
    if changes.is_default is not None and changes.is_default != program.is_default:
        if changes.is_default:
            await _clear_default(session, workspace_id, but=program.id)
        program.is_default = changes.is_default
    program.version += 1
    program.updated_at = at
    await session.flush()
    return program


async def delete_program(
    session: AsyncSession, workspace_id: uuid.UUID, program_id: uuid.UUID
) -> None:
    """Refused once a reward or an experiment arm refers to it: the ledger must stay whole."""
    program = await get_program(session, workspace_id, program_id, lock=True)
    try:
        async with session.begin_nested():
            await session.delete(program)
            await session.flush()
    except IntegrityError as exc:
        raise Conflict(
            "this program has rewards or experiment arms; keep it (and unset its default)"
        ) from exc
