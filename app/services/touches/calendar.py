"""A member's calendar feed: upcoming touches and their contacts' yearly dates, as iCalendar.

Calendar apps cannot send an ``Authorization`` header, so the feed takes a per-member
read-only token in its URL. Like API keys it carries 256 random bits and is stored only
as a SHA-256 digest; its ``rcal_<workspace hex>_`` prefix routes the lookup to one
workspace, so it is found by ``(workspace_id, hash)`` through the unique index. Issuing
a new token replaces the old one (a leaked feed URL is revoked by re-issuing).
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from icalendar import Calendar, Event
from sqlalchemy import and_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.errors import NotFound, Unauthenticated
from app.models.contacts import Contact, Observance
from app.models.platform import Member
from app.models.touches.tables import CalendarToken, Touch
from app.services.platform import digest
from app.services.touches.render import display_name
from app.services.touches.timing import observance_date

TOKEN_PREFIX = "rcal_"  # noqa: S105  (a prefix, not a secret)
_TOKEN_RE = re.compile(r"^rcal_([0-9a-f]{32})_([A-Za-z0-9_-]{43})$")
PAST_DAYS = 7  # open tasks from the last week stay visible
AHEAD_DAYS = 90
MAX_TOUCHES = 2000
TOUCH_MINUTES = 15


@dataclass(frozen=True)
class FeedEntry:
    """A dated item another domain adds to a member's feed: an all-day entry on ``day``."""

    uid: str
    day: date
    summary: str
    description: str
    categories: tuple[str, ...]


#: ``(session, workspace_id, member_id, at)`` → the member's entries from another domain.
FeedSource = Callable[[AsyncSession, uuid.UUID, uuid.UUID, datetime], Awaitable[list[FeedEntry]]]
_SOURCES: list[FeedSource] = []


def add_feed_source(source: FeedSource) -> None:
    """Let a domain above touches put its dated items in members' feeds (the agenda's
    follow-ups, reconnects, rewards and thanks) without touches importing it."""
    if source not in _SOURCES:
        _SOURCES.append(source)


async def issue_token(
    session: AsyncSession, workspace_id: uuid.UUID, member_id: uuid.UUID, *, at: datetime
) -> str:
    """A new feed token for the member (the previous one stops working); shown once."""
    found = await session.execute(
        select(col(Member.id)).where(
            col(Member.workspace_id) == workspace_id, col(Member.id) == member_id
        )
    )
    if found.first() is None:
        raise NotFound("member not found")
    token = f"{TOKEN_PREFIX}{workspace_id.hex}_{secrets.token_urlsafe(32)}"
    stmt = insert(CalendarToken).values(
        workspace_id=workspace_id, member_id=member_id, token_hash=digest(token), created_at=at
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[col(CalendarToken.workspace_id), col(CalendarToken.member_id)],
        set_={"token_hash": stmt.excluded.token_hash, "created_at": at},
    )
    await session.execute(stmt)
    return token


async def member_for_token(session: AsyncSession, token: str) -> tuple[uuid.UUID, uuid.UUID]:
    match = _TOKEN_RE.match(token)
    if match is None:
        raise Unauthenticated("not a calendar feed token")
    workspace_id = uuid.UUID(match.group(1))
    stmt = select(col(CalendarToken.member_id)).where(
        col(CalendarToken.workspace_id) == workspace_id,
        col(CalendarToken.token_hash) == digest(token),
    )
    member_id = (await session.execute(stmt)).scalar_one_or_none()
    if member_id is None:
        raise Unauthenticated("unknown or replaced calendar feed token")
    return workspace_id, member_id


def _touch_event(row: Any, name: str, now: datetime) -> Event:
    event = Event()
    event.add("uid", f"touch-{row.id}@rapport")
    event.add("dtstamp", now)
    event.add("dtstart", row.due_at)
    event.add("dtend", row.due_at + timedelta(minutes=TOUCH_MINUTES))
    what = row.subject or row.content_kind.replace("_", " ")
    event.add("summary", f"{row.channel}: {what} ({name})")
    event.add("description", f"Touch {row.id}, {row.status}.")
    event.add("categories", ["touch", row.channel])
    return event


def _observance_event(row: Any, name: str, day: date, now: datetime) -> Event:
    event = Event()
    event.add("uid", f"observance-{row.id}-{day.year}@rapport")
    event.add("dtstamp", now)
    event.add("dtstart", day)
    event.add("dtend", day + timedelta(days=1))
    event.add("summary", f"{name}: {row.label or row.kind.replace('_', ' ')}")
    event.add("categories", ["observance", row.kind])
    event.add("transp", "TRANSPARENT")
    return event


async def feed(session: AsyncSession, token: str, *, at: datetime) -> bytes:
    workspace_id, member_id = await member_for_token(session, token)
    cal = Calendar()
    cal.add("prodid", "-//Rapport//touch calendar//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", "Rapport touches")
    contact_join = and_(
        col(Contact.workspace_id) == col(Touch.workspace_id),
        col(Contact.id) == col(Touch.contact_id),
    )
    touches = await session.execute(
        select(
            col(Touch.id),
            col(Touch.channel),
            col(Touch.subject),
            col(Touch.content_kind),
            col(Touch.due_at),
            col(Touch.status),
            col(Contact.first_name),
            col(Contact.last_name),
            col(Contact.company_name),
            col(Contact.company),
        )
        .join(Contact, contact_join)
        .where(
            col(Touch.workspace_id) == workspace_id,
            col(Touch.assignee_id) == member_id,
            col(Touch.status).in_(["scheduled", "due"]),
            col(Touch.due_at) >= at - timedelta(days=PAST_DAYS),
            col(Touch.due_at) < at + timedelta(days=AHEAD_DAYS),
        )
        .order_by(col(Touch.due_at))
        .limit(MAX_TOUCHES)
    )
    for row in touches:
        cal.add_component(_touch_event(row, display_name(row._mapping), at))
    observances = await session.execute(
        select(
            col(Observance.id),
            col(Observance.kind),
            col(Observance.label),
            col(Observance.month),
            col(Observance.day),
            col(Contact.first_name),
            col(Contact.last_name),
            col(Contact.company_name),
            col(Contact.company),
        )
        .join(
            Contact,
            and_(
                col(Contact.workspace_id) == col(Observance.workspace_id),
                col(Contact.id) == col(Observance.contact_id),
            ),
        )
        .where(col(Observance.workspace_id) == workspace_id, col(Contact.owner_id) == member_id)
    )
    today, until = at.date(), at.date() + timedelta(days=365)
    for obs in observances:
        for year in (today.year, today.year + 1):
            day = observance_date(obs.month, obs.day, year)
            if today <= day < until:
                cal.add_component(_observance_event(obs, display_name(obs._mapping), day, at))
    for source in _SOURCES:
        for entry in await source(session, workspace_id, member_id, at):
            cal.add_component(_entry_event(entry, at))
    return bytes(cal.to_ical())


def _entry_event(entry: FeedEntry, now: datetime) -> Event:
    event = Event()
    event.add("uid", entry.uid)
    event.add("dtstamp", now)
    event.add("dtstart", entry.day)
    event.add("dtend", entry.day + timedelta(days=1))
    event.add("summary", entry.summary)
    event.add("description", entry.description)
    event.add("categories", list(entry.categories))
    event.add("transp", "TRANSPARENT")
    return event
