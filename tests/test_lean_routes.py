"""Routes with trivial inputs skip FastAPI's dependency solving (app.routers.platform.route.
lean_handler) and answer exactly as FastAPI's own handler does, errors included."""

from __future__ import annotations

import importlib
import pkgutil

import httpx
from fastapi import HTTPException

import app.routers as routers
from app.clock import FrozenClock
from app.db import Database
from app.deps import get_session
from app.main import create_app
from app.routers.platform.route import TransactionalRoute, lean_handler
from tests.conftest import Tenant, make_settings
from tests.contact_fixtures import new_contact


async def _unused(_request: object) -> None:
    raise AssertionError("a lean handler called FastAPI's")


def _lean_routes() -> set[tuple[str, str]]:
    lean = set()
    for module in pkgutil.walk_packages(routers.__path__, "app.routers."):
        router = getattr(importlib.import_module(module.name), "router", None)
        for route in getattr(router, "routes", []):
            if isinstance(route, TransactionalRoute) and lean_handler(route, _unused):
                lean |= {(method, route.path) for method in route.methods}
    return lean


def test_the_busiest_trivial_routes_are_lean_and_the_others_are_not() -> None:
    lean = _lean_routes()
    assert {
        ("GET", "/v1/contacts/{contact_id}"),
        ("GET", "/v1/contacts"),
        ("DELETE", "/v1/contacts/{contact_id}"),
    } <= lean
    assert ("POST", "/v1/contacts") in lean  # one JSON model body, answered as a Response
    assert ("PATCH", "/v1/contacts/{contact_id}") not in lean  # a header (If-Match)
    assert ("PUT", "/v1/contacts/by-external-id/{source}/{external_id}") not in lean
    assert ("GET", "/v1/contacts/{contact_id}/interactions") not in lean  # query parameters


async def test_a_path_value_not_in_canonical_form_is_fastapis_to_judge(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    contact = await new_contact(client, tenant)
    upper = await client.get(f"/v1/contacts/{contact['id'].upper()}", headers=tenant.headers)
    assert upper.status_code == 200
    assert upper.json() == contact
    bad = await client.get("/v1/contacts/not-a-uuid", headers=tenant.headers)
    assert bad.status_code == 422
    assert [e["loc"] for e in bad.json()["errors"]] == [["path", "contact_id"]]
    anonymous = await client.get("/v1/contacts/not-a-uuid")
    assert anonymous.status_code == 401  # the key is checked first, as FastAPI does


async def test_dependency_overrides_are_honoured(
    db: Database, clock: FrozenClock, tenant: Tenant
) -> None:
    app = create_app(make_settings(), database=db, clock=clock)

    async def refuse() -> None:
        raise HTTPException(status_code=418)

    app.dependency_overrides[get_session] = refuse
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        response = await c.get(
            "/v1/contacts/00000000-0000-4000-8000-000000000000", headers=tenant.headers
        )
    assert response.status_code == 418


async def test_a_body_the_lean_path_does_not_take_is_fastapis_to_judge(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    """Valid JSON bodies take the lean path; anything else gets FastAPI's own answer."""
    json_headers = {**tenant.headers, "content-type": "application/json"}
    lean = await client.post("/v1/contacts", content=b'{"first_name": "Ada"}', headers=json_headers)
    assert lean.status_code == 201, lean.text
    assert lean.json()["display_name"] == "Ada"
    # No content type: FastAPI does not read the body as JSON, and says so.
    untyped = await client.post(
        "/v1/contacts", content=b'{"first_name": "Bo"}', headers=tenant.headers
    )
    assert untyped.status_code == 422
    assert [e["loc"] for e in untyped.json()["errors"]] == [["body"]]
    broken = await client.post("/v1/contacts", content=b'{"first_name": ', headers=json_headers)
    assert broken.status_code == 422
    assert [e["type"] for e in broken.json()["errors"]] == ["json_invalid"]
    invalid = await client.post("/v1/contacts", json={"first_name": 7}, headers=tenant.headers)
    assert invalid.status_code == 422
    assert [e["loc"] for e in invalid.json()["errors"]] == [["body", "first_name"]]
    for body in ({"first_name": 7}, {"first_name": "Cy"}):
        anonymous = await client.post("/v1/contacts", json=body)
        assert anonymous.status_code == 401  # the key is checked before the fields
