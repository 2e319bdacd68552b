"""Webhook endpoints API and the fan-out of events into deliveries."""

from __future__ import annotations

import base64
import uuid

import httpx
import pytest
from sqlalchemy import select

from app.db import Database
from app.models.platform.event import Event
from app.models.webhooks.tables import WebhookDelivery
from app.services.platform.events import record_events
from tests.conftest import T0, Tenant

URL = "http://127.0.0.1:9/hook"


async def create(client: httpx.AsyncClient, tenant: Tenant, **body: object) -> dict[str, object]:
    response = await client.post(
        "/v1/webhook-endpoints", json={"url": URL, **body}, headers=tenant.headers
    )
    assert response.status_code == 201, response.text
    data: dict[str, object] = response.json()
    return data


async def deliveries_by_type(db: Database, endpoint_id: object) -> list[str]:
    async with db.transaction() as session:
        rows = await session.execute(
            select(Event.type)
            .join(
                WebhookDelivery,
                (WebhookDelivery.workspace_id == Event.workspace_id)
                & (WebhookDelivery.event_id == Event.id),
            )
            .where(WebhookDelivery.endpoint_id == uuid.UUID(str(endpoint_id)))
            .order_by(Event.id)
        )
        return [r[0] for r in rows]


async def test_create_returns_a_strong_secret_once(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = await create(client, tenant, description="CRM", event_types=["touch.*"])
    secret = str(created["secret"])
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) >= 24
    listed = await client.get("/v1/webhook-endpoints", headers=tenant.headers)
    got = await client.get(f"/v1/webhook-endpoints/{created['id']}", headers=tenant.headers)
    assert got.headers["etag"] == '"1"'
    for response in (listed, got):
        assert response.status_code == 200
        assert "secret" not in response.text
        assert secret not in response.text
    assert listed.json()["data"][0]["event_types"] == ["touch.*"]


@pytest.mark.parametrize(
    ("filters", "bad"),
    [(["touch.due", "tuch.due"], "tuch.due"), (["nothing.*"], "nothing.*"), (["*"], "*")],
)
async def test_unknown_event_types_are_refused_naming_the_field(
    client: httpx.AsyncClient, tenant: Tenant, filters: list[str], bad: str
) -> None:
    response = await client.post(
        "/v1/webhook-endpoints",
        json={"url": URL, "event_types": filters},
        headers=tenant.headers,
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"][:2] == ["body", "event_types"]
    assert bad in response.text


async def test_fan_out_follows_filters_in_the_events_transaction(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant, db: Database
) -> None:
    everything = await create(client, tenant)
    touches = await create(client, tenant, event_types=["touch.*"])
    exact = await create(client, tenant, event_types=["referral.created", "contact.created"])
    disabled = await create(client, tenant, enabled=False)
    foreign = await create(client, other_tenant)
    kinds = [
        "touch.due",
        "contact.created",
        "referral.stage_changed",
        "webhook.delivery_failed",
        "webhook.endpoint_disabled",
    ]
    async with db.transaction() as session:
        await record_events(session, tenant.id, [(k, {"n": 1}) for k in kinds], at=T0)
    assert await deliveries_by_type(db, everything["id"]) == [
        "touch.due",
        "contact.created",
        "referral.stage_changed",
    ]
    assert await deliveries_by_type(db, touches["id"]) == ["touch.due"]
    assert await deliveries_by_type(db, exact["id"]) == ["contact.created"]
    assert await deliveries_by_type(db, disabled["id"]) == []
    assert await deliveries_by_type(db, foreign["id"]) == []


async def test_rolled_back_events_leave_no_deliveries(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    endpoint = await create(client, tenant)

    async def failing_change() -> None:
        async with db.transaction() as session:
            await record_events(session, tenant.id, [("touch.due", {})], at=T0)
            raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError):
        await failing_change()
    assert await deliveries_by_type(db, endpoint["id"]) == []


async def test_test_event_goes_only_to_its_endpoint_without_secrets(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    target = await create(client, tenant)
    bystander = await create(client, tenant)
    response = await client.post(
        f"/v1/webhook-endpoints/{target['id']}/test", headers=tenant.headers
    )
    assert response.status_code == 202, response.text
    assert response.json()["event_id"].startswith("evt_")
    assert await deliveries_by_type(db, target["id"]) == ["webhook.test"]
    assert await deliveries_by_type(db, bystander["id"]) == []
    delivery = await client.get(
        f"/v1/webhook-deliveries/{response.json()['delivery_id']}", headers=tenant.headers
    )
    assert delivery.json()["event_id"] == response.json()["event_id"]
    feed = await client.get("/v1/events", headers=tenant.headers)
    assert [e["type"] for e in feed.json()["data"]] == ["webhook.test"]
    for secret in (target["secret"], bystander["secret"]):
        assert str(secret) not in feed.text


async def test_rotate_returns_a_new_secret_and_keeps_it_out_of_reads(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = await create(client, tenant)
    rotated = await client.post(
        f"/v1/webhook-endpoints/{created['id']}/rotate-secret", headers=tenant.headers
    )
    assert rotated.status_code == 200
    assert rotated.json()["secret"] != created["secret"]
    got = await client.get(f"/v1/webhook-endpoints/{created['id']}", headers=tenant.headers)
    assert rotated.json()["secret"] not in got.text
    assert str(created["secret"]) not in got.text


async def test_patch_checks_the_version_and_disabling_cancels_the_queue(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    created = await create(client, tenant)
    path = f"/v1/webhook-endpoints/{created['id']}"
    async with db.transaction() as session:
        await record_events(session, tenant.id, [("touch.due", {})], at=T0)
    stale = await client.patch(
        path, json={"description": "x"}, headers={**tenant.headers, "If-Match": '"7"'}
    )
    assert stale.status_code == 412
    off = await client.patch(
        path, json={"enabled": False}, headers={**tenant.headers, "If-Match": '"1"'}
    )
    assert off.status_code == 200, off.text
    assert off.json()["disabled_reason"] == "disabled through the API"
    listed = await client.get(f"{path}/deliveries", headers=tenant.headers)
    assert [d["status"] for d in listed.json()["data"]] == ["cancelled"]
    on = await client.patch(path, json={"enabled": True}, headers=tenant.headers)
    assert on.json()["disabled_reason"] is None
    assert on.headers["etag"] == '"3"'


async def test_other_workspaces_get_404_on_every_id_route(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    created = await create(client, tenant)
    test = await client.post(f"/v1/webhook-endpoints/{created['id']}/test", headers=tenant.headers)
    endpoint = f"/v1/webhook-endpoints/{created['id']}"
    delivery = f"/v1/webhook-deliveries/{test.json()['delivery_id']}"
    h = other_tenant.headers
    responses = [
        await client.get(endpoint, headers=h),
        await client.patch(endpoint, json={"description": "mine"}, headers=h),
        await client.post(f"{endpoint}/rotate-secret", headers=h),
        await client.post(f"{endpoint}/test", headers=h),
        await client.get(f"{endpoint}/deliveries", headers=h),
        await client.post(f"{endpoint}/replay", json={"since": "2020-01-01T00:00:00Z"}, headers=h),
        await client.get(delivery, headers=h),
        await client.post(f"{delivery}/retry", headers=h),
        await client.delete(endpoint, headers=h),
    ]
    assert [r.status_code for r in responses] == [404] * len(responses)
    assert (await client.get(endpoint, headers=tenant.headers)).status_code == 200


async def test_delete_removes_the_endpoint(client: httpx.AsyncClient, tenant: Tenant) -> None:
    created = await create(client, tenant)
    path = f"/v1/webhook-endpoints/{created['id']}"
    assert (await client.delete(path, headers=tenant.headers)).status_code == 204
    assert (await client.get(path, headers=tenant.headers)).status_code == 404
