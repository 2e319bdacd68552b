"""Import (CSV, JSON Lines) with broken rows, upserts by external id, and export."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import httpx
import orjson
import pytest

from app.clock import FrozenClock
from app.services import contacts_export
from tests.conftest import Tenant
from tests.contact_fixtures import locs, new_contact, new_member

HEADER = (
    "first_name,last_name,email,phone,tags,segment,allied_category,"
    "address.city,consent.email,external_id.crm,favourite_colour\n"
)
CSV = (
    HEADER
    + """Maria,Lopez,maria@example.com,(415) 555-0123,vip;golf,client,,Oakland,granted,1,blue
Bad,Email,not-an-email,,,client,,,,2,
Lee,Banks,lee@lender.example,,,allied_resource,lender,,,3,
NoCategory,Partner,,,,allied_resource,,,,4,
"Multi
Line",Quoted,,,,prospect,,,,5,
,,,,,,,,,,
Wrong,Segment,,,,friend,,,,6,
"""
)


async def _import(
    client: httpx.AsyncClient, tenant: Tenant, body: str, media: str = "text/csv"
) -> httpx.Response:
    return await client.post(
        "/v1/contacts/imports",
        content=body.encode(),
        headers={**tenant.headers, "Content-Type": media},
    )


async def _by_crm(client: httpx.AsyncClient, tenant: Tenant) -> dict[str, dict[str, Any]]:
    response = await client.get("/v1/contacts", params={"limit": 200}, headers=tenant.headers)
    return {c["external_ids"].get("crm", c["id"]): c for c in response.json()["data"]}


async def test_csv_import_stores_good_rows_and_reports_bad_ones_by_line(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await _import(client, tenant, CSV)
    assert response.status_code == 201, response.text
    job = response.json()
    assert (job["status"], job["total_rows"], job["processed_rows"]) == ("completed", 6, 6)
    assert (job["created_count"], job["updated_count"], job["error_count"]) == (3, 0, 3)
    assert [(e["line"], e["errors"][0]["loc"]) for e in job["errors"]] == [
        (3, ["emails", 0, "address"]),
        (5, ["allied_category"]),
        (9, ["segment"]),
    ]
    stored = await _by_crm(client, tenant)
    assert sorted(stored) == ["1", "3", "5"]
    maria = stored["1"]
    assert maria["primary_email"] == "maria@example.com"
    assert maria["primary_phone"] == "+14155550123"
    assert maria["tags"] == ["vip", "golf"]
    assert maria["address"]["city"] == "Oakland"
    assert maria["consent"]["email"]["status"] == "granted"
    assert maria["custom_fields"] == {"favourite_colour": "blue"}
    assert stored["5"]["first_name"] == "Multi\nLine"
    again = await client.get(job_url := f"/v1/contacts/imports/{job['id']}", headers=tenant.headers)
    assert again.json() == job
    assert job_url == response.headers["location"]


async def test_rows_with_known_external_ids_update_only_the_cells_given(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    existing = await new_contact(client, tenant, job_title="Chef", external_ids={"crm": "1"})
    body = "external_id.crm,last_name,job_title\n1,Lopez-Garcia,\n1,,Head chef\n9,Newman,\n"
    job = (await _import(client, tenant, body)).json()
    assert (job["created_count"], job["updated_count"], job["error_count"]) == (1, 2, 0), job
    stored = await _by_crm(client, tenant)
    assert stored["1"]["id"] == existing["id"]
    assert stored["1"]["last_name"] == "Lopez-Garcia"
    assert stored["1"]["job_title"] == "Head chef"
    assert stored["9"]["last_name"] == "Newman"


async def test_repeated_new_external_id_creates_once_then_updates(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    rows = [
        {"first_name": "A", "external_ids": {"crm": "7"}},
        {"external_ids": {"crm": "7"}, "job_title": "CEO"},
    ]
    body = "\n".join(orjson.dumps(r).decode() for r in rows)
    job = (await _import(client, tenant, body, "application/x-ndjson")).json()
    assert (job["created_count"], job["updated_count"]) == (1, 1), job
    stored = await _by_crm(client, tenant)
    assert (stored["7"]["first_name"], stored["7"]["job_title"]) == ("A", "CEO")


async def test_jsonl_import_reports_broken_lines(client: httpx.AsyncClient, tenant: Tenant) -> None:
    owner = await new_member(client, tenant, "dana@acme.example")
    lines = [
        orjson.dumps({"first_name": "Ok", "owner_id": owner, "loyalty": 3}).decode(),
        "{not json",
        "",
        "[1, 2]",
        orjson.dumps(
            {"first_name": "Bad", "owner_id": "00000000-0000-4000-8000-000000000000"}
        ).decode(),
        orjson.dumps({"first_name": "Bad", "time_zone": "EST"}).decode(),
    ]
    job = (await _import(client, tenant, "\n".join(lines), "application/x-ndjson")).json()
    assert job["created_count"] == 1
    assert [(e["line"], e["errors"][0]["loc"]) for e in job["errors"]] == [
        (2, []),
        (4, []),
        (5, ["owner_id"]),
        (6, ["time_zone"]),
    ]
    (ok,) = (await client.get("/v1/contacts", headers=tenant.headers)).json()["data"]
    assert ok["custom_fields"] == {"loyalty": 3}


async def test_unusable_files_are_refused_whole(client: httpx.AsyncClient, tenant: Tenant) -> None:
    wrong_type = await _import(client, tenant, "a,b\n", "application/json")
    assert wrong_type.status_code == 415
    assert ["body"] in locs(await _import(client, tenant, ""))
    assert ["body"] in locs(await _import(client, tenant, "a,a\n1,2\n"))
    not_utf8 = await client.post(
        "/v1/contacts/imports",
        content=b"first_name\n\xff\xfe\n",
        headers={**tenant.headers, "Content-Type": "text/csv"},
    )
    assert ["body"] in locs(not_utf8)


async def test_export_streams_every_contact_in_both_formats(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    await new_contact(
        client, tenant, tags=["vip"], emails=[{"address": "m@x.example"}], external_ids={"crm": "1"}
    )
    await new_contact(client, tenant, first_name="Bo", custom_fields={"note": "a,b\n"})
    await new_contact(client, other_tenant, first_name="Theirs")
    response = await client.get(
        "/v1/contacts/export", params={"format": "csv"}, headers=tenant.headers
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    by_name = {r["first_name"]: r for r in rows}
    assert sorted(by_name) == ["Bo", "Maria"]
    assert orjson.loads(by_name["Maria"]["tags"]) == ["vip"]
    assert orjson.loads(by_name["Bo"]["custom_fields"]) == {"note": "a,b\n"}
    lines = (
        await client.get("/v1/contacts/export", params={"format": "jsonl"}, headers=tenant.headers)
    ).text.splitlines()
    assert sorted(orjson.loads(line)["external_ids"].get("crm", "") for line in lines) == ["", "1"]


async def test_exported_csv_imports_back(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    await new_contact(
        client,
        tenant,
        emails=[{"address": "m@x.example", "type": "work"}],
        phones=[{"number": "+442079460958", "type": "work"}],
        address={"city": "London", "country": "GB"},
        family=[{"name": "Leo", "relation": "son", "birthday": "2015-04-01"}],
        consent={"sms": {"status": "denied", "source": "call"}},
        external_ids={"crm": "1"},
    )
    exported = (await client.get("/v1/contacts/export", headers=tenant.headers)).text
    job = (await _import(client, other_tenant, exported)).json()
    assert (job["created_count"], job["error_count"]) == (1, 0), job
    (copy,) = (await client.get("/v1/contacts", headers=other_tenant.headers)).json()["data"]
    (original,) = (await client.get("/v1/contacts", headers=tenant.headers)).json()["data"]
    same = ("emails", "phones", "address", "family", "consent", "external_ids", "display_name")
    assert {k: copy[k] for k in same} == {k: original[k] for k in same}


async def test_other_tenant_cannot_read_an_import(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    job = (await _import(client, tenant, "first_name\nA\n")).json()
    url = f"/v1/contacts/imports/{job['id']}"
    assert (await client.get(url, headers=other_tenant.headers)).status_code == 404
    exported = await client.get(
        "/v1/contacts/export", params={"format": "jsonl"}, headers=other_tenant.headers
    )
    assert exported.text == ""


async def test_export_pages_through_chunks(
    client: httpx.AsyncClient, tenant: Tenant, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(contacts_export, "CHUNK", 2)
    for n in range(5):
        clock.advance(timedelta(seconds=1))
        await new_contact(client, tenant, first_name=f"N{n}")
    response = await client.get(
        "/v1/contacts/export", params={"format": "jsonl"}, headers=tenant.headers
    )
    names = [orjson.loads(line)["first_name"] for line in response.text.splitlines()]
    assert names == ["N0", "N1", "N2", "N3", "N4"]
