"""Observances: the yearly dates of a contact that touches are timed against."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.errors import NotFound
from app.models.contacts.log_schemas import ObservanceCreate, ObservanceRead
from app.models.contacts.tables import Observance
from app.services import touches
from app.services.contacts.people import require_contact
from app.services.platform import PageRequest, keyset_page
from app.services.touches import observance_date

_COLUMNS = [c for c in Observance.__table__.columns if c.name != "workspace_id"]


def next_occurrence(month: int, day: int, today: date) -> date:
    """The next date on or after ``today`` (29 February falls on the 28th in common years)."""
    this_year = observance_date(month, day, today.year)
    return this_year if this_year >= today else observance_date(month, day, today.year + 1)


def _read(row: RowMapping, today: date) -> ObservanceRead:
    return ObservanceRead.model_validate(
        {**row, "next_occurrence": next_occurrence(row["month"], row["day"], today)}
    )


async def add_observance(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    contact_id: uuid.UUID,
    data: ObservanceCreate,
    *,
    at: datetime,
) -> ObservanceRead:
    await require_contact(session, workspace_id, contact_id)
    stmt = (
        insert(Observance)
        .values(
            workspace_id=workspace_id,
            id=uuid.uuid4(),
            contact_id=contact_id,
            created_at=at,
            **data.model_dump(),
        )
        .returning(*_COLUMNS)
    )
    row = (await session.execute(stmt)).mappings().one()
    await touches.replan_contact(session, workspace_id, contact_id, at=at)  # dated steps
    return _read(row, at.date())


async def list_observances(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    contact_id: uuid.UUID,
    page: PageRequest,
    *,
    today: date,
) -> tuple[list[ObservanceRead], str | None]:
    """In calendar order (month, day)."""
    await require_contact(session, workspace_id, contact_id)
    stmt = select(*_COLUMNS).where(
        col(Observance.workspace_id) == workspace_id, col(Observance.contact_id) == contact_id
    )
    rows, cursor = await keyset_page(
        session,
        stmt,
        keys=[col(Observance.month), col(Observance.day), col(Observance.id)],
        page=page,
        sort="observances",
    )
    return [_read(r._mapping, today) for r in rows], cursor


async def delete_observance(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    contact_id: uuid.UUID,
    observance_id: uuid.UUID,
) -> None:
    stmt = (
        delete(Observance)
        .where(
            col(Observance.workspace_id) == workspace_id,
            col(Observance.contact_id) == contact_id,
            col(Observance.id) == observance_id,
        )
        .returning(col(Observance.id))
    )
    if (await session.execute(stmt)).first() is None:
        raise NotFound("observance not found")
