"""Import (CSV, JSON Lines) with broken rows, upserts by external id, and export."""

from __future__ import annotations

import csv
import io
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import orjson
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import FrozenClock
from app.db import Database
from app.services.contacts import export as contacts_export
from app.services.contacts.importing import jobs as contacts_import
from app.services.contacts.importing.jobs import resume_imports
from app.services.contacts.importing.parse import MAX_ROWS, FileRefused, read_rows
from app.services.jobs import JOBS
from tests.conftest import T0, Tenant, make_settings
from tests.contact_fixtures import locs, new_contact, new_member

T0_ISO = T0.isoformat().replace("+00:00", "Z")
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
    client: httpx.AsyncClient, tenant: Tenant, body: str, media: str = "text/csv", query: str = ""
) -> httpx.Response:
    return await client.post(
        f"/v1/contacts/imports{query}",
        content=body.encode(),
        headers={**tenant.headers, "Content-Type": media},
    )


async def _job(
    client: httpx.AsyncClient,
    tenant: Tenant,
    body: str,
    media: str = "text/csv",
    query: str = "",
) -> dict[str, Any]:
    """Import and return the job as it stands once the response's background work ran."""
    accepted = await _import(client, tenant, body, media, query)
    assert accepted.status_code == 202, accepted.text
    response = await client.get(accepted.headers["location"], headers=tenant.headers)
    job: dict[str, Any] = response.json()
    return job


async def _by_crm(client: httpx.AsyncClient, tenant: Tenant) -> dict[str, dict[str, Any]]:
    response = await client.get("/v1/contacts", params={"limit": 200}, headers=tenant.headers)
    return {c["external_ids"].get("crm", c["id"]): c for c in response.json()["data"]}


async def test_csv_import_stores_good_rows_and_reports_bad_ones_by_line(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await _import(client, tenant, CSV)
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert (accepted["status"], accepted["total_rows"], accepted["processed_rows"]) == (
        "queued",
        6,
        0,
    )
    job_url = f"/v1/contacts/imports/{accepted['id']}"
    assert job_url == response.headers["location"]
    job = (await client.get(job_url, headers=tenant.headers)).json()
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


async def test_rows_with_known_external_ids_update_only_the_cells_given(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    existing = await new_contact(client, tenant, job_title="Chef", external_ids={"crm": "1"})
    body = "external_id.crm,last_name,job_title,company\n1,Lopez-Garcia,,\n9,Newman,,\n"
    job = await _job(client, tenant, body, query="?mode=overwrite")
    assert (job["created_count"], job["updated_count"], job["error_count"]) == (1, 1, 0), job
    stored = await _by_crm(client, tenant)
    assert stored["1"]["id"] == existing["id"]
    assert stored["1"]["last_name"] == "Lopez-Garcia"
    assert stored["1"]["job_title"] == "Chef"  # an empty cell is not given
    assert stored["9"]["last_name"] == "Newman"


async def test_the_same_new_external_id_on_two_lines_refuses_both(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    rows = [
        {"first_name": "A", "external_ids": {"crm": "7"}},
        {"external_ids": {"crm": "7"}, "job_title": "CEO"},
        {"first_name": "B", "external_ids": {"crm": "8"}},
    ]
    body = "\n".join(orjson.dumps(r).decode() for r in rows)
    job = await _job(client, tenant, body, "application/x-ndjson")
    assert (job["created_count"], job["updated_count"], job["error_count"]) == (1, 0, 2), job
    for error in job["errors"]:
        assert error["message"] == (
            "the same crm id (7) is on lines 1 and 2: none of these rows is imported"
        )
    assert [e["line"] for e in job["errors"]] == [1, 2]
    assert sorted(await _by_crm(client, tenant)) == ["8"]


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
    job = await _job(client, tenant, "\n".join(lines), "application/x-ndjson")
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
    header_only = await _import(client, tenant, "first_name,last_name\n\n")
    assert ["body"] in locs(header_only)
    assert "no rows to import" in header_only.text
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
    job = await _job(client, other_tenant, exported)
    assert (job["created_count"], job["error_count"]) == (1, 0), job
    (copy,) = (await client.get("/v1/contacts", headers=other_tenant.headers)).json()["data"]
    (original,) = (await client.get("/v1/contacts", headers=tenant.headers)).json()["data"]
    same = ("emails", "phones", "address", "family", "consent", "external_ids", "display_name")
    assert {k: copy[k] for k in same} == {k: original[k] for k in same}


async def test_other_tenant_cannot_read_an_import(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    job = await _job(client, tenant, "first_name\nA\n")
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


GRANTED = {c: {"status": "granted"} for c in ("email", "sms", "call", "mail")}


async def _touches(client: httpx.AsyncClient, tenant: Tenant, contact_id: str) -> list[Any]:
    params = {"contact_id": contact_id, "limit": 200}
    r = await client.get("/v1/touches", params=params, headers=tenant.headers)
    return list(r.json()["data"])


async def _plans_of(client: httpx.AsyncClient, tenant: Tenant, contact_id: str) -> list[str]:
    plans = (await client.get("/v1/touch-plans", headers=tenant.headers)).json()["data"]
    keys = {p["id"]: p["builtin_key"] for p in plans}
    params = {"contact_id": contact_id}
    r = await client.get("/v1/enrollments", params=params, headers=tenant.headers)
    return sorted(keys[e["plan_id"]] for e in r.json()["data"])


async def _signed(client: httpx.AsyncClient, tenant: Tenant) -> None:
    """The built-in plans name the member: the workspace signs for ownerless contacts."""
    member = await new_member(client, tenant, "dana@example.com")
    body = {"default_sender_member_id": member}
    r = await client.patch("/v1/workspace", json=body, headers=tenant.headers)
    assert r.status_code == 200, r.text


async def test_imported_contacts_run_the_contact_hooks_and_carry_the_contact(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await _signed(client, tenant)
    a = await new_contact(client, tenant, tags=["8x8"], consent=GRANTED, external_ids={"crm": "A"})
    b = await new_contact(client, tenant, consent=GRANTED, external_ids={"crm": "B"})
    c = await new_contact(client, tenant, tags=["8x8"], consent=GRANTED, external_ids={"crm": "C"})
    body = (
        "external_id.crm,first_name,tags,do_not_contact,time_zone,consent.email\n"
        "A,,,true,,\n"
        "B,,8x8,,,\n"
        "C,,,,Asia/Tokyo,\n"
        "N,Newbie,8x8,,,granted\n"
    )
    job = await _job(client, tenant, body)
    assert (job["created_count"], job["updated_count"], job["error_count"]) == (1, 3, 0), job

    touches_a = await _touches(client, tenant, a["id"])  # do-not-contact skips, and pauses
    assert {(t["status"], t["reason"]) for t in touches_a} == {("skipped", "do_not_contact")}
    r = await client.get("/v1/enrollments", params={"contact_id": a["id"]}, headers=tenant.headers)
    assert [(e["status"], e["reason"]) for e in r.json()["data"]] == [("paused", "do_not_contact")]
    assert await _plans_of(client, tenant, b["id"]) == ["8x8"]  # joined the audience
    tokyo = ZoneInfo("Asia/Tokyo")
    future = [t for t in await _touches(client, tenant, c["id"]) if t["due_at"] > T0_ISO]
    assert future  # planned again at the send window's opening in the new zone
    assert {datetime.fromisoformat(t["due_at"]).astimezone(tokyo).time() for t in future} == {
        time(9)
    }
    stored = await _by_crm(client, tenant)
    assert await _plans_of(client, tenant, stored["N"]["id"]) == ["8x8"]

    events = (await client.get("/v1/events", params={"limit": 200}, headers=tenant.headers)).json()
    imported = [e["data"] for e in events["data"] if e["data"].get("import_id") == job["id"]]
    by_id = {(d["id"], "changed_fields" in d): d for d in imported}
    created = by_id[(stored["N"]["id"], False)]
    assert (created["first_name"], created["display_name"]) == ("Newbie", "Newbie")
    assert created == {**stored["N"], "import_id": job["id"]}  # the whole contact
    updated = by_id[(a["id"], True)]
    assert updated["changed_fields"] == ["do_not_contact"]
    assert (updated["display_name"], updated["do_not_contact"]) == ("Maria Lopez", True)
    assert updated["version"] == a["version"] + 1
    assert updated == {
        **(await client.get(f"/v1/contacts/{a['id']}", headers=tenant.headers)).json(),
        "changed_fields": ["do_not_contact"],
        "import_id": job["id"],
    }


async def test_an_external_id_the_contact_cannot_take_rejects_the_row(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    existing = await new_contact(client, tenant, external_ids={"crm": "1", "hubspot": "5"})
    rows = [{"external_ids": {"crm": "1", "hubspot": "7"}, "job_title": "CEO"}]
    body = "\n".join(orjson.dumps(r).decode() for r in rows)
    job = await _job(client, tenant, body, "application/x-ndjson")
    assert (job["updated_count"], job["error_count"]) == (0, 1), job
    (error,) = job["errors"]
    assert (error["line"], error["errors"][0]["loc"]) == (1, ["external_ids", "hubspot"])
    now = (await client.get(f"/v1/contacts/{existing['id']}", headers=tenant.headers)).json()
    assert now["job_title"] is None  # skipped whole, not half-written
    assert now["external_ids"] == {"crm": "1", "hubspot": "5"}


def _failing_once(monkeypatch: pytest.MonkeyPatch, *, failures: int) -> list[int]:
    """Make the import's 2nd and later batches fail with a database error, ``failures`` times."""
    calls: list[int] = []
    real = contacts_import.write_rows

    async def write_rows(session: AsyncSession, *args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) >= 2 and len(calls) - 1 <= failures:
            await session.execute(text("SELECT 1 / 0"))  # a real error from PostgreSQL
        return await real(session, *args, **kwargs)

    monkeypatch.setattr(contacts_import, "write_rows", write_rows)
    monkeypatch.setattr(contacts_import, "BATCH_ROWS", 2)
    return calls


FIVE = "first_name,external_id.crm\nA,1\nB,2\nC,3\nD,4\nE,5\n"


async def test_import_shows_progress_and_resumes_after_a_failed_batch(
    client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _failing_once(monkeypatch, failures=1)
    job = await _job(client, tenant, FIVE)  # batch 1 commits, batch 2 fails
    assert (job["status"], job["processed_rows"], job["total_rows"]) == ("running", 2, 5)
    assert job["created_count"] == 2
    assert "failed" in job["detail"]
    assert sorted(await _by_crm(client, tenant)) == ["1", "2"]

    assert await resume_imports(db, clock, make_settings()) == 1  # the scheduler's job
    url = f"/v1/contacts/imports/{job['id']}"
    done = (await client.get(url, headers=tenant.headers)).json()
    assert (done["status"], done["processed_rows"], done["created_count"]) == ("completed", 5, 5)
    assert sorted(await _by_crm(client, tenant)) == ["1", "2", "3", "4", "5"]  # none twice
    assert await resume_imports(db, clock, make_settings()) == 0  # nothing left open


async def test_import_gives_up_after_repeated_failures(
    client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _failing_once(monkeypatch, failures=10)
    job = await _job(client, tenant, FIVE)
    for _ in range(contacts_import.MAX_ATTEMPTS - 1):
        await resume_imports(db, clock, make_settings())
    url = f"/v1/contacts/imports/{job['id']}"
    failed = (await client.get(url, headers=tenant.headers)).json()
    assert (failed["status"], failed["processed_rows"]) == ("failed", 2)
    assert "gave up" in failed["detail"]
    async with db.transaction() as session:
        staged = await session.execute(
            text("SELECT count(*) FROM contact_import_chunks WHERE import_id = :id"),
            {"id": job["id"]},
        )
        assert staged.scalar_one() == 0  # the rows waiting are not kept


def test_the_resume_job_is_scheduled() -> None:
    assert ("contacts.imports", resume_imports) in [(j.name, j.run) for j in JOBS]


async def test_a_file_of_more_than_100000_rows_is_refused(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    assert MAX_ROWS == 100_000
    limit = "first_name\n" + "A\n" * MAX_ROWS
    assert len(read_rows(limit.encode(), "csv")) == MAX_ROWS
    with pytest.raises(FileRefused):
        read_rows((limit + "B\n").encode(), "csv")
    response = await _import(client, tenant, limit + "B\n")
    assert ["body"] in locs(response)
    assert "100000" in response.json()["errors"][0]["msg"]
    # Refused after 100,000 rows were staged (and their first batches validated ahead):
    # the request's transaction rolled back, so no job and no staged chunk remain.
    async with db.transaction() as session:
        for table in ("contact_imports", "contact_import_chunks"):
            sql = f"SELECT count(*) FROM {table} WHERE workspace_id = :ws"
            found = await session.execute(text(sql), {"ws": tenant.id})
            assert found.scalar_one() == 0, table


async def test_an_import_clearing_do_not_contact_resumes_and_one_withdrawing_consent_skips(
    client: httpx.AsyncClient, tenant: Tenant, clock: FrozenClock
) -> None:
    """The bulk path runs the same holds as ``PATCH /v1/contacts/{id}``."""
    await _signed(client, tenant)
    a = await new_contact(client, tenant, tags=["8x8"], consent=GRANTED, external_ids={"crm": "A"})
    b = await new_contact(client, tenant, tags=["8x8"], consent=GRANTED, external_ids={"crm": "B"})
    await _job(client, tenant, "external_id.crm,do_not_contact\nA,true\n")
    clock.advance(timedelta(days=10))  # weeks 1 and 2 pass while A is held
    job = await _job(
        client, tenant, "external_id.crm,do_not_contact,consent.email\nA,false,\nB,,denied\n"
    )
    assert (job["updated_count"], job["error_count"]) == (2, 0), job
    r = await client.get("/v1/enrollments", params={"contact_id": a["id"]}, headers=tenant.headers)
    assert [(e["status"], e["reason"]) for e in r.json()["data"]] == [("active", None)]
    held = {
        t["due_at"][:10]: (t["status"], t["reason"])
        for t in await _touches(client, tenant, a["id"])
    }
    assert sorted(held.values()).count(("skipped", "do_not_contact")) == 2  # no catching up
    assert sorted(held.values()).count(("scheduled", None)) == 6
    emails = [t for t in await _touches(client, tenant, b["id"]) if t["channel"] == "email"]
    assert {(t["status"], t["reason"]) for t in emails} == {("skipped", "no_consent")}
