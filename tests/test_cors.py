"""Browsers: which origins may call the API, what a preflight answers, what a page may read.

tests/test_browser.py drives a real Chromium through the same rules.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import ValidationError

from app.clock import FrozenClock
from app.db import Database
from app.main import create_app
from tests.conftest import Tenant, make_settings

APP_ORIGIN = "https://app.example.com"
TEAM_ORIGIN = "https://crm.acme.example"
PREFLIGHT = {
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
}


@pytest.fixture
async def browser_client(db: Database, clock: FrozenClock) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(make_settings(cors_origins=APP_ORIGIN), database=db, clock=clock)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://rapport.test") as c:
        yield c


async def test_a_preflight_from_an_allowed_origin_answers_204_with_what_the_api_takes(
    browser_client: httpx.AsyncClient,
) -> None:
    r = await browser_client.options("/v1/contacts", headers={"Origin": APP_ORIGIN, **PREFLIGHT})
    assert r.status_code == 204
    assert r.content == b""
    assert r.headers["Access-Control-Allow-Origin"] == APP_ORIGIN
    methods = {m.strip() for m in r.headers["Access-Control-Allow-Methods"].split(",")}
    assert {"GET", "POST", "PATCH", "PUT", "DELETE"} <= methods
    allowed = {h.strip().lower() for h in r.headers["Access-Control-Allow-Headers"].split(",")}
    wanted = {"authorization", "content-type", "idempotency-key", "if-match", "x-request-id"}
    assert wanted <= allowed


async def test_a_preflight_from_an_unknown_origin_gets_no_allow_origin(
    browser_client: httpx.AsyncClient,
) -> None:
    r = await browser_client.options(
        "/v1/contacts", headers={"Origin": "https://evil.example", **PREFLIGHT}
    )
    assert r.status_code == 400
    assert "Access-Control-Allow-Origin" not in r.headers


async def test_answers_to_an_allowed_origin_expose_the_headers_a_client_reads(
    browser_client: httpx.AsyncClient, tenant: Tenant
) -> None:
    r = await browser_client.get("/v1/workspace", headers={"Origin": APP_ORIGIN, **tenant.headers})
    assert r.status_code == 200
    assert r.headers["Access-Control-Allow-Origin"] == APP_ORIGIN
    exposed = {h.strip() for h in r.headers["Access-Control-Expose-Headers"].split(",")}
    assert {
        "ETag",
        "Location",
        "X-Request-ID",
        "Idempotent-Replayed",
        "RateLimit",
        "RateLimit-Policy",
        "Retry-After",
    } <= exposed
    other = await browser_client.get(
        "/v1/workspace", headers={"Origin": "https://evil.example", **tenant.headers}
    )
    assert "Access-Control-Allow-Origin" not in other.headers


async def test_a_workspace_adds_its_own_origins(
    browser_client: httpx.AsyncClient, tenant: Tenant
) -> None:
    before = await browser_client.options(
        "/v1/contacts", headers={"Origin": TEAM_ORIGIN, **PREFLIGHT}
    )
    assert "Access-Control-Allow-Origin" not in before.headers
    changed = await browser_client.patch(
        "/v1/workspace", json={"cors_origins": [TEAM_ORIGIN]}, headers=tenant.headers
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["cors_origins"] == [TEAM_ORIGIN]
    after = await browser_client.options(
        "/v1/contacts", headers={"Origin": TEAM_ORIGIN, **PREFLIGHT}
    )
    assert after.status_code == 204
    assert after.headers["Access-Control-Allow-Origin"] == TEAM_ORIGIN


@pytest.mark.parametrize(
    "origin",
    [
        "*",
        "https://app.example.com/",
        "https://app.example.com/path",
        "ftp://x.example",
        "HTTPS://A.B",
    ],
)
async def test_a_workspace_origin_must_be_exact(
    client: httpx.AsyncClient, tenant: Tenant, origin: str
) -> None:
    r = await client.patch("/v1/workspace", json={"cors_origins": [origin]}, headers=tenant.headers)
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["body", "cors_origins", 0]


def test_any_origin_is_refused_in_production() -> None:
    with pytest.raises(ValidationError, match="CORS"):
        make_settings(
            environment="production",
            database_url="postgresql://db/rapport",
            webhook_allow_private_networks=False,
            webhook_allow_http=False,
            oidc_allow_private_networks=False,
            oidc_allow_http=False,
            cors_origins="https://app.example.com, *",
        )
    assert make_settings(cors_origins="*").allowed_origins == ("*",)
