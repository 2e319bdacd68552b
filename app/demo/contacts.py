"""Demo contacts for ``make run``: a few of each segment with dates, history and an event.

Written through the services, so the demo shows what they produce (E.164 phones, events,
``last_engaged_at`` from inbound calls) and some contacts are already losing touch. The
contacts alternate between the leader and the agent (``make run`` prints the agent's
session), so the agent's agenda opens with something on it: an advocate lapsed and a core
advocate about to, a client's birthday in three days.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.demo.team import owners as team_owners
from app.models.contacts import (
    ActivityCreate,
    ContactCreate,
    ObservanceCreate,
    ParticipantsSet,
    RelationshipCreate,
    ServiceRecordCreate,
)
from app.services import contacts

# (first, last, segment, allied category, days since last inbound call or None, tags)
PEOPLE: tuple[tuple[str, str, str, str | None, int | None, list[str]], ...] = (
    ("Olivia", "Bennett", "prospect", None, None, ["open-house"]),
    ("Ethan", "Morales", "prospect", None, 12, ["web-lead"]),
    ("Sophia", "Kim", "client", None, 40, ["2024-buyer"]),
    ("James", "Walsh", "client", None, 130, ["2023-seller"]),
    ("Ava", "Thompson", "advocate", None, 20, ["vip"]),
    ("Lucas", "Novak", "advocate", None, 200, ["vip"]),
    ("Grace", "Adeyemi", "core_advocate", None, 5, ["vip", "golf"]),
    ("Henry", "Duval", "core_advocate", None, 80, ["vip"]),  # lapses in 10 days
    ("Rita", "Alvarez", "allied_resource", "lender", 15, ["partner"]),
    ("Tom", "Becker", "allied_resource", "inspector", 95, ["partner"]),
)


def _contact(n: int, person: tuple[Any, ...], owner: uuid.UUID | None) -> ContactCreate:
    first, last, segment, category, _days, tags = person
    return ContactCreate.model_validate(
        {
            "first_name": first,
            "last_name": last,
            "segment": segment,
            "allied_category": category,
            "emails": [{"address": f"{first.lower()}.{last.lower()}@example.com"}],
            "phones": [{"number": f"(415) 555-01{n:02d}"}],
            "time_zone": "America/Los_Angeles",
            "owner_id": owner,
            # Set by hand, as a team moving from another CRM would: the nightly suggestions
            # need a history of referrals the demo's advocates do not have.
            "advocacy_stage": segment if segment in ("advocate", "core_advocate") else None,
            "tags": tags,
            "consent": {"email": {"status": "granted", "source": "demo"}},
            "external_ids": {"demo": str(n)},
        }
    )


async def seed_contacts(session: AsyncSession, workspace_id: uuid.UUID, *, at: datetime) -> None:
    owners = await team_owners(session, workspace_id)  # the leader, then the agent
    ids: list[uuid.UUID] = []
    for n, person in enumerate(PEOPLE):
        owner = owners[n % len(owners)] if owners else None
        contact = await contacts.create_contact(
            session, workspace_id, _contact(n, person, owner), at=at
        )
        ids.append(contact.id)
        day = (at + timedelta(days=3)).date() if n == 3 else date(2000, n % 12 + 1, n * 3 % 28 + 1)
        birthday = ObservanceCreate(kind="birthday", month=day.month, day=day.day)
        await contacts.add_observance(session, workspace_id, contact.id, birthday, at=at)
        days = person[4]
        if days is not None:
            await contacts.log_interaction(
                session,
                workspace_id,
                contact.id,
                channel="call",
                direction="inbound",
                occurred_at=at - timedelta(days=days),
                summary="Caught up about the market",
                at=at,
            )
    spouse = RelationshipCreate(related_id=ids[3], type="spouse")
    await contacts.add_relationship(session, workspace_id, ids[2], spouse, at=at)
    sale = ServiceRecordCreate.model_validate(
        {
            "date": (at - timedelta(days=200)).date(),
            "service": "Home purchase",
            "value": Decimal("685000.00"),
            "partner_id": ids[8],
            "ratings": {"communication": 9, "quality": 9, "value": 8, "satisfaction": 10},
        }
    )
    await contacts.add_service_record(session, workspace_id, ids[2], sale, at=at)
    party = await contacts.create_activity(
        session,
        workspace_id,
        ActivityCreate(
            kind="client_party",
            name="Summer client appreciation party",
            date=date(at.year, 6, 20) if at.month > 6 else date(at.year - 1, 6, 20),
            cost=Decimal("1800.00"),
            audience="clients and advocates",
        ),
        at=at,
    )
    went = ParticipantsSet(contact_ids=[ids[4], ids[6], ids[7]], status="attended")
    await contacts.set_participants(session, workspace_id, party.id, went, at=at)
