"""Imports that never duplicate or silently overwrite: rows match existing contacts by
external id, e-mail or phone; a matched row changes what its ``mode`` lets it; rows of
one file sharing a key are refused together; a dry run writes nothing."""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from tests.conftest import Tenant
from tests.contact_fixtures import locs, new_contact

HEADER = "first_name,last_name,email,phone,segment,address.city,consent.email\n"
GOOD = [
    "Maria,Lopez,maria@example.com,(415) 555-0123,client,Oakland,granted",
    "Lee,Banks,lee@example.com,,advocate,,",
    "Ana,Silva,,+1 212 555 0188,prospect,Austin,",
]
BAD = [
    "Bad,Email,not-an-email,,client,,",
    '"Unterminated,Quote,uq@example.com,,client,,',
    "Short,Row",
]
FIXED = [
    "Bad,Email,bad@example.com,,client,,",
    "Unterminated,Quote,uq@example.com,,client,,",
    "Short,Row,short@example.com,,prospect,,",
]


async def _job(
    client: httpx.AsyncClient, tenant: Tenant, body: str, query: str = "", media: str = "text/csv"
) -> dict[str, Any]:
    accepted = await client.post(
        f"/v1/contacts/imports{query}",
        content=body.encode(),
        headers={**tenant.headers, "Content-Type": media},
    )
    assert accepted.status_code == 202, accepted.text
    job: dict[str, Any] = (
        await client.get(accepted.headers["location"], headers=tenant.headers)
    ).json()
    assert job["status"] == "completed", job
    return job


def _counts(job: dict[str, Any]) -> tuple[int, int, int, int]:
    return job["created_count"], job["updated_count"], job["skipped_count"], job["error_count"]


async def _contacts(client: httpx.AsyncClient, tenant: Tenant) -> list[dict[str, Any]]:
    response = await client.get("/v1/contacts", params={"limit": 200}, headers=tenant.headers)
    return list(response.json()["data"])


async def test_a_fixed_file_imported_again_makes_no_duplicate_and_a_rerun_changes_nothing(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    # Lines 2-4 good, 5-7 broken: a bad e-mail, an unterminated quote, a short row (the
    # quote is on the last line, where it once swallowed the rest of the file).
    broken = HEADER + "\n".join([*GOOD, *BAD]) + "\n"
    first = await _job(client, tenant, broken)
    assert _counts(first) == (3, 0, 0, 3), first
    shown = [(e["line"], e["column"], e["value"]) for e in first["errors"]]
    assert shown == [
        (5, "email", "not-an-email"),
        (6, None, '"Unterminated,Quote,uq@example.com,,client,,'),
        (7, None, "Short,Row"),
    ]
    assert first["errors"][0]["message"].startswith("value is not a valid email address")
    assert first["errors"][1]["message"] == (
        "a quote opened in this row is never closed (an unterminated quote)"
    )
    assert first["errors"][2]["message"] == "this row has 2 cells, the header has 7"

    fixed = HEADER + "\n".join([*GOOD, *FIXED]) + "\n"
    second = await _job(client, tenant, fixed)
    assert _counts(second) == (3, 0, 3, 0), second  # the good rows matched, nothing to change
    names = sorted((c["first_name"], c["last_name"]) for c in await _contacts(client, tenant))
    assert names == sorted(
        [
            ("Maria", "Lopez"),
            ("Lee", "Banks"),
            ("Ana", "Silva"),
            ("Bad", "Email"),
            ("Unterminated", "Quote"),
            ("Short", "Row"),
        ]
    )

    third = await _job(client, tenant, fixed)
    assert _counts(third) == (0, 0, 6, 0), third
    assert len(await _contacts(client, tenant)) == 6


async def test_the_same_email_or_phone_on_two_lines_refuses_both_naming_them(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = (
        "first_name,email,phone\n"
        "A,dana@example.com,\n"
        "B,other@example.com,(415) 555-0123\n"
        "C,DANA@example.com,\n"
        "D,,+1 415-555-0123 ext. 9\n"
        "E,,(415) 555-0199\n"
        "F,,(212) 555-0123\n"  # the same last seven digits, another number
    )
    job = await _job(client, tenant, body)
    assert _counts(job) == (2, 0, 0, 4), job
    by_line = {e["line"]: e for e in job["errors"]}
    assert sorted(by_line) == [2, 3, 4, 5]
    assert (
        by_line[2]["message"]
        == by_line[4]["message"]
        == (
            "the same e-mail (dana@example.com) is on lines 2 and 4: none of these rows is imported"
        )
    )
    assert (by_line[2]["column"], by_line[4]["value"]) == ("email", "dana@example.com")
    assert by_line[3]["message"] == (
        "the same phone number (+14155550123) is on lines 3 and 5: none of these rows is imported"
    )
    assert by_line[5]["column"] == "phone"
    assert sorted(c["first_name"] for c in await _contacts(client, tenant)) == ["E", "F"]


async def test_numbers_equal_only_once_parsed_are_refused_together_in_a_batch(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    # Reading the file cannot see a vanity number as the digits it stands for; validation
    # does, and the batch refuses both rows rather than create two contacts.
    body = "first_name,phone\nA,1-800-FLOWERS\nB,+1 800 356 9377\nC,(415) 555-0199\n"
    job = await _job(client, tenant, body)
    assert _counts(job) == (1, 0, 0, 2), job
    message = (
        "the same phone number (+18003569377) is on lines 2 and 3: none of these rows is imported"
    )
    assert [(e["line"], e["column"], e["message"]) for e in job["errors"]] == [
        (2, "phone", message),
        (3, "phone", message),
    ]
    assert [c["first_name"] for c in await _contacts(client, tenant)] == ["C"]


async def test_a_matched_row_fills_only_what_the_contact_lacks_by_default(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    existing = await new_contact(
        client,
        tenant,
        emails=[{"address": "Maria@Example.com"}],
        job_title="Chef",
        address={"line1": "1 Main St"},
        consent={"email": {"status": "denied", "source": "call"}},
    )
    body = (
        "first_name,email,job_title,company,address.city,consent.email,do_not_contact\n"
        "Mary,maria@example.com,Head chef,Bistro,Oakland,granted,yes\n"
    )
    job = await _job(client, tenant, body)
    assert _counts(job) == (0, 1, 0, 0), job
    (stored,) = await _contacts(client, tenant)
    assert stored["id"] == existing["id"]
    assert (stored["first_name"], stored["job_title"]) == ("Maria", "Chef")  # kept
    assert stored["company"] == "Bistro"  # filled: it was empty
    assert stored["address"]["line1"] == "1 Main St"  # a city given never drops the street
    assert stored["address"]["city"] == "Oakland"
    assert stored["consent"]["email"]["status"] == "denied"  # kept
    assert stored["do_not_contact"] is True  # false is "not set": an opt-out fills it


async def test_overwrite_skip_and_per_column_policies(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await new_contact(
        client, tenant, emails=[{"address": "m@example.com"}], job_title="Chef", tags=["a"]
    )
    body = "email,job_title,tags,segment\nm@example.com,Head chef,b,client\n"

    skipped = await _job(client, tenant, body, "?mode=skip")
    assert _counts(skipped) == (0, 0, 1, 0)
    assert skipped["mode"] == "skip"
    (stored,) = await _contacts(client, tenant)
    assert (stored["job_title"], stored["tags"], stored["segment"]) == ("Chef", ["a"], "prospect")

    some = await _job(client, tenant, body, "?mode=fill_empty,segment:overwrite,tags:overwrite")
    assert _counts(some) == (0, 1, 0, 0)
    assert some["mode"] == "fill_empty,segment:overwrite,tags:overwrite"
    (stored,) = await _contacts(client, tenant)
    assert (stored["job_title"], stored["tags"], stored["segment"]) == ("Chef", ["b"], "client")

    everything = await _job(client, tenant, body, "?mode=overwrite,tags:skip")
    assert _counts(everything) == (0, 1, 0, 0)
    (stored,) = await _contacts(client, tenant)
    assert (stored["job_title"], stored["tags"]) == ("Head chef", ["b"])

    again = await _job(client, tenant, body, "?mode=overwrite")
    assert _counts(again) == (0, 0, 1, 0)  # nothing differs: no write, no event


async def test_a_row_matching_two_contacts_is_refused_naming_both(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    one = await new_contact(client, tenant, emails=[{"address": "same@example.com"}])
    two = await new_contact(
        client, tenant, first_name="Other", emails=[{"address": "same@example.com"}]
    )
    job = await _job(client, tenant, "first_name,email\nX,same@example.com\n")
    assert _counts(job) == (0, 0, 0, 1), job
    (error,) = job["errors"]
    assert one["id"] in error["message"]
    assert two["id"] in error["message"]
    assert "matches several contacts by e-mail" in error["message"]
    assert (error["column"], error["value"]) == ("email", "same@example.com")


async def test_keys_are_tried_in_the_order_asked(client: httpx.AsyncClient, tenant: Tenant) -> None:
    by_id = await new_contact(
        client,
        tenant,
        first_name="Ext",
        emails=[{"address": "ext@x.io"}],
        external_ids={"crm": "1"},
    )
    by_email = await new_contact(client, tenant, first_name="Mail", emails=[{"address": "e@x.io"}])
    body = "external_id.crm,email,job_title\n1,e@x.io,CEO\n"

    job = await _job(client, tenant, body)  # external_id first: the crm id decides
    assert _counts(job) == (0, 1, 0, 0), job
    found = {c["first_name"]: c for c in await _contacts(client, tenant)}
    assert (found["Ext"]["job_title"], found["Mail"]["job_title"]) == ("CEO", None)
    assert found["Ext"]["id"] == by_id["id"]

    refused = await _job(client, tenant, body, "?match_on=email")
    assert _counts(refused) == (0, 0, 0, 1), refused
    assert refused["match_on"] == ["email"]
    (error,) = refused["errors"]
    assert error["message"] == f"the crm id 1 belongs to another contact ({by_id['id']})"
    assert error["column"] == "external_id.crm"
    assert by_email["id"] not in error["message"]

    created = await _job(client, tenant, "email,first_name\ne@x.io,New\n", "?match_on=")
    assert _counts(created) == (1, 0, 0, 0)  # no keys: every row creates


async def test_a_dry_run_reports_what_would_happen_and_writes_nothing(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await new_contact(client, tenant, emails=[{"address": "known@example.com"}])
    await new_contact(
        client, tenant, first_name="Same", last_name=None, emails=[{"address": "same@example.com"}]
    )
    before = (await client.get("/v1/events", headers=tenant.headers)).json()["data"]
    body = (
        "first_name,last_name,email\n"
        "Maria,Lopez,known@example.com\n"  # matches, nothing it lacks: skipped
        "Maria,Lopez,same@example.com\n"  # matches, last name empty there: updated
        "New,Person,new@example.com\n"  # created
        "Bad,Email,nope\n"  # refused
    )
    job = await _job(client, tenant, body, "?dry_run=true")
    assert job["dry_run"] is True
    assert _counts(job) == (1, 1, 1, 1), job
    assert [e["line"] for e in job["errors"]] == [5]
    contacts = await _contacts(client, tenant)
    assert sorted(c["first_name"] for c in contacts) == ["Maria", "Same"]
    assert {c["version"] for c in contacts} == {1}
    after = (await client.get("/v1/events", headers=tenant.headers)).json()["data"]
    assert after == before


async def test_another_workspaces_contacts_are_never_matched(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    theirs = await new_contact(
        client,
        other_tenant,
        emails=[{"address": "dana@example.com"}],
        phones=[{"number": "+14155550123"}],
        external_ids={"crm": "1"},
    )
    body = "first_name,email,phone,external_id.crm\nDana,dana@example.com,(415) 555-0123,1\n"
    job = await _job(client, tenant, body)
    assert _counts(job) == (1, 0, 0, 0), job
    (mine,) = await _contacts(client, tenant)
    assert mine["id"] != theirs["id"]
    unchanged = await client.get(f"/v1/contacts/{theirs['id']}", headers=other_tenant.headers)
    assert unchanged.json()["version"] == theirs["version"]


async def test_unknown_keys_and_policies_are_refused_naming_the_parameter(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    async def post(query: str) -> httpx.Response:
        return await client.post(
            f"/v1/contacts/imports{query}",
            content=b"first_name\nA\n",
            headers={**tenant.headers, "Content-Type": "text/csv"},
        )

    assert locs(await post("?match_on=email,name")) == [["query", "match_on"]]
    assert locs(await post("?match_on=email,email")) == [["query", "match_on"]]
    assert locs(await post("?mode=merge")) == [["query", "mode"]]
    assert locs(await post("?mode=fill_empty,segmnet:overwrite")) == [["query", "mode"]]
    assert locs(await post("?mode=fill_empty,address.town:skip")) == [["query", "mode"]]
    response = await post("?mode=fill_empty,custom.lead_source:overwrite,email:skip")
    assert response.status_code == 202, response.text
    assert response.json()["mode"] == "fill_empty,custom_fields.lead_source:overwrite,emails:skip"


async def test_jsonl_rows_match_and_report_their_keys(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    existing = await new_contact(client, tenant, phones=[{"number": "+442079460958"}])
    rows = [
        {"first_name": "Z", "phones": [{"number": "020 7946 0958"}], "default_region": "GB"},
        {"first_name": "Y", "emails": [{"address": "bad"}]},
    ]
    body = "\n".join(orjson.dumps(r).decode() for r in rows)
    job = await _job(client, tenant, body, media="application/x-ndjson")
    assert _counts(job) == (0, 0, 1, 1), job  # matched by phone; the name is not empty there
    (error,) = job["errors"]
    assert (error["line"], error["column"], error["value"]) == (2, "emails", "bad")
    (stored,) = await _contacts(client, tenant)
    assert stored["id"] == existing["id"]
