"""docs/IMPORT.md is what a person migrating follows: its example imports, and its column
table names exactly the columns the import reads."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from app.services.contacts.importing import parse
from tests.conftest import Tenant

DOC = (Path(__file__).resolve().parent.parent / "docs" / "IMPORT.md").read_text()
TABLE = DOC.split("## Columns", 1)[1].split("### An example", 1)[0]


async def test_the_documented_example_imports_cleanly(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    [example] = re.findall(r"```csv\n(.*?)```", DOC, re.S)
    accepted = await client.post(
        "/v1/contacts/imports",
        content=example.encode(),
        headers={**tenant.headers, "Content-Type": "text/csv"},
    )
    assert accepted.status_code == 202, accepted.text
    job = (await client.get(accepted.headers["location"], headers=tenant.headers)).json()
    assert (job["created_count"], job["error_count"]) == (3, 0), job
    people = (await client.get("/v1/contacts", headers=tenant.headers)).json()["data"]
    kwame = next(p for p in people if p["first_name"] == "Kwame")
    assert (kwame["last_name"], kwame["tags"]) == ("Okafor, Jr.", ["newsletter", "vip"])


def test_the_column_table_names_every_column_the_import_reads() -> None:
    documented: set[str] = set()
    for row in re.findall(r"^\| (`.*?) \|", TABLE, re.M):
        documented.update(re.findall(r"`([a-z0-9_.<>]+)`", row))
    known = {
        *parse.SCALARS,
        *parse.BOOLEANS,
        *parse.JSON_FIELDS,
        *parse.LIST_FIELDS,
        *parse.IGNORED,
        "email",
        "phone",
        "external_id.<source>",
        "external_ids.<source>",
        "custom.<key>",
        *(f"address.{k}" for k in ("line1", "line2", "city", "region", "postal_code", "country")),
        *(f"consent.{c}" for c in ("email", "sms", "call", "mail")),
    }
    assert documented == known
