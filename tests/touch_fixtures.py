"""Helpers for the touch tests: contacts and members written straight to the tables.

The touch tests must not depend on the contacts API's validation rules, only on the
columns the scheduler reads, so contacts are inserted directly.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.models.contacts.tables import Contact, Observance
from app.models.platform.member import Member
from app.models.platform.workspace import Workspace

ALL_CONSENT = {c: {"status": "granted"} for c in ("email", "sms", "call", "mail")}


def daytime_zone(now: datetime) -> str:
    """A fixed-offset IANA zone where ``now`` reads around noon: for tests whose clock
    starts at the real time (webhook receivers check signatures against it), so an
    automated touch is inside the default 09:00-20:00 send window whenever they run."""
    offset = (12 - now.astimezone(UTC).hour + 12) % 24 - 12  # -12 .. 11 hours
    return "Etc/UTC" if offset == 0 else f"Etc/GMT{-offset:+d}"


async def add_contact(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    *,
    at: datetime,
    first_name: str = "Pat",
    last_name: str = "Lee",
    email: str | None = "pat@example.com",
    phone: str | None = "+14155550100",
    consent: dict[str, Any] | None = None,
    **extra: Any,
) -> Contact:
    contact = Contact(
        workspace_id=workspace_id,
        first_name=first_name,
        last_name=last_name,
        sort_name=f"{last_name} {first_name}",
        primary_email=email,
        primary_phone=phone,
        emails=[{"address": email, "primary": True}] if email else [],
        phones=[{"number": phone, "primary": True}] if phone else [],
        consent=ALL_CONSENT if consent is None else consent,
        created_at=at,
        updated_at=at,
        **extra,
    )
    session.add(contact)
    await session.flush()
    return contact


async def add_member(
    session: AsyncSession, workspace_id: uuid.UUID, *, at: datetime, name: str = "Dana"
) -> Member:
    member = Member(
        workspace_id=workspace_id,
        name=name,
        email=f"{name.lower()}-{uuid.uuid4().hex[:6]}@example.com",
        created_at=at,
        updated_at=at,
    )
    session.add(member)
    await session.flush()
    return member


async def add_default_sender(
    session: AsyncSession, workspace_id: uuid.UUID, *, at: datetime, name: str = "Dana"
) -> Member:
    """A member who signs the touches of contacts without an owner (the built-in plans'
    templates name the member, so they enrol only contacts someone signs for)."""
    member = await add_member(session, workspace_id, at=at, name=name)
    workspace = await session.get(Workspace, workspace_id)
    assert workspace is not None
    workspace.default_sender_member_id = member.id
    await session.flush()
    return member


async def add_observance(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    contact_id: uuid.UUID,
    *,
    kind: str,
    month: int,
    day: int,
    at: datetime,
) -> None:
    session.add(
        Observance(
            workspace_id=workspace_id,
            contact_id=contact_id,
            kind=kind,
            month=month,
            day=day,
            created_at=at,
        )
    )
    await session.flush()
