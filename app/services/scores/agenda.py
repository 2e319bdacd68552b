"""A member's agenda for one local day: every item from every domain, ranked by value.

The rules of what is due live in ``agenda_sql`` (one statement for all six kinds), what
an item is worth in ``agenda_value`` and how it reads in ``agenda_items``. This module
reads the workspace's parameters, runs the statements, drops what the member snoozed or
dismissed (``agenda_decisions``) and ranks: highest value first, ties by due time.

The member's day is read in their own time zone, else the workspace's (``time_zone_of``).
The figures behind the values are the team's (``agenda_figures``: a segment's referral
rate, the value per referral, the close rate, the usual time in stage, the touch lift),
kept per workspace for a few minutes; what each request reads is the member's own day.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.driver import fetch_rows
from app.errors import NotFound, ValidationFailed
from app.models.platform import Member, Workspace
from app.models.scores.agenda import AgendaRead
from app.services import analytics
from app.services.platform import get_workspace, text_binds
from app.services.scores.agenda_figures import NO_HISTORY, TeamFigures, team_figures
from app.services.scores.agenda_items import ItemBuilder, item_key
from app.services.scores.agenda_sql import DECISIONS, ITEMS
from app.services.scores.agenda_value import Relationship, relationship

#: Advocates enter the agenda this many days before they would lapse.
LAPSE_WARNING_DAYS = 14
#: Observances this many days ahead (today included) with no touch planned.
OBSERVANCE_DAYS = 7
#: Referrals received this recently wait for their thanks.
THANK_DAYS = 2
#: How far from today an agenda may be read (the past as it stood, the future as planned).
MAX_DAYS_AWAY = 366


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), zone).astimezone(UTC)
    return start, end


def _observance_window(day: date, zone: ZoneInfo) -> tuple[list[int], list[int], str]:
    """The month-day keys of the coming days, 29 February on the 28th of a common year."""
    rows: list[dict[str, Any]] = []
    for ahead in range(OBSERVANCE_DAYS):
        d = day + timedelta(days=ahead)
        at = datetime.combine(d, time(0), zone).astimezone(UTC).isoformat()
        mds = [d.month * 100 + d.day]
        leap = d.year % 4 == 0 and (d.year % 100 != 0 or d.year % 400 == 0)
        if (d.month, d.day) == (2, 28) and not leap:
            mds.append(229)
        rows += [{"md": md, "day": d.isoformat(), "day_at": at, "year": d.year} for md in mds]
    mds_all = sorted({int(r["md"]) for r in rows})
    return mds_all, sorted({md // 100 for md in mds_all}), json.dumps(rows)


def time_zone_of(member: Member, workspace: Workspace) -> str:
    """The zone a member's day is read in: their own, else the workspace's."""
    return member.time_zone or workspace.time_zone


async def _member(session: AsyncSession, workspace_id: uuid.UUID, member_id: uuid.UUID) -> Member:
    stmt = select(Member).where(
        col(Member.workspace_id) == workspace_id, col(Member.id) == member_id
    )
    member = (await session.execute(stmt)).scalar_one_or_none()
    if member is None:
        raise NotFound("member not found")
    return member


async def member_today(
    session: AsyncSession, workspace_id: uuid.UUID, member_id: uuid.UUID, at: datetime
) -> date:
    """Today in the member's zone (404 for a member not in the workspace)."""
    workspace = await get_workspace(session, workspace_id)
    member = await _member(session, workspace_id, member_id)
    return at.astimezone(ZoneInfo(time_zone_of(member, workspace))).date()


def _relationships(
    rows: Sequence[Any], team: TeamFigures
) -> tuple[dict[uuid.UUID, Any], dict[uuid.UUID, Relationship]]:
    """Each contact on the agenda (an item row carries who it is) and their ``V``."""
    contacts = {r["contact_id"]: r for r in rows if r["contact_id"] is not None}
    relationships = {}
    for contact_id, r in contacts.items():
        referrer = team.referrers.get(contact_id, NO_HISTORY)
        relationships[contact_id] = relationship(
            referrer.last_year,
            referrer.sent,
            referrer.closed_value,
            team.segment_contacts.get(r["segment"], 0),
            team.segment_referrals.get(r["segment"], 0),
            team.workspace,
        )
    return contacts, relationships


async def build_agenda(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    member_id: uuid.UUID,
    day: date | None,
    *,
    at: datetime,
    limit: int | None = None,
) -> AgendaRead:
    """The member's items due by the end of ``day`` (default: today in the member's zone,
    else the workspace's), highest value first, the first ``limit`` of them; nothing is
    written."""
    workspace = await get_workspace(session, workspace_id)
    member = await _member(session, workspace_id, member_id)
    zone_name = time_zone_of(member, workspace)
    zone = ZoneInfo(zone_name)
    today = at.astimezone(zone).date()
    day = day or today
    if abs((day - today).days) > MAX_DAYS_AWAY:
        raise ValidationFailed.on(
            ["query", "date"], f"a day within {MAX_DAYS_AWAY} days of today ({today})"
        )
    day_start, day_end = day_bounds(day, zone)
    # A past day is read as it stood at its end; today and later days as they stand now.
    now = min(at, day_end) if day <= at.astimezone(zone).date() else day_start
    currency = (await analytics.get_settings(session, workspace_id)).currency
    team = await team_figures(session, workspace, currency, day, at=now)
    mds, months, window = _observance_window(day, zone)
    threshold = workspace.lapse_threshold_days
    params: dict[str, Any] = {
        "ws": workspace_id,
        "member": member_id,
        "is_admin": member.role == "admin",
        "day_start": day_start,
        "day_end": day_end,
        "warn_before": day_end - timedelta(days=threshold - LAPSE_WARNING_DAYS),
        "threshold": threshold,
        "thank_since": day_end - timedelta(days=THANK_DAYS),
        "stall": team.stall_json,
        "cur": currency,
        "mds": mds,
        "months": months,
        "window": window,
        **text_binds(),
    }
    rows = await fetch_rows(session, ITEMS, params)
    rows = await _without_decided(session, workspace_id, member_id, rows, day)
    contacts, relationships = _relationships(rows, team)
    builder = ItemBuilder(
        member_id=member_id,
        at=now,
        day=day,
        lift=team.lift,
        currency=currency,
        threshold_days=threshold,
        workspace=team.workspace,
        contacts=contacts,
        relationships=relationships,
    )
    # Every candidate is valued and ranked; only the page returned is written out.
    ranked = sorted(
        ((builder.value(r), r) for r in rows),
        key=lambda vr: (-vr[0], vr[1]["due_at"], item_key(vr[1])),
    )
    shown = ranked if limit is None else ranked[:limit]
    return AgendaRead(
        member_id=member_id,
        date=day,
        time_zone=zone_name,
        currency=currency,
        touch_lift=team.lift,
        touch_lift_source=team.lift_source,
        total_items=len(ranked),
        items=[builder.build(r) for _, r in shown],
    )


async def _without_decided(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    member_id: uuid.UUID,
    rows: Sequence[Any],
    day: date,
) -> list[Any]:
    """Drop dismissed items, items snoozed past ``day``, and a thank-you task shown as
    its ``thank`` item (one item per thing to do)."""
    thanked = {r["ref_id"] for r in rows if r["kind"] == "thank" and r["ref_id"] is not None}
    kept = [r for r in rows if not (r["kind"] == "task" and r["record_id"] in thanked)]
    if not kept:
        return kept
    params = {"ws": workspace_id, "member": member_id, "keys": [item_key(r) for r in kept]}
    hidden = {
        d["item_key"]
        for d in await fetch_rows(session, DECISIONS, params)
        if d["decision"] == "dismissed" or (d["until"] is not None and d["until"] > day)
    }
    return [r for r in kept if item_key(r) not in hidden]
