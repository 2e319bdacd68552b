"""Every 422 names the field, wherever the bad value was: the query string, a number too
long for Python's parser; and no problem's ``status`` is anything but the HTTP status."""

from __future__ import annotations

import httpx

from tests.conftest import Tenant


async def test_a_nul_in_the_query_string_names_the_parameter(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    r = await client.get("/v1/contacts?limit=5&q=ab%00c", headers=tenant.headers)
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {"loc": ["query", "q"], "msg": "NUL bytes are not allowed", "type": "value_error"}
    ]


async def test_a_5000_digit_integer_is_refused_naming_its_field(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = '{"first_name": "Big", "segment": "client", "custom_fields": {"n": ' + "9" * 5000 + "}}"
    r = await client.post(
        "/v1/contacts",
        content=body,
        headers={**tenant.headers, "Content-Type": "application/json"},
    )
    assert r.status_code == 422
    (error,) = r.json()["errors"]
    assert error["loc"] == ["body", "custom_fields", "n"]
    assert error["type"] == "int_too_long"


async def test_bytes_that_are_not_json_are_still_reported_as_such(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    r = await client.post(
        "/v1/contacts",
        content=b'{"first_name": ',
        headers={**tenant.headers, "Content-Type": "application/json"},
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"][0] == "body"
