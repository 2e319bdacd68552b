"""Readiness: can this process serve traffic against the schema it was built for?"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.db import Database
from app.migrations import head_revisions


async def readiness_problem(db: Database) -> str | None:
    try:
        async with db.engine.connect() as conn:
            current = frozenset(
                (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars()
            )
    except (SQLAlchemyError, OSError) as exc:
        return f"database unreachable or not migrated: {exc.__class__.__name__}"
    expected = head_revisions()
    if current != expected:
        return (
            f"schema at {sorted(current)}, this build expects {sorted(expected)}: "
            "run 'rapport migrate'"
        )
    return None
