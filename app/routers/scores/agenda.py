"""A member's agenda (and the signed-in member's), and snoozing or dismissing its items."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query, status

from app.deps import ClockDep, ReadAuth, SessionDep, WriteAuth
from app.errors import Forbidden, NotFound
from app.models.platform import IsoDate
from app.models.scores.agenda import AgendaDecisionRead, AgendaDismiss, AgendaRead, AgendaSnooze
from app.problems import NOT_FOUND
from app.routers.platform import api_router
from app.services.platform import AuthContext
from app.services.scores import agenda, agenda_decisions

router = api_router("agenda")
MAX_ITEMS = 500

LimitQuery = Annotated[
    int, Query(ge=1, le=MAX_ITEMS, description="Items returned, highest value first.")
]
DayQuery = Annotated[
    IsoDate | None,
    Query(
        alias="date",
        description="The local day (the member's zone, else the workspace's); default: today.",
    ),
]


def _may_read(auth: AuthContext, member_id: uuid.UUID) -> None:
    """Whoever sees the whole team reads anyone's agenda; under ``own``, an agent reads
    their own (an assistant: also its agents')."""
    if not (auth.viewer.everything or auth.may_act_for(member_id)):
        raise Forbidden("under `own` visibility a member reads only their own agenda")


@router.get(
    "/members/{member_id}/agenda",
    operation_id="getMemberAgenda",
    summary="Get a member's agenda",
    responses=NOT_FOUND,
)
async def get_member_agenda(
    member_id: uuid.UUID,
    auth: ReadAuth,
    session: SessionDep,
    clock: ClockDep,
    day: DayQuery = None,
    limit: LimitQuery = 50,
) -> AgendaRead:
    """The day's tasks, follow-ups, reconnects, birthdays, rewards to approve (admins)
    and referrers to thank, ranked by the referral value each action protects or creates
    (docs/SCORES.md). Snoozed and dismissed items are left out."""
    _may_read(auth, member_id)
    return await agenda.build_agenda(
        session, auth.workspace_id, member_id, day, at=clock.now(), limit=limit
    )


@router.get(
    "/me/agenda",
    operation_id="getMyAgenda",
    summary="Get my agenda",
    responses=NOT_FOUND,
)
async def get_my_agenda(
    auth: ReadAuth,
    session: SessionDep,
    clock: ClockDep,
    day: DayQuery = None,
    limit: LimitQuery = 50,
) -> AgendaRead:
    """The signed-in member's agenda (a member token, or an API key bound to a member)."""
    if auth.member_id is None:
        raise NotFound("this credential acts for no member: use /v1/members/{id}/agenda")
    return await agenda.build_agenda(
        session, auth.workspace_id, auth.member_id, day, at=clock.now(), limit=limit
    )


@router.post(
    "/members/{member_id}/agenda/snoozes",
    operation_id="snoozeAgendaItem",
    summary="Snooze an agenda item",
    status_code=status.HTTP_201_CREATED,
    responses=NOT_FOUND,
)
async def snooze_agenda_item(
    member_id: uuid.UUID, body: AgendaSnooze, auth: WriteAuth, session: SessionDep, clock: ClockDep
) -> AgendaDecisionRead:
    """The item leaves the agenda until `until` (a local date after today)."""
    _may_read(auth, member_id)
    return await agenda_decisions.decide(
        session, auth.workspace_id, member_id, body, at=clock.now()
    )


@router.post(
    "/members/{member_id}/agenda/dismissals",
    operation_id="dismissAgendaItem",
    summary="Dismiss an agenda item",
    status_code=status.HTTP_201_CREATED,
    responses=NOT_FOUND,
)
async def dismiss_agenda_item(
    member_id: uuid.UUID, body: AgendaDismiss, auth: WriteAuth, session: SessionDep, clock: ClockDep
) -> AgendaDecisionRead:
    """The item leaves the agenda for good (this occurrence of it); the reason is kept
    and dismissals are counted by kind in the team report."""
    _may_read(auth, member_id)
    return await agenda_decisions.decide(
        session, auth.workspace_id, member_id, body, at=clock.now()
    )
