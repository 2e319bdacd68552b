"""Small bodies that used to crash the service: deep nesting and times of the wrong kind.

A body of a few KB nested a thousand levels made ``json.loads`` raise ``RecursionError``,
custom fields nested 900 deep broke pydantic's serialisation, and a send window's end of
``0`` (seconds, read as a UTC time) was compared with a local one: three 500s. Each is a
422 naming the field now.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from app.json_codec import MAX_BODY_DEPTH, TooDeep, check_depth, depth, from_json
from app.models.contacts.inputs import MAX_CUSTOM_FIELDS_DEPTH
from tests.conftest import Tenant


def _locs(response: httpx.Response) -> list[list[Any]]:
    return [e["loc"] for e in response.json().get("errors", [])]


def _nested(levels: int, leaf: str = "1") -> str:
    """``levels`` objects inside each other, as JSON text."""
    return '{"a":' * levels + leaf + "}" * levels


def _custom(levels: int) -> dict[str, Any]:
    """Custom fields whose object is level 1 and which nest ``levels`` in all."""
    value: Any = 1
    for _ in range(levels):
        value = {"k": value}
    return dict(value)


@pytest.mark.parametrize("document", ["[" * 1000 + "]" * 1000, _nested(1000), _nested(33)])
async def test_a_body_nested_too_deep_is_422_naming_the_body(
    client: httpx.AsyncClient, tenant: Tenant, document: str
) -> None:
    headers = {**tenant.headers, "content-type": "application/json"}
    for method, path in [
        ("POST", "/v1/contacts"),
        ("PATCH", "/v1/workspace"),
        ("POST", "/v1/referrals"),
    ]:
        response = await client.request(method, path, content=document, headers=headers)
        assert response.status_code == 422, (path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert ["body"] in _locs(response), response.text
        assert f"nested deeper than {MAX_BODY_DEPTH} levels" in response.text


async def test_a_body_at_the_depth_limit_is_read(client: httpx.AsyncClient, tenant: Tenant) -> None:
    """32 levels parse; the answer is about the field, not the nesting."""
    document = '{"first_name": "A", "custom_fields": ' + _nested(MAX_BODY_DEPTH - 1) + "}"
    headers = {**tenant.headers, "content-type": "application/json"}
    response = await client.post("/v1/contacts", content=document, headers=headers)
    assert response.status_code == 422
    assert ["body", "custom_fields"] in _locs(response), response.text


async def test_brackets_inside_strings_do_not_count(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = {"first_name": "A", "custom_fields": {"note": '[{"' * 500 + '\\"]' * 10}}
    response = await client.post("/v1/contacts", json=body, headers=tenant.headers)
    assert response.status_code == 201, response.text
    assert response.json()["custom_fields"] == body["custom_fields"]


async def test_custom_fields_may_nest_five_levels(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = {"first_name": "A", "custom_fields": _custom(MAX_CUSTOM_FIELDS_DEPTH)}
    assert depth(body["custom_fields"]) == MAX_CUSTOM_FIELDS_DEPTH
    response = await client.post("/v1/contacts", json=body, headers=tenant.headers)
    assert response.status_code == 201, response.text
    assert response.json()["custom_fields"] == body["custom_fields"]


@pytest.mark.parametrize("levels", [MAX_CUSTOM_FIELDS_DEPTH + 1, 30])
async def test_custom_fields_nested_deeper_are_422_naming_them(
    client: httpx.AsyncClient, tenant: Tenant, levels: int
) -> None:
    body = {"first_name": "A", "custom_fields": _custom(levels)}
    response = await client.post("/v1/contacts", json=body, headers=tenant.headers)
    assert response.status_code == 422, response.text
    assert ["body", "custom_fields"] in _locs(response)
    created = await client.post("/v1/contacts", json={"first_name": "B"}, headers=tenant.headers)
    patched = await client.patch(
        f"/v1/contacts/{created.json()['id']}",
        json={"custom_fields": _custom(levels)},
        headers={**tenant.headers, "If-Match": created.headers["etag"]},
    )
    assert patched.status_code == 422, patched.text
    assert ["body", "custom_fields"] in _locs(patched)


async def test_custom_fields_900_deep_in_a_small_body_are_422(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    """The reported case: 900 levels in 5.4 KB, past the body's own limit."""
    document = '{"first_name": "A", "custom_fields": ' + _nested(899, "[]") + "}"
    assert len(document) < 6000
    headers = {**tenant.headers, "content-type": "application/json"}
    response = await client.post("/v1/contacts", content=document, headers=headers)
    assert response.status_code == 422, response.text


@pytest.mark.parametrize(
    ("window", "field"),
    [
        ({"start": "09:00", "end": 0}, "end"),
        ({"start": 3600, "end": "18:00"}, "start"),
        ({"start": "09:00", "end": "18:00+02:00"}, "end"),
        ({"start": "09:00", "end": None}, "end"),
    ],
)
async def test_send_window_times_must_be_local_hh_mm_text(
    client: httpx.AsyncClient, tenant: Tenant, window: dict[str, Any], field: str
) -> None:
    response = await client.patch(
        "/v1/workspace", json={"send_window": window}, headers=tenant.headers
    )
    assert response.status_code == 422, response.text
    assert any(loc[-1] == field and "send_window" in loc for loc in _locs(response)), _locs(
        response
    )


async def test_a_cursor_nested_deep_is_422_naming_the_cursor(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    cursor = base64.urlsafe_b64encode(("[" * 5000 + "]" * 5000).encode()).decode()
    response = await client.get("/v1/contacts", params={"cursor": cursor}, headers=tenant.headers)
    assert response.status_code == 422, response.text
    assert ["query", "cursor"] in _locs(response)


def test_stored_json_nested_past_the_parse_limit_is_a_value_error_not_a_recursion() -> None:
    """orjson stops at 1024 levels and ``json`` (taken for long numbers) would recurse:
    both end in ``ValueError``."""
    with pytest.raises(ValueError, match="nested deeper"):
        from_json("[" * 5000 + "12345678901234567890" + "]" * 5000)
    with pytest.raises(ValueError, match="nested deeper"):
        from_json("[" * 5000 + "]" * 5000)
    assert from_json("[" * 200 + "12345678901234567890" + "]" * 200) is not None


@pytest.mark.parametrize(
    ("document", "levels"),
    [
        ("[]", 1),
        ('{"a": [1, {"b": 2}]}', 3),
        ('["[[[[", {"x": "]]]"}]', 2),
        ('["\\"[[[", []]', 2),
    ],
)
def test_depth_is_counted_on_the_text_outside_strings(document: str, levels: int) -> None:
    check_depth(document, levels)
    with pytest.raises(TooDeep):
        check_depth(document, levels - 1)
    assert depth(json.loads(document)) == levels


@pytest.mark.parametrize(
    ("path", "param"),
    [
        ("/v1/contacts", "updated_since"),
        ("/v1/interactions", "occurred_before"),
        ("/v1/referrals", "received_before"),
        ("/v1/touches", "due_before"),
    ],
)
@pytest.mark.parametrize("value", ["0.5", "0", "1e9"])
async def test_a_time_in_a_query_is_rfc_3339_text_never_a_number(
    client: httpx.AsyncClient, tenant: Tenant, path: str, param: str, value: str
) -> None:
    """Pydantic would read ``?since=0.5`` as a Unix time (1970): the document says
    date-time, so a number is refused."""
    response = await client.get(path, params={param: value}, headers=tenant.headers)
    assert response.status_code == 422, response.text
    assert ["query", param] in _locs(response)
    good = await client.get(
        path, params={param: "2026-11-23T12:00:00+01:00"}, headers=tenant.headers
    )
    assert good.status_code == 200, good.text


async def test_a_step_send_time_is_local_hh_mm(client: httpx.AsyncClient, tenant: Tenant) -> None:
    step = {
        "channel": "email",
        "content_kind": "newsletter",
        "mode": "automated",
        "subject_template": "Hi",
        "body_template": "Hello",
        "timing": {"kind": "after_enrollment", "days": 0},
    }
    for bad in [0, 3600, "10:00+02:00", "25:00"]:
        body = {
            "name": "Plan",
            "referral_reminder": "Know anyone?",
            "steps": [{**step, "send_time": bad}],
        }
        refused = await client.post("/v1/touch-plans", json=body, headers=tenant.headers)
        assert refused.status_code == 422, (bad, refused.text)
        assert ["body", "steps", 0, "send_time"] in _locs(refused)
    body = {
        "name": "Plan",
        "referral_reminder": "Know anyone?",
        "steps": [{**step, "send_time": "07:30"}],
    }
    created = await client.post("/v1/touch-plans", json=body, headers=tenant.headers)
    assert created.status_code == 201, created.text
    assert created.json()["steps"][0]["send_time"] == "07:30"  # the document's HH:MM
