"""An imported contact's ``contact.created`` event is ``ContactRead``'s JSON of its row,
though the import builds it without validating the row into ``ContactRead`` again."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy import text

from app.db import Database
from app.json_codec import to_json
from app.models.contacts.reads import ContactRead
from app.services.contacts.importing.events import (
    KNOWN,
    batch_times,
    consent_columns,
    created_event,
)
from app.services.contacts.importing.insert import ROW_COLUMNS
from app.services.contacts.importing.parse import RawRow, read_rows
from app.services.contacts.importing.prepare import validate_row
from app.services.contacts.importing.rows import WRITTEN, Row
from app.services.contacts.rows import DEFAULT_ROW, derive, stamp_consent, to_read
from app.services.platform.events import record_events, record_serialised_events
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


AT = T0 + timedelta(microseconds=250)


def _stored(row: Row, contact_id: uuid.UUID) -> dict[str, Any]:
    """The contact the row creates, derived here again from the columns it gives, as
    ``POST /v1/contacts`` derives a body's (``to_read`` of it is what the API answers)."""
    given, _forms = row.for_update()
    stamp_consent(given, at=AT)
    lists = {k: list(given[k]) for k in ("emails", "phones") if k in given}
    derived = derive({**DEFAULT_ROW, **given, **lists})
    unset = {"version": 1, "last_engaged_at": None, "lapsed_at": None}
    return {**derived, **unset, "id": contact_id, "created_at": AT, "updated_at": AT}


def _rows() -> list[Row]:
    raws = [RawRow(n, body) for n, body in enumerate(BODIES, start=2)]
    rows = [validate_row(raw) for raw in [*raws, *read_rows(CSV.encode(), "csv")]]
    assert all(isinstance(r, Row) for r in rows), rows
    return [r for r in rows if isinstance(r, Row)]


@pytest.mark.parametrize("index", range(len(BODIES) + 1))
def test_the_created_event_is_the_contact_as_the_api_reads_it(index: int) -> None:
    row, contact_id = _rows()[index], uuid.uuid4()
    expected = to_read(_stored(row, contact_id), dict(row.keys)).model_dump(mode="json")
    _consent, shown = consent_columns(row.consent, AT)
    event = orjson.loads(created_event(row.event, str(contact_id), batch_times(AT), shown, "job"))
    assert event.pop("import_id") == "job"
    assert event == expected


@pytest.mark.parametrize("index", range(len(BODIES) + 1))
def test_the_prepared_columns_are_those_of_the_contact(index: int) -> None:
    row = _rows()[index]
    stored = _stored(row, uuid.UUID(row.contact_id))
    consent, _shown = consent_columns(row.consent, AT)
    assert orjson.loads(consent) == stored["consent"]  # sent as stamped by the batch
    values = dict(zip(ROW_COLUMNS, orjson.loads(row.columns), strict=True))
    assert set(values) | {"consent"} == set(WRITTEN) | {"id"}
    for name, value in values.items():
        assert value == orjson.loads(to_json(stored[name])), name  # as JSON has it


def test_every_field_of_the_read_model_is_built() -> None:
    assert set(ContactRead.model_fields) == KNOWN


def test_phone_forms_known_from_validation_derive_what_parsing_derives() -> None:
    given, forms = _rows()[1].for_update()
    assert forms  # parsed in validation, kept with the row
    row = {**DEFAULT_ROW, **given}
    known = derive({**row, "phones": list(given["phones"])}, forms)
    parsed = derive({**row, "phones": list(given["phones"])})
    assert known["phone_search"] == parsed["phone_search"]


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
        await record_serialised_events(
            session, tenant.id, [("contact.created", to_json(data))], at=T0
        )
        await record_events(session, tenant.id, [("contact.created", data)], at=T0)
        stored = await session.execute(
            text("SELECT data FROM events WHERE workspace_id = :ws ORDER BY id"), {"ws": tenant.id}
        )
        mine, theirs = stored.scalars().all()
    assert mine == theirs == data
