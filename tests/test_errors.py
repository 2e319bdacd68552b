"""Every error is problem+json; bad input never reaches the database as a 500."""

from __future__ import annotations

import httpx
import pytest

from app.services.platform import members as members_service
from tests.conftest import Tenant
from tests.log_fixtures import json_logs


async def test_unknown_route_is_404_problem(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["request_id"] == response.headers["x-request-id"]


async def test_wrong_method_is_405_problem(client: httpx.AsyncClient) -> None:
    response = await client.put("/healthz")
    assert response.status_code == 405
    assert response.json()["status"] == 405


async def test_invalid_json_is_422(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.post(
        "/v1/members",
        content=b'{"name": "x", ',
        headers={**tenant.headers, "content-type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["errors"]


async def test_oversized_body_is_413(client: httpx.AsyncClient, tenant: Tenant) -> None:
    big = b'{"name": "' + b"x" * 2_000_000 + b'", "email": "a@example.com"}'
    response = await client.post(
        "/v1/members", content=big, headers={**tenant.headers, "content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"


async def test_oversized_streamed_body_is_413(client: httpx.AsyncClient, tenant: Tenant) -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(40):
            yield b"x" * 65_536

    response = await client.post(
        "/v1/members",
        content=chunks(),
        headers={**tenant.headers, "content-type": "application/json"},
    )
    assert response.status_code == 413


@pytest.mark.parametrize(
    "path", ["/v1/members?active=%00", "/v1/members?cursor=a%00b", "/v1/members/%00"]
)
async def test_nul_bytes_in_url_are_refused(
    client: httpx.AsyncClient, tenant: Tenant, path: str
) -> None:
    response = await client.get(path, headers=tenant.headers)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


async def test_nul_in_nested_string_names_the_field(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.post(
        "/v1/members", json={"name": "ok\u0000", "email": "a@example.com"}, headers=tenant.headers
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "name"]


async def test_bad_uuid_in_path_is_422(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.get("/v1/members/not-a-uuid", headers=tenant.headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["path", "member_id"]


async def test_body_of_wrong_type_is_422(client: httpx.AsyncClient, tenant: Tenant) -> None:
    for payload in ([1, 2], "text", 42, None):
        response = await client.post("/v1/members", json=payload, headers=tenant.headers)
        assert response.status_code == 422, payload


async def test_errors_never_carry_stack_traces(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.post("/v1/members", json={"name": 5}, headers=tenant.headers)
    assert "Traceback" not in response.text
    assert "input" not in response.json()["errors"][0]


async def test_body_that_is_not_utf8_json_is_422(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.post(
        "/v1/members",
        content=b"\xff\xfe\x00garbage",
        headers={**tenant.headers, "content-type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"][0] == "body"


async def test_405_lists_every_method_of_the_path(client: httpx.AsyncClient) -> None:
    response = await client.request("OPTIONS", "/v1/members")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD, POST"


async def test_a_literal_path_is_not_read_as_an_id_of_its_sibling_route(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    h = tenant.headers
    response = await client.patch("/v1/contacts/export", json={}, headers=h)
    assert (response.status_code, response.headers["allow"]) == (405, "GET, HEAD")
    assert response.json()["type"].endswith("/method-not-allowed")
    response = await client.request("OPTIONS", "/v1/enrollments/bulk", headers=h)
    assert (response.status_code, response.headers["allow"]) == (405, "POST")
    response = await client.patch("/v1/contacts/not-an-id", json={}, headers=h)
    assert response.status_code == 422  # no resource is named so: the id is malformed
    assert response.json()["errors"][0]["loc"] == ["path", "contact_id"]


async def test_unexpected_error_is_a_500_problem_with_the_request_id(
    client: httpx.AsyncClient, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = members_service.create_member

    async def explode(*args: object, **kwargs: object) -> object:
        await real(*args, **kwargs)  # type: ignore[arg-type]
        raise RuntimeError("internal detail that must stay in the log")

    monkeypatch.setattr(members_service, "create_member", explode)
    with json_logs() as logs:
        response = await client.post(
            "/v1/members",
            json={"name": "Ida", "email": "ida@example.com"},
            headers={**tenant.headers, "X-Request-ID": "req-500-check"},
        )
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["x-request-id"] == "req-500-check"
    body = response.json()
    assert body["request_id"] == "req-500-check"
    assert body["type"].endswith("/internal-error")
    assert body["instance"] == "/v1/members"
    assert "Traceback" not in response.text
    assert "internal detail" not in response.text
    [logged] = logs.named("unhandled error")
    assert logged["request_id"] == "req-500-check"
    assert logged["level"] == "ERROR"
    assert "internal detail that must stay in the log" in logged["exc_info"]
    [access] = logs.named("request")
    assert access["status"] == 500
    assert access["request_id"] == "req-500-check"
    # The request's transaction was rolled back: the member created before the error is gone.
    listed = await client.get("/v1/members", headers=tenant.headers)
    assert listed.json()["data"] == []


async def test_unexpected_error_without_incoming_id_gets_a_generated_one(
    client: httpx.AsyncClient, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def explode(*_args: object, **_kwargs: object) -> object:
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(members_service, "list_members", explode)
    response = await client.get("/v1/members", headers=tenant.headers)
    assert response.status_code == 500
    assert len(response.headers["x-request-id"]) == 32
    assert response.json()["request_id"] == response.headers["x-request-id"]
