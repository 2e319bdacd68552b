"""An imported contact's ``contact.created`` event is ``ContactRead``'s JSON of its row,
though the import builds it without validating the row into ``ContactRead`` again."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text

from app.db import Database
from app.models.contact_schemas import ContactRead
from app.services.contact_rows import DEFAULT_ROW, derive, to_read
from app.services.contacts_import_events import KNOWN, created_json, record
from app.services.contacts_import_parse import RawRow, read_rows
from app.services.contacts_import_prepare import validate_row
from app.services.contacts_import_rows import Row, json_text
from app.services.events import record_events
from tests.conftest import T0, Tenant

OWNER = uuid.UUID("6f1c1a8e-8a43-4f43-9d3e-3f1d7f0e8a11")
BODIES: list[dict[str, Any]] = [
    {"first_name": "Maria"},
    {
        "first_name": "Maria",
        "last_name": "Lopez",
        "company": "Lopez & Co",
        "job_title": "Broker",
        "emails": [
            {"address": "maria@example.com", "type": "work"},
            {"address": "m@home.example", "type": "home", "primary": True},
        ],
        "phones": [{"number": "(415) 555-0123"}, {"number": "+44 20 7946 0958", "type": "work"}],
        "address": {"city": "Oakland", "country": "us", "postal_code": " 94612 "},
        "time_zone": "America/Los_Angeles",
        "locale": "en-US",
        "owner_id": str(OWNER),
        "segment": "client",
        "advocacy_stage": "advocate",
        "family": [
            {"name": "Ana", "relation": "daughter", "birthday": "2015-04-01"},
            {"name": "Luis", "relation": "spouse"},
        ],
        "interests": ["golf", "golf", "wine"],
        "tags": ["vip", " newsletter "],
        "custom_fields": {
            "score": 1234567890123456789,
            "ratio": 0.25,
            "nested": {"a": [1, None]},
            "x": None,
        },
        "consent": {
            "email": {"status": "granted"},
            "sms": {"status": "denied", "at": "2026-01-02T03:04:05+02:00", "source": "call"},
            "mail": {"status": "granted", "at": "2026-01-02T03:04:05.123456Z"},
        },
        "do_not_contact": True,
        "external_ids": {"crm": "C1", "hubspot": " 51 "},
    },
    {"kind": "business", "company_name": "Acme", "address": {}},
    {"kind": "business", "company_name": "Acme", "first_name": "Dana", "address": None},
    {"last_name": "Banks", "segment": "allied_resource", "allied_category": "Lender"},
    {"first_name": "Ext", "phones": [{"number": "415 555 0199 ext. 12", "type": "home"}]},
]
CSV = (
    "first_name,last_name,email,phone,company,tags,segment,address.city,consent.email,"
    "external_id.crm,lead_source\n"
    "Maria,Lopez,maria.lopez0@example.com,(415) 555-0123,Lopez & Co,vip;newsletter,client,"
    "Oakland,granted,C0000000,web\n"
)


def _new_row(row: Row) -> dict[str, Any]:
    """The row as ``_insert_new`` stores it."""
    at = T0 + timedelta(microseconds=250)
    stored = {"version": 1, "last_engaged_at": None, "lapsed_at": None, **row.new_row(at)}
    return {**stored, "id": uuid.uuid4(), "created_at": at, "updated_at": at}


def _rows() -> list[Row]:
    raws = [RawRow(n, body) for n, body in enumerate(BODIES, start=2)]
    rows = [validate_row(raw) for raw in [*raws, *read_rows(CSV.encode(), "csv")]]
    assert all(isinstance(r, Row) for r in rows), rows
    return [r for r in rows if isinstance(r, Row)]


@pytest.mark.parametrize("index", range(len(BODIES) + 1))
def test_the_created_event_is_the_contact_as_the_api_reads_it(index: int) -> None:
    row = _rows()[index]
    stored = _new_row(row)
    expected = to_read(stored, dict(row.keys)).model_dump(mode="json")
    assert created_json(stored, dict(row.keys)) == expected


def test_every_field_of_the_read_model_is_built() -> None:
    assert set(ContactRead.model_fields) == KNOWN


def test_events_do_not_share_their_consent() -> None:
    row = _rows()[1]
    first, second = created_json(_new_row(row), {}), created_json(_new_row(row), {})
    first["consent"]["email"]["status"] = "denied"
    assert second["consent"]["email"]["status"] == "granted"


def test_phone_forms_known_from_validation_derive_what_parsing_derives() -> None:
    row = _rows()[1]
    assert row.forms  # parsed in validation, kept with the row
    fresh = derive({**DEFAULT_ROW, **row.given, "phones": list(row.given["phones"])})
    assert row.created["phone_search"] == fresh["phone_search"]


async def test_events_recorded_by_the_import_store_what_record_events_stores(
    db: Database, tenant: Tenant
) -> None:
    data = {
        "name": 'Zoë \u2603 "quoted"',
        "big": 2**70,
        "ratio": 0.1,
        "nested": {"a": [1, None, True]},
    }
    async with db.transaction() as session:
        await record(session, tenant.id, [("contact.created", json_text(data))], at=T0)
        await record_events(session, tenant.id, [("contact.created", data)], at=T0)
        stored = await session.execute(
            text("SELECT data FROM events WHERE workspace_id = :ws ORDER BY id"), {"ws": tenant.id}
        )
        mine, theirs = stored.scalars().all()
    assert mine == theirs == data
