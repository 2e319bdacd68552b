"""Contacts: the people and businesses of the inner circle."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Annotated

from fastapi import Depends, Path, Response, status
from pydantic import BaseModel, Field

from app.deps import ClockDep, IfMatchDep, PageDep, ReadAuth, SessionDep, WriteAuth, query_model
from app.models.contacts.inputs import ContactCreate, ContactUpdate, ContactUpsert
from app.models.contacts.reads import ContactRead, DuplicateGroup, MergeRequest
from app.models.contacts.tables import AdvocacyStage, Segment
from app.models.platform import AwareTime, Page
from app.problems import CONFLICT, NOT_FOUND, PRECONDITION
from app.routers.platform import (
    CREATED_AT,
    LOCATED,
    api_router,
    checks_visibility,
    json_response,
    page_response,
    set_etag,
)
from app.services.contacts import creation, upsert
from app.services.contacts import duplicates as contacts_duplicates
from app.services.contacts import people as contacts
from app.services.contacts.documents import ContactDocument
from app.services.contacts.merging import fold as contacts_merge
from app.services.contacts.query import ConsentChannel, ContactFilters, ContactSort, list_contacts
from app.services.platform import DEFAULT_LIMIT, MAX_LIMIT, PageRequest

router = api_router("contacts")


class ContactListQuery(BaseModel):
    """The query of ``GET /v1/contacts``: page, filters and sort, validated in one call
    (``query_model``). Fields are in the order FastAPI used to validate them, so a
    request with several bad values lists the errors in the same order."""

    limit: int = Field(
        DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description=f"Page size, at most {MAX_LIMIT}."
    )
    cursor: str | None = Field(
        None,
        max_length=1024,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="The `next_cursor` of the previous page, unchanged.",
    )
    segment: Segment | None = None
    tags_any: list[str] = Field(
        [], max_length=50, description="Contacts with at least one of these tags."
    )
    tags_all: list[str] = Field(
        [], max_length=50, description="Contacts with every one of these tags."
    )
    owner_id: uuid.UUID | None = None
    advocacy_stage: AdvocacyStage | None = None
    allied_category: str | None = Field(None, max_length=64)
    consent: ConsentChannel | None = Field(
        None, description="Only contacts who granted this channel."
    )
    do_not_contact: bool | None = None
    q: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="Prefix search on name, company, e-mail and phone digits.",
    )
    engaged_before: AwareTime | None = Field(
        None, description="Last engaged before this time, or never: the losing-touch view."
    )
    engaged_after: AwareTime | None = Field(None, description="Last engaged at or after this time.")
    updated_since: AwareTime | None = None
    lapsed: bool | None = Field(
        None,
        description="`true`: contacts the nightly recompute marked lapsed (no engagement "
        "for longer than the workspace's lapse threshold); `false`: the others.",
    )
    sort: ContactSort = Field(
        "name", description="`name`, `created` or `last_engaged`; `-` for descending."
    )

    def page(self) -> PageRequest:
        return PageRequest(limit=self.limit, cursor=self.cursor)

    def filters(self) -> ContactFilters:
        return ContactFilters(
            **self.model_dump(exclude={"limit", "cursor", "sort"}, round_trip=True)
        )


_FILTER_FIELDS = [f.name for f in dataclasses.fields(ContactFilters)]
contact_list_query, LIST_PARAMETERS = query_model(
    ContactListQuery, ["sort", "limit", "cursor", *_FILTER_FIELDS]
)
ListQueryDep = Annotated[ContactListQuery, Depends(contact_list_query)]


SourcePath = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]
ExternalIdPath = Annotated[str, Path(min_length=1, max_length=255)]


@router.get(
    "/contacts",
    operation_id="listContacts",
    summary="List contacts",
    openapi_extra={"parameters": LIST_PARAMETERS},
    response_model=Page[ContactRead],
)
async def list_contacts_route(auth: ReadAuth, session: SessionDep, query: ListQueryDep) -> Response:
    documents, cursor = await list_contacts(
        session, auth.workspace_id, query.page(), query.filters(), sort=query.sort
    )
    return page_response(documents, cursor)


@router.post(
    "/contacts",
    operation_id="createContact",
    summary="Create a contact",
    status_code=status.HTTP_201_CREATED,
    responses={**CONFLICT, **CREATED_AT},
    response_model=ContactRead,
)
async def create_contact(
    body: ContactCreate, auth: WriteAuth, session: SessionDep, clock: ClockDep
) -> Response:
    """Create a contact; an external id already held by another contact is a 409."""
    contact = await creation.create_contact(session, auth.workspace_id, body, at=clock.now())
    return _document_response(contact, status.HTTP_201_CREATED)


def _document_response(contact: ContactDocument, status_code: int) -> Response:
    response = json_response(contact.json)
    response.status_code = status_code
    set_etag(response, contact.version)
    response.headers["Location"] = f"/v1/contacts/{contact.id}"
    return response


@router.get(
    "/contacts/duplicates",
    operation_id="listContactDuplicates",
    summary="List likely duplicate contacts",
)
async def list_duplicates(
    auth: ReadAuth, session: SessionDep, page: PageDep
) -> Page[DuplicateGroup]:
    """Groups of contacts sharing an e-mail address, a phone number, or a name or one that
    sounds alike (`similar_name`: "Jon Smith" and "John Smyth")."""
    items, cursor = await contacts_duplicates.find_duplicates(session, auth.workspace_id, page)
    return Page[DuplicateGroup](data=items, next_cursor=cursor)


@router.put(
    "/contacts/by-external-id/{source}/{external_id}",
    operation_id="upsertContactByExternalId",
    summary="Create or update a contact by external id",
    responses={
        200: LOCATED,
        201: {"model": ContactRead, "description": "Created", **LOCATED},
        **CONFLICT,
    },
    response_model=ContactRead,
)
async def upsert_contact(
    source: SourcePath,
    external_id: ExternalIdPath,
    body: ContactUpsert,
    auth: WriteAuth,
    session: SessionDep,
    clock: ClockDep,
) -> Response:
    """Create (201) or update (200) the contact another system knows by this id.

    Safe to repeat and to race: concurrent calls for one id end with one contact. On
    update only the fields sent change.
    """
    contact, created = await upsert.upsert_by_external_id(
        session, auth.workspace_id, source, external_id, body, at=clock.now()
    )
    return _document_response(contact, status.HTTP_201_CREATED if created else status.HTTP_200_OK)


@router.get(
    "/contacts/{contact_id}",
    operation_id="getContact",
    summary="Get a contact",
    responses=NOT_FOUND,
    response_model=ContactRead,
)
@checks_visibility
async def get_contact(contact_id: uuid.UUID, auth: ReadAuth, session: SessionDep) -> Response:
    contact = await contacts.get_contact(session, auth.workspace_id, contact_id)
    response = json_response(contact.json)
    set_etag(response, contact.version)
    return response


@router.patch(
    "/contacts/{contact_id}",
    operation_id="updateContact",
    summary="Change a contact",
    responses={**NOT_FOUND, **CONFLICT, **PRECONDITION},
)
async def update_contact(
    contact_id: uuid.UUID,
    body: ContactUpdate,
    auth: WriteAuth,
    session: SessionDep,
    clock: ClockDep,
    expected: IfMatchDep,
    response: Response,
) -> ContactRead:
    """Change the fields sent; send `If-Match` with the ETag you read to avoid lost updates."""
    contact = await contacts.update_contact(
        session, auth.workspace_id, contact_id, body, expected_version=expected, at=clock.now()
    )
    set_etag(response, contact.version)
    return contact


@router.delete(
    "/contacts/{contact_id}",
    operation_id="deleteContact",
    summary="Erase a contact",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=NOT_FOUND,
)
async def delete_contact(
    contact_id: uuid.UUID, auth: WriteAuth, session: SessionDep, clock: ClockDep
) -> Response:
    """Erase the contact and everything recorded about them (a right-to-erasure request)."""
    await contacts.delete_contact(session, auth.workspace_id, contact_id, at=clock.now())
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/contacts/{contact_id}/merge",
    operation_id="mergeContact",
    summary="Merge a contact into another",
    responses={**NOT_FOUND, **CONFLICT},
)
async def merge_contact(
    contact_id: uuid.UUID,
    body: MergeRequest,
    auth: WriteAuth,
    session: SessionDep,
    clock: ClockDep,
    response: Response,
) -> ContactRead:
    """Fold `other_id` into this contact: its history moves here, then it is deleted."""
    contact = await contacts_merge.merge_contacts(
        session, auth.workspace_id, contact_id, body.other_id, at=clock.now()
    )
    set_etag(response, contact.version)
    return contact
