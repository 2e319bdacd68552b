"""A browser's file input: ``POST /v1/contacts/imports`` as ``multipart/form-data``."""

from __future__ import annotations

import httpx

from tests.conftest import Tenant

CSV = "first_name,last_name,email,segment\nAda,Form,ada@example.com,client\n"


async def test_a_file_sent_from_a_form_is_imported_like_the_raw_body(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    accepted = await client.post(
        "/v1/contacts/imports",
        files={"file": ("contacts.csv", CSV.encode(), "text/csv")},
        headers=tenant.headers,
    )
    assert accepted.status_code == 202, accepted.text
    job = (await client.get(accepted.headers["Location"], headers=tenant.headers)).json()
    assert job["status"] == "completed", job
    contacts = (await client.get("/v1/contacts", headers=tenant.headers)).json()["data"]
    assert [c["display_name"] for c in contacts] == ["Ada Form"]


async def test_a_jsonl_file_is_known_by_its_name_and_a_form_without_a_file_names_the_field(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    lines = b'{"first_name": "Lin", "segment": "prospect"}\n'
    accepted = await client.post(
        "/v1/contacts/imports",
        files={"file": ("people.jsonl", lines, "application/octet-stream")},
        headers=tenant.headers,
    )
    assert accepted.status_code == 202, accepted.text
    empty = await client.post(
        "/v1/contacts/imports", files={"other": ("x.csv", b"a\n")}, headers=tenant.headers
    )
    assert empty.status_code == 422
    assert empty.json()["errors"][0]["loc"] == ["body", "file"]
