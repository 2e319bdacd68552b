"""Service records of a contact, with the ratings that feed satisfaction and partner reviews.

A record is of work done: its date may not be after today (in the workspace's zone).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.errors import NotFound, ValidationFailed
from app.models.contacts.service_records import (
    ServiceRecord,
    ServiceRecordCreate,
    ServiceRecordRead,
)
from app.models.contacts.tables import Contact
from app.services.contacts.people import require_contact
from app.services.contacts.rows import check_member
from app.services.platform import (
    PageRequest,
    get_workspace,
    keyset_page,
    refuse_future_date,
)


async def _check_partner(
    session: AsyncSession, workspace_id: uuid.UUID, contact_id: uuid.UUID, partner_id: uuid.UUID
) -> None:
    if partner_id == contact_id:
        raise ValidationFailed.on(["body", "partner_id"], "a client cannot be their own partner")
    stmt = select(col(Contact.segment)).where(
        col(Contact.workspace_id) == workspace_id, col(Contact.id) == partner_id
    )
    segment = (await session.execute(stmt)).scalar_one_or_none()
    if segment is None:
        raise ValidationFailed.on(["body", "partner_id"], "no such contact in this workspace")
    if segment != "allied_resource":
        raise ValidationFailed.on(["body", "partner_id"], "the partner must be an allied resource")


async def add_service_record(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    contact_id: uuid.UUID,
    data: ServiceRecordCreate,
    *,
    at: datetime,
) -> ServiceRecordRead:
    await require_contact(session, workspace_id, contact_id)
    workspace = await get_workspace(session, workspace_id)
    what = "a service record's date"
    refuse_future_date(data.date, at, workspace.time_zone, ["body", "date"], what)
    await check_member(session, workspace_id, data.member_id, "member_id")
    if data.partner_id is not None:
        await _check_partner(session, workspace_id, contact_id, data.partner_id)
    values = data.model_dump(exclude={"ratings"})
    ratings = {f"rating_{k}": v for k, v in data.ratings.model_dump().items()}
    stmt = (
        insert(ServiceRecord)
        .values(
            workspace_id=workspace_id,
            id=uuid.uuid4(),
            contact_id=contact_id,
            created_at=at,
            **values,
            **ratings,
        )
        .returning(ServiceRecord)
    )
    record = (await session.execute(stmt)).scalar_one()
    return ServiceRecordRead.of(record)


async def list_service_records(
    session: AsyncSession, workspace_id: uuid.UUID, contact_id: uuid.UUID, page: PageRequest
) -> tuple[list[ServiceRecordRead], str | None]:
    """Newest first."""
    await require_contact(session, workspace_id, contact_id)
    stmt = select(ServiceRecord).where(
        col(ServiceRecord.workspace_id) == workspace_id, col(ServiceRecord.contact_id) == contact_id
    )
    rows, cursor = await keyset_page(
        session,
        stmt,
        keys=[col(ServiceRecord.date), col(ServiceRecord.id)],
        page=page,
        sort="service-records",
        descending=True,
    )
    return [ServiceRecordRead.of(r[0]) for r in rows], cursor


async def delete_service_record(
    session: AsyncSession, workspace_id: uuid.UUID, contact_id: uuid.UUID, record_id: uuid.UUID
) -> None:
    stmt = (
        delete(ServiceRecord)
        .where(
            col(ServiceRecord.workspace_id) == workspace_id,
            col(ServiceRecord.contact_id) == contact_id,
            col(ServiceRecord.id) == record_id,
        )
        .returning(col(ServiceRecord.id))
    )
    if (await session.execute(stmt)).first() is None:
        raise NotFound("service record not found")
