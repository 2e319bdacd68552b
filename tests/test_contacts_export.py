"""An export is safe to open: no CSV cell reaches a spreadsheet as a formula (OWASP's
CSV injection), unless asked for raw cells; JSON Lines are never changed; and the
escaped file imports back to the same contacts."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
import orjson

from app.services.contacts.export import CSV_COLUMNS
from tests.conftest import Tenant
from tests.contact_fixtures import new_contact

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
SPITEFUL: dict[str, Any] = {
    "first_name": "=1+1",
    "last_name": '=HYPERLINK("http://x","click")',
    "company_name": "+SUM(A1:A9)",
    "company": "'-2+3",  # escaped once already: the export adds one more
    "job_title": "@cmd",
    "emails": [{"address": "=x@example.com"}],
    "tags": ["=tag"],
    "interests": ["-golf"],
    "custom_fields": {"=key": "=value", "note": "'=already escaped"},
    "address": {"line1": "=1 Main St", "city": "'+Quoted"},
    "family": [{"name": "=Leo", "relation": "son"}],
    "consent": {"email": {"status": "granted", "source": "@form"}},
    "phones": [{"number": "+14155550123"}],
    "external_ids": {"crm": "-7"},
}


async def _export(client: httpx.AsyncClient, tenant: Tenant, **params: Any) -> str:
    response = await client.get("/v1/contacts/export", params=params, headers=tenant.headers)
    assert response.status_code == 200, response.text
    return response.text


async def test_no_exported_cell_begins_like_a_formula(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await new_contact(client, tenant, **SPITEFUL)
    rows = list(csv.reader(io.StringIO(await _export(client, tenant))))
    assert rows[0] == CSV_COLUMNS
    (cells,) = rows[1:]
    for name, cell in zip(CSV_COLUMNS, cells, strict=True):  # every column
        assert not cell.startswith(TRIGGERS), (name, cell)
    values = dict(zip(CSV_COLUMNS, cells, strict=True))
    assert values["first_name"] == "'=1+1"
    assert values["last_name"] == "'" + SPITEFUL["last_name"]
    assert values["display_name"] == "'=1+1 " + SPITEFUL["last_name"]
    assert (values["company_name"], values["company"]) == ("'+SUM(A1:A9)", "''-2+3")
    assert (values["job_title"], values["primary_email"]) == ("'@cmd", "'=x@example.com")
    assert values["primary_phone"] == "'+14155550123"
    assert orjson.loads(values["tags"]) == ["=tag"]  # JSON cells begin with [ or {


async def test_raw_cells_and_json_lines_are_as_stored(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await new_contact(client, tenant, **SPITEFUL)
    (raw,) = list(csv.DictReader(io.StringIO(await _export(client, tenant, raw="true"))))
    assert (raw["first_name"], raw["job_title"]) == ("=1+1", "@cmd")
    (line,) = (await _export(client, tenant, format="jsonl")).splitlines()
    document = orjson.loads(line)
    assert (document["first_name"], document["company"]) == ("=1+1", "'-2+3")


async def test_an_escaped_export_imports_back_to_the_same_values(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    await new_contact(client, tenant, **SPITEFUL)
    accepted = await client.post(
        "/v1/contacts/imports",
        content=(await _export(client, tenant)).encode(),
        headers={**other_tenant.headers, "Content-Type": "text/csv"},
    )
    job = (await client.get(accepted.headers["location"], headers=other_tenant.headers)).json()
    assert (job["created_count"], job["error_count"]) == (1, 0), job
    (copy,) = (await client.get("/v1/contacts", headers=other_tenant.headers)).json()["data"]
    (original,) = (await client.get("/v1/contacts", headers=tenant.headers)).json()["data"]
    same = [*SPITEFUL, "display_name"]
    assert {k: copy[k] for k in same} == {k: original[k] for k in same}
    assert copy["address"]["city"] == "'+Quoted"  # a leading ' of the data itself is kept
