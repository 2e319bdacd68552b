"""Advocacy stages (suggested, or set by hand) and the contacts losing touch."""

from __future__ import annotations

import uuid

from fastapi import Query

from app.deps import ClockDep, PageDep, ReadAuth, SessionDep, WriteAuth
from app.models.platform import Page
from app.models.scores.schemas import (
    AdvocacyRead,
    AdvocacySet,
    AdvocacyStageChangeRead,
    LosingTouchItem,
)
from app.problems import NOT_FOUND
from app.routers.platform import api_router, as_is, page_of
from app.services.scores import advocacy_manual, lapses

router = api_router("advocacy")


@router.get(
    "/contacts/{contact_id}/advocacy",
    operation_id="getContactAdvocacy",
    summary="Get a contact's advocacy stage",
    responses=NOT_FOUND,
)
async def get_contact_advocacy(
    contact_id: uuid.UUID, auth: ReadAuth, session: SessionDep, clock: ClockDep
) -> AdvocacyRead:
    """The stage in effect, what the rules suggest today and the facts behind it."""
    return await advocacy_manual.get_advocacy(
        session, auth.workspace_id, contact_id, at=clock.now()
    )


@router.put(
    "/contacts/{contact_id}/advocacy",
    operation_id="setContactAdvocacy",
    summary="Set a contact's advocacy stage",
    responses=NOT_FOUND,
)
async def set_contact_advocacy(
    contact_id: uuid.UUID, body: AdvocacySet, auth: WriteAuth, session: SessionDep, clock: ClockDep
) -> AdvocacyRead:
    """Set the stage by hand; suggestions leave it alone until the override is cleared."""
    return await advocacy_manual.set_manual_stage(
        session, auth.workspace_id, contact_id, body.stage, at=clock.now()
    )


@router.delete(
    "/contacts/{contact_id}/advocacy/override",
    operation_id="clearContactAdvocacyOverride",
    summary="Clear an advocacy override",
    responses=NOT_FOUND,
)
async def clear_contact_advocacy_override(
    contact_id: uuid.UUID, auth: WriteAuth, session: SessionDep, clock: ClockDep
) -> AdvocacyRead:
    """Hand the stage back to the rules; today's suggestion applies at once."""
    return await advocacy_manual.clear_override(
        session, auth.workspace_id, contact_id, at=clock.now()
    )


@router.get(
    "/contacts/{contact_id}/advocacy/history",
    operation_id="listContactAdvocacyHistory",
    summary="List a contact's advocacy stage changes",
    responses=NOT_FOUND,
)
async def list_contact_advocacy_history(
    contact_id: uuid.UUID, auth: ReadAuth, session: SessionDep, page: PageDep
) -> Page[AdvocacyStageChangeRead]:
    """Every stage change, oldest first, suggested or manual."""
    items, cursor = await advocacy_manual.stage_history(
        session, auth.workspace_id, contact_id, page
    )
    return page_of(items, cursor, as_is)


@router.get(
    "/analytics/losing-touch", operation_id="listLosingTouch", summary="List contacts losing touch"
)
async def list_losing_touch(
    auth: ReadAuth,
    session: SessionDep,
    page: PageDep,
    clock: ClockDep,
    lapsed: bool | None = Query(
        default=None, description="Only lapsed (at-risk) contacts, or only those not lapsed."
    ),
) -> Page[LosingTouchItem]:
    """Contacts by time since their last engagement, longest first (never engaged first)."""
    items, cursor = await lapses.losing_touch(
        session, auth.workspace_id, page, at=clock.now(), lapsed=lapsed
    )
    return page_of(items, cursor, as_is)
