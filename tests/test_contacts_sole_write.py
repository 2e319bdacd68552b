"""POST /v1/contacts commits its one statement on its own when that is the whole create
(``app.driver.fetch_sole_write``), and goes the transactional way when it is not: a plan
enrols the contact, it claims external ids, its owner is no member, or the request began
a transaction (an ``Idempotency-Key``). Both ways answer alike and leave the same rows.

On a committed database: the test database (``db``) shares one transaction, where no
statement can commit on its own.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text

from app.clock import FrozenClock
from app.db import Database, SealedSession
from app.main import create_app
from app.models.contacts.inputs import ContactCreate
from app.models.contacts.tables import Contact
from app.models.platform.event import Event
from app.models.touches.tables import Enrollment, Touch
from app.services.contacts import creation as contacts
from tests.conftest import T0, Tenant, make_settings, make_tenant
from tests.contact_fixtures import default_sender, locs, new_member, replica_clients

FULL: dict[str, Any] = {
    "first_name": "Maria",
    "last_name": "Lopez",
    "company": "Lopez & Co",
    "job_title": "Broker",
    "emails": [
        {"address": "maria@work.example", "type": "work"},
        {"address": "maria@home.example", "type": "home", "primary": True},
    ],
    "phones": [{"number": "(415) 555-0123"}, {"number": "+44 20 7946 0958", "type": "work"}],
    "address": {"line1": "1 Main St", "city": "Oakland", "region": "CA", "country": "us"},
    "time_zone": "America/Los_Angeles",
    "locale": "en-US",
    "segment": "client",
    "family": [{"name": "Ana", "relation": "child", "birthday": "2015-02-28"}],
    "interests": ["sailing"],
    "tags": ["vip"],
    "custom_fields": {"lead_source": "open house", "big": 12345678901234567890123},
    "consent": {"email": {"status": "granted", "at": "2026-01-02T03:04:05Z", "source": "form"}},
}


class Paths:
    """Which way each create went: the transactional statement counts its runs."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.transactional = 0
        original = contacts.fetch_written_row

        async def counted(*args: Any, **kwargs: Any) -> Any:
            if args[1] is contacts._CREATE:
                self.transactional += 1
            return await original(*args, **kwargs)

        monkeypatch.setattr(contacts, "fetch_written_row", counted)


@pytest.fixture
async def setup(
    committed_db: Database, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[httpx.AsyncClient, Tenant, Paths]]:
    tenant = await make_tenant(committed_db)
    app = create_app(make_settings(), database=committed_db, clock=FrozenClock(T0))
    paths = Paths(monkeypatch)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://rapport.test"
    ) as client:
        yield client, tenant, paths


async def _count(db: Database, model: Any, workspace_id: uuid.UUID) -> int:
    async with db.transaction() as session:
        found = await session.scalar(
            select(func.count()).select_from(model).where(model.workspace_id == workspace_id)
        )
    return int(found or 0)


def _without_id(document: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k != "id"}


async def test_a_plain_create_commits_alone_and_answers_as_the_transactional_way(
    setup: tuple[httpx.AsyncClient, Tenant, Paths], committed_db: Database
) -> None:
    client, tenant, paths = setup
    alone = await client.post("/v1/contacts", json=FULL, headers=tenant.headers)
    assert alone.status_code == 201, alone.text
    assert paths.transactional == 0
    keyed = {**tenant.headers, "Idempotency-Key": "one"}
    transactional = await client.post("/v1/contacts", json=FULL, headers=keyed)
    assert transactional.status_code == 201, transactional.text
    assert paths.transactional == 1
    assert _without_id(alone.json()) == _without_id(transactional.json())
    assert alone.headers["etag"] == transactional.headers["etag"] == '"1"'
    assert alone.headers["location"] == f"/v1/contacts/{alone.json()['id']}"
    read = await client.get(alone.headers["location"], headers=tenant.headers)
    assert read.json() == alone.json()
    async with committed_db.transaction() as session:
        data = await session.scalars(
            select(Event.data).where(
                Event.workspace_id == tenant.id, Event.type == "contact.created"
            )
        )
        created = sorted(d["id"] for d in data)
    assert created == sorted([alone.json()["id"], transactional.json()["id"]])


async def test_a_contact_a_plan_enrols_is_created_with_its_touches_in_a_transaction(
    setup: tuple[httpx.AsyncClient, Tenant, Paths], committed_db: Database
) -> None:
    client, tenant, paths = setup
    # The built-in "Advocate appreciation" plan is active for advocates; its templates name
    # the member, so it enrols them once the workspace has a default sender.
    await default_sender(client, tenant)
    response = await client.post(
        "/v1/contacts", json={"first_name": "Ada", "segment": "advocate"}, headers=tenant.headers
    )
    assert response.status_code == 201, response.text
    assert paths.transactional == 1
    assert await _count(committed_db, Contact, tenant.id) == 1
    assert await _count(committed_db, Enrollment, tenant.id) == 1
    assert await _count(committed_db, Touch, tenant.id) > 0
    prospect = await client.post(
        "/v1/contacts", json={"first_name": "Pat", "tags": ["8x8"]}, headers=tenant.headers
    )
    assert prospect.status_code == 201
    assert paths.transactional == 2  # the 8x8 plan enrols by tag
    plain = await client.post("/v1/contacts", json={"first_name": "Po"}, headers=tenant.headers)
    assert plain.status_code == 201
    assert paths.transactional == 2
    assert await _count(committed_db, Enrollment, tenant.id) == 2


async def test_an_owner_is_checked_either_way(
    setup: tuple[httpx.AsyncClient, Tenant, Paths], committed_db: Database
) -> None:
    client, tenant, paths = setup
    member = await new_member(client, tenant, "dana@acme.example")
    owned = await client.post(
        "/v1/contacts", json={"first_name": "A", "owner_id": member}, headers=tenant.headers
    )
    assert owned.status_code == 201, owned.text
    assert owned.json()["owner_id"] == member
    assert paths.transactional == 0
    stranger = str(uuid.uuid4())
    refused = await client.post(
        "/v1/contacts", json={"first_name": "B", "owner_id": stranger}, headers=tenant.headers
    )
    assert ["body", "owner_id"] in locs(refused)
    assert await _count(committed_db, Contact, tenant.id) == 1
    async with committed_db.transaction() as session:
        types = await session.scalars(select(Event.type).where(Event.workspace_id == tenant.id))
        assert [t for t in types if t.startswith("contact.")] == ["contact.created"]


async def test_an_external_id_another_contact_holds_is_409_and_nothing_is_kept(
    setup: tuple[httpx.AsyncClient, Tenant, Paths], committed_db: Database
) -> None:
    client, tenant, paths = setup
    body = {"first_name": "A", "external_ids": {"crm": "7", "erp": "x"}}
    first = await client.post("/v1/contacts", json=body, headers=tenant.headers)
    assert first.status_code == 201
    assert first.json()["external_ids"] == {"crm": "7", "erp": "x"}
    assert paths.transactional == 1  # claims may be refused: the transactional way
    second = await client.post(
        "/v1/contacts",
        json={"first_name": "B", "external_ids": {"crm": "8", "erp": "x"}},
        headers=tenant.headers,
    )
    assert second.status_code == 409, second.text
    assert "erp/x" in second.json()["detail"]
    assert "crm/8" not in second.json()["detail"]
    assert await _count(committed_db, Contact, tenant.id) == 1


async def test_concurrent_creates_of_one_external_id_make_one_contact(
    committed_db: Database,
) -> None:
    tenant = await make_tenant(committed_db)
    async with replica_clients(committed_db) as clients:
        for n in range(5):
            body = {"first_name": "Racer", "external_ids": {"crm": f"r{n}"}}
            responses = await asyncio.gather(
                *(c.post("/v1/contacts", json=body, headers=tenant.headers) for c in clients)
            )
            assert sorted(r.status_code for r in responses) == [201, 409], [
                r.text for r in responses
            ]
    assert await _count(committed_db, Contact, tenant.id) == 5


async def test_a_session_whose_sole_write_committed_refuses_another_statement(
    committed_db: Database,
) -> None:
    tenant = await make_tenant(committed_db)
    body = ContactCreate.model_validate({"first_name": "Solo"})
    for again in (
        lambda session: session.execute(text("SELECT 1")),
        # A second create cannot commit alone too: the driver's way is refused as well.
        lambda session: contacts.create_contact(session, tenant.id, body, at=T0),
    ):
        session = committed_db.sessionmaker()
        try:
            await contacts.create_contact(session, tenant.id, body, at=T0)
            assert not session.in_transaction()
            with pytest.raises(SealedSession):
                await again(session)
        finally:
            await session.rollback()
            await session.close()
    assert await _count(committed_db, Contact, tenant.id) == 2
