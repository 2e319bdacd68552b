"""Service records of a contact: what was done, its value and the client's ratings."""

from __future__ import annotations

import uuid

from fastapi import Response, status

from app.deps import ClockDep, PageDep, ReadAuth, SessionDep, WriteAuth
from app.models.contacts.service_records import ServiceRecordCreate, ServiceRecordRead
from app.models.platform import Page
from app.problems import NOT_FOUND
from app.routers.platform import api_router
from app.services.contacts import service_records

router = api_router("service-records")


@router.get(
    "/contacts/{contact_id}/service-records",
    operation_id="listServiceRecords",
    summary="List a contact's service records",
    responses=NOT_FOUND,
)
async def list_service_records(
    contact_id: uuid.UUID, auth: ReadAuth, session: SessionDep, page: PageDep
) -> Page[ServiceRecordRead]:
    """Newest first."""
    items, cursor = await service_records.list_service_records(
        session, auth.workspace_id, contact_id, page
    )
    return Page[ServiceRecordRead](data=items, next_cursor=cursor)


@router.post(
    "/contacts/{contact_id}/service-records",
    operation_id="createServiceRecord",
    summary="Record a service",
    status_code=status.HTTP_201_CREATED,
    responses=NOT_FOUND,
)
async def create_service_record(
    contact_id: uuid.UUID,
    body: ServiceRecordCreate,
    auth: WriteAuth,
    session: SessionDep,
    clock: ClockDep,
) -> ServiceRecordRead:
    """Ratings are 1-10; `partner_id` must be an allied-resource contact."""
    return await service_records.add_service_record(
        session, auth.workspace_id, contact_id, body, at=clock.now()
    )


@router.delete(
    "/contacts/{contact_id}/service-records/{record_id}",
    operation_id="deleteServiceRecord",
    summary="Remove a service record",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=NOT_FOUND,
)
async def delete_service_record(
    contact_id: uuid.UUID, record_id: uuid.UUID, auth: WriteAuth, session: SessionDep
) -> Response:
    await service_records.delete_service_record(session, auth.workspace_id, contact_id, record_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
