"""Contacts read as PostgreSQL writes them (app.services.contacts.documents) are the documents
the pydantic model makes: the writes answer with the model, the reads with the SQL."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from sqlalchemy import select, text

from app.db import Database
from app.models.contacts.reads import ContactRead
from app.models.contacts.tables import Contact
from app.services.contacts.documents import DISPLAY_NAME, READ_JSON
from app.services.contacts.rows import READ_COLUMNS, display_name, to_read
from app.services.platform.json_sql import json_object
from tests.conftest import Tenant
from tests.contact_fixtures import new_contact, new_member

VARIED: list[dict[str, Any]] = [
    {},
    {"first_name": None, "last_name": "Okafor"},
    {"first_name": "Ünïcødé ✓", "last_name": 'Quote "and" \\ back\nslash'},
    {
        "kind": "business",
        "first_name": None,
        "last_name": None,
        "company_name": "Blue Lender LLC",
        "segment": "allied_resource",
        "allied_category": "lender",
    },
    {"kind": "business", "company_name": "Named Corp", "first_name": "Also", "last_name": "Person"},
    {
        "emails": [
            {"address": "b@example.com", "type": "work"},
            {"address": "a@example.com", "type": "home", "primary": True},
        ],
        "phones": [{"number": "+1 415 555 0100", "type": "mobile"}],
        "address": {"line1": "1 Main St", "city": "Oakland", "country": "US"},
        "family": [
            {"name": "Sam", "relation": "child", "birthday": "2016-02-29"},
            {"name": "Lee", "relation": "spouse"},
        ],
        "interests": ["golf", "wine"],
        "tags": ["vip", "2024"],
        "custom_fields": {"n": 12345678901234567890, "f": 0.1, "nested": {"z": [1, None, "x"]}},
        "consent": {
            "email": {"status": "granted", "at": "2026-03-01T10:00:00.250+02:00", "source": "form"},
            "sms": {"status": "denied"},
        },
        "do_not_contact": True,
        "time_zone": "America/Los_Angeles",
        "locale": "en-US",
        "company": "Acme",
        "job_title": "Broker",
        "advocacy_stage": "advocate",
        "external_ids": {"crm": "C-1", "hubspot": "77"},
    },
]


async def _varied(client: httpx.AsyncClient, tenant: Tenant) -> list[dict[str, Any]]:
    owner = await new_member(client, tenant, "owner@example.com")
    return [await new_contact(client, tenant, **v) for v in VARIED] + [
        await new_contact(client, tenant, owner_id=owner, segment="core_advocate")
    ]


async def test_a_read_contact_is_the_document_its_write_answered(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = await _varied(client, tenant)
    for contact in created:
        # The create's answer is the model's own form of itself.
        assert ContactRead.model_validate(contact).model_dump(mode="json") == contact
        read = await client.get(f"/v1/contacts/{contact['id']}", headers=tenant.headers)
        assert read.status_code == 200
        assert read.json() == contact
        assert read.headers["etag"] == f'"{contact["version"]}"'
        assert read.headers["content-type"] == "application/json"
    patched = await client.patch(
        f"/v1/contacts/{created[-2]['id']}",
        json={"tags": ["changed"], "address": None, "consent": {"mail": {"status": "granted"}}},
        headers=tenant.headers,
    )
    assert patched.status_code == 200, patched.text
    read = await client.get(f"/v1/contacts/{created[-2]['id']}", headers=tenant.headers)
    assert read.json() == patched.json()


async def test_a_page_of_contacts_holds_the_same_documents(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = {c["id"]: c for c in await _varied(client, tenant)}
    page = await client.get("/v1/contacts", params={"limit": 4}, headers=tenant.headers)
    rest = await client.get(
        "/v1/contacts",
        params={"limit": 50, "cursor": page.json()["next_cursor"]},
        headers=tenant.headers,
    )
    listed = page.json()["data"] + rest.json()["data"]
    assert rest.json()["next_cursor"] is None
    assert sorted(c["id"] for c in listed) == sorted(created)
    for contact in listed:
        assert contact == created[contact["id"]]
    empty = await client.get("/v1/contacts", params={"q": "nobody"}, headers=tenant.headers)
    assert empty.json() == {"data": [], "next_cursor": None}


async def test_consent_times_are_answered_in_utc(client: httpx.AsyncClient, tenant: Tenant) -> None:
    contact = await new_contact(
        client, tenant, consent={"email": {"status": "granted", "at": "2026-03-01T10:00:00+02:00"}}
    )
    assert contact["consent"]["email"]["at"] == "2026-03-01T08:00:00Z"


async def test_every_stored_row_reads_as_the_model_reads_it(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    """Rows from every write path (here: API, merge, upsert) against ``to_read``."""
    await _varied(client, tenant)
    first = await new_contact(client, tenant, emails=[{"address": "m@example.com"}])
    second = await new_contact(client, tenant, family=[{"name": "Kit", "relation": "parent"}])
    merged = await client.post(
        f"/v1/contacts/{first['id']}/merge", json={"other_id": second["id"]}, headers=tenant.headers
    )
    assert merged.status_code == 200, merged.text
    upsert = await client.put(
        "/v1/contacts/by-external-id/crm/X-9", json={"first_name": "Up"}, headers=tenant.headers
    )
    assert upsert.status_code == 201, upsert.text
    stmt = select(READ_JSON, *READ_COLUMNS).where(Contact.__table__.c.workspace_id == tenant.id)
    async with db.read_session() as session:
        rows = (await session.execute(stmt)).mappings().all()
    assert len(rows) == len(VARIED) + 3
    for row in rows:
        assert orjson.loads(row["document"]) == to_read(row).model_dump(mode="json")


_names = st.one_of(st.none(), st.just(""), st.text(max_size=8))


@settings(max_examples=150, deadline=None)
@given(kind=st.sampled_from(["person", "business"]), first=_names, last=_names, company=_names)
async def test_display_name_is_one_rule_in_python_and_sql(
    engine: Any, kind: str, first: str | None, last: str | None, company: str | None
) -> None:
    values = {"kind": kind, "first_name": first, "last_name": last, "company_name": company}
    if any("\x00" in (v or "") for v in values.values()):
        return  # PostgreSQL text cannot hold NUL; the API refuses it before
    stmt = select(DISPLAY_NAME).select_from(
        text(
            "(VALUES (CAST(:kind AS text), CAST(:first_name AS text), CAST(:last_name AS text),"
            " CAST(:company_name AS text))) AS contacts(kind, first_name, last_name, company_name)"
        )
    )
    async with engine.connect() as conn:
        assert (await conn.execute(stmt, values)).scalar_one() == display_name(values)


def test_a_type_the_sql_cannot_write_fails_when_built() -> None:
    class Odd(BaseModel):
        id: int
        amount: complex

    with pytest.raises(TypeError, match="amount"):
        json_object(Odd, Contact.__table__, {})  # type: ignore[arg-type]
