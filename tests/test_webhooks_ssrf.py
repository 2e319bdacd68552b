"""The SSRF guard on webhooks, at registration and again at send time (DNS rebinding)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from app.clock import FrozenClock
from app.db import Database
from app.main import create_app
from app.models.webhooks.tables import WebhookEndpointCreate
from app.services.platform.ssrf import UnsafeUrl
from app.services.webhooks.endpoints import UrlPolicy, create_endpoint
from tests.conftest import T0, Tenant, make_settings
from tests.test_ssrf import FORBIDDEN_ADDRESSES, PUBLIC_V4, fixed
from tests.webhook_helpers import harness, register_endpoint
from tests.webhook_receiver import running

HOST = "hooks.example.com"


def literal(address: str) -> str:
    return f"[{address}]" if ":" in address else address


@pytest.fixture
async def strict_api(db: Database, clock: FrozenClock) -> AsyncIterator[httpx.AsyncClient]:
    """The production guard: https only, public addresses only."""
    settings = make_settings(webhook_allow_private_networks=False, webhook_allow_http=False)
    app = create_app(settings, database=db, clock=clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        yield c


@pytest.mark.parametrize(
    "url",
    [f"https://{literal(a)}/hook" for a in FORBIDDEN_ADDRESSES]
    + [
        "https://localhost/hook",
        "https://metadata.internal/hook",
        "https://printer.local/hook",
        "https://2130706433/hook",
        "https://0x7f.1/hook",
        "https://user:pw@hooks.example.com/hook",
        f"http://{PUBLIC_V4}/hook",  # plain http is refused unless allowed
        "ftp://hooks.example.com/hook",
    ],
)
async def test_forbidden_targets_are_refused_at_registration(
    strict_api: httpx.AsyncClient, tenant: Tenant, url: str
) -> None:
    response = await strict_api.post(
        "/v1/webhook-endpoints", json={"url": url}, headers=tenant.headers
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"] == ["body", "url"]


@pytest.mark.parametrize("address", FORBIDDEN_ADDRESSES)
async def test_names_resolving_to_forbidden_addresses_are_refused_at_registration(
    db: Database, tenant: Tenant, address: str
) -> None:
    policy = UrlPolicy(allow_private=False, allow_http=False, resolver=fixed(address))
    async with db.transaction() as session:
        with pytest.raises(UnsafeUrl, match="non-public"):
            await create_endpoint(
                session,
                tenant.id,
                WebhookEndpointCreate(url=f"https://{HOST}/hook"),
                policy=policy,
                at=T0,
            )


async def test_rebinding_to_any_forbidden_address_is_refused_at_send(
    db: Database, tenant: Tenant
) -> None:
    """One endpoint per forbidden address form, each public when registered and rebound
    to its form by send time; one round tries them all and connects to none."""
    hosts = {f"h{i}.example.com": address for i, address in enumerate(FORBIDDEN_ADDRESSES)}

    async def rebound(host: str, port: int) -> list[str]:
        return [hosts[host]]

    with running() as receiver:
        for host in hosts:
            url = f"http://{host}:{receiver.port}/hook"
            await register_endpoint(db, tenant, url, fixed(PUBLIC_V4))
        async with harness(
            db, resolver=rebound, webhook_allow_private_networks=False, webhook_batch_size=100
        ) as h:
            await h.emit(tenant, "touch.due")
            assert await h.dispatcher.run_once() == len(hosts)
            deliveries = await h.deliveries()
            attempts = [a for d in deliveries for a in await h.attempts(d.id)]
    assert receiver.received == []  # no connection was made
    assert len(attempts) == len(hosts)
    for attempt in attempts:
        assert attempt.status_code is None
        assert attempt.error is not None
        assert attempt.error.startswith("refused by the SSRF guard"), attempt.error
    assert {d.status for d in deliveries} == {"pending"}  # retried on schedule, like any failure


async def test_the_request_goes_to_the_checked_address_with_the_original_host(
    db: Database, tenant: Tenant
) -> None:
    with running() as receiver:
        url = f"http://{HOST}:{receiver.port}/hook"
        secret = await register_endpoint(db, tenant, url, fixed("127.0.0.1"), allow_private=True)
        receiver.secrets = [secret]
        async with harness(db, resolver=fixed("127.0.0.1")) as h:  # private allowed, as locally
            await h.emit(tenant, "touch.due")
            await h.dispatcher.run_once()
    [got] = receiver.received
    assert got.headers["host"] == f"{HOST}:{receiver.port}"
    assert got.verified_with == [secret]
