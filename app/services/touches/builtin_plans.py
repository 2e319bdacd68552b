"""Built-in plans (8x8, 33 Touch, 12 Direct, Advocate appreciation) seeded as data.

Published versions of these plans differ from firm to firm, so their content lives in
``app/data/builtin_plans.json`` and every workspace gets its own editable copy: a firm
changes its 33 Touch without a release, and a new release never overwrites their edits.

New workspaces are seeded by ``provision_workspace``. Workspaces that existed before the
touches migration are seeded by that migration (``0003t``), from the same file, so no
request ever has to seed lazily. Seeding inserts only the keys a workspace lacks, and it
runs once per workspace (at creation, or in the migration), so a plan the firm deleted
stays deleted.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.models.touches.plan_schemas import TouchPlanCreate
from app.models.touches.tables import TouchPlan
from app.services.touches.plans import create_plan

DATA_FILE = Path(__file__).resolve().parents[2] / "data" / "builtin_plans.json"


@lru_cache(maxsize=1)
def builtin_plans() -> tuple[tuple[str, TouchPlanCreate], ...]:
    """``(builtin_key, plan)`` pairs, validated by the same schema as the API."""
    raw: dict[str, Any] = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    plans = []
    for item in raw["plans"]:
        body = dict(item)
        key = str(body.pop("builtin_key"))
        plans.append((key, TouchPlanCreate.model_validate(body)))
    return tuple(plans)


async def seed_builtin_plans(
    session: AsyncSession, workspace_id: uuid.UUID, *, at: datetime
) -> int:
    """Give the workspace its copies of the built-in plans it does not have yet."""
    stmt = select(col(TouchPlan.builtin_key)).where(
        col(TouchPlan.workspace_id) == workspace_id, col(TouchPlan.builtin_key).is_not(None)
    )
    have = set((await session.execute(stmt)).scalars())
    created = 0
    for key, plan in builtin_plans():
        if key not in have:
            await create_plan(session, workspace_id, plan, at=at, builtin_key=key)
            created += 1
    return created
