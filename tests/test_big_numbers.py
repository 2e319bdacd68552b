"""Integers past 64 bits in a client's custom fields are kept exactly everywhere they go:
the API, the list, the export, the event and the webhook payload (orjson refuses them)."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import httpx

from app.json_codec import from_json, to_json
from app.services.webhooks.sender import payload_bytes
from tests.conftest import Tenant
from tests.contact_fixtures import new_contact

BIG = 123456789012345678901234567890
FIELDS = {"big": BIG, "negative": -(2**70), "small": 7, "text": "é"}


def test_the_codec_keeps_long_integers() -> None:
    assert from_json(to_json(FIELDS)) == FIELDS
    assert to_json({"a": 1}) == '{"a":1}'
    assert (
        json.loads(payload_bytes("contact.created", datetime(2026, 1, 1, tzinfo=UTC), FIELDS))[
            "data"
        ]
        == FIELDS
    )


async def test_a_long_integer_is_kept_by_every_read(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    contact = await new_contact(client, tenant, custom_fields=FIELDS)
    assert contact["custom_fields"] == FIELDS
    got = await client.get(f"/v1/contacts/{contact['id']}", headers=tenant.headers)
    assert got.json()["custom_fields"] == FIELDS
    listed = await client.get("/v1/contacts", headers=tenant.headers)
    assert listed.json()["data"][0]["custom_fields"] == FIELDS
    jsonl = await client.get(
        "/v1/contacts/export", params={"format": "jsonl"}, headers=tenant.headers
    )
    assert json.loads(jsonl.text.splitlines()[0])["custom_fields"] == FIELDS
    exported = await client.get(
        "/v1/contacts/export", params={"format": "csv"}, headers=tenant.headers
    )
    row = next(csv.DictReader(io.StringIO(exported.text)))
    assert json.loads(row["custom_fields"]) == FIELDS
    events = (await client.get("/v1/events", headers=tenant.headers)).json()["data"]
    created = next(e for e in events if e["type"] == "contact.created")
    assert created["data"]["custom_fields"] == FIELDS


async def test_a_long_integer_is_kept_by_an_import(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    """As a file of the CRM's gives it (JSON Lines), and as our own CSV export writes it
    (a JSON cell): the file's JSON is read as the API reads a body, not through orjson."""
    table = io.StringIO()
    csv.writer(table).writerows([["first_name", "custom_fields"], ["Bo", to_json(FIELDS)]])
    files = {
        "application/x-ndjson": to_json({"first_name": "Ann", "custom_fields": FIELDS}),
        "text/csv": table.getvalue(),
    }
    for media, body in files.items():
        accepted = await client.post(
            "/v1/contacts/imports",
            content=body.encode(),
            headers={**tenant.headers, "Content-Type": media},
        )
        assert accepted.status_code == 202, accepted.text
        job = (await client.get(accepted.headers["location"], headers=tenant.headers)).json()
        assert job["created_count"] == 1, job
    listed = await client.get("/v1/contacts", headers=tenant.headers)
    assert [c["custom_fields"] for c in listed.json()["data"]] == [FIELDS, FIELDS]
    events = (await client.get("/v1/events", headers=tenant.headers)).json()["data"]
    created = [e["data"]["custom_fields"] for e in events if e["type"] == "contact.created"]
    assert created == [FIELDS, FIELDS]
