"""Delivery history, manual retry and replay: re-sent with the same webhook-id."""

from __future__ import annotations

from datetime import timedelta

from app.db import Database
from tests.conftest import Tenant
from tests.webhook_helpers import harness
from tests.webhook_receiver import Answer, Received, running


async def test_manual_retry_resends_a_failed_delivery_with_the_same_id(
    db: Database, tenant: Tenant
) -> None:
    state = {"status": 500}

    def answer(_: Received) -> Answer:
        return state["status"], {}, b"x" * 5000

    with running(answer) as receiver:
        async with harness(db, webhook_retry_schedule="1") as h:
            endpoint = await h.endpoint(tenant, receiver.url)
            receiver.secrets = [endpoint["secret"]]
            [event_id] = await h.emit(tenant, "reward.issued")
            await h.drain()
            [delivery] = await h.deliveries()
            path = f"/v1/webhook-deliveries/{delivery.id}"
            failed = (await h.api.get(path, headers=tenant.headers)).json()
            state["status"] = 200
            h.clock.advance(timedelta(minutes=1))  # the integrator fixes their side
            retried = await h.api.post(f"{path}/retry", headers=tenant.headers)
            await h.dispatcher.run_once()
            done = (await h.api.get(path, headers=tenant.headers)).json()
    assert failed["status"] == "failed"
    assert [a["status_code"] for a in failed["attempts"]] == [500, 500]
    assert len(failed["attempts"][0]["response_body"]) == 2048
    assert retried.status_code == 202
    assert retried.json()["status"] == "pending"
    assert done["status"] == "succeeded"
    assert done["event_id"] == event_id
    assert [a["status_code"] for a in done["attempts"]] == [500, 500, 200]
    assert receiver.ids() == [event_id] * 3
    assert receiver.received[-1].verified_with == [endpoint["secret"]]


async def test_replay_requeues_deliveries_since_a_time(db: Database, tenant: Tenant) -> None:
    with running() as receiver:
        async with harness(db) as h:
            endpoint = await h.endpoint(tenant, receiver.url)
            old = await h.emit(tenant, "touch.due")
            h.clock.advance(timedelta(hours=1))
            since = h.clock.now()
            recent = await h.emit(tenant, "touch.due", "contact.created")
            await h.dispatcher.run_once()
            path = f"/v1/webhook-endpoints/{endpoint['id']}/replay"
            only_failed = await h.api.post(
                path, json={"since": since.isoformat()}, headers=tenant.headers
            )
            everything = await h.api.post(
                path, json={"since": since.isoformat(), "status": "all"}, headers=tenant.headers
            )
            await h.dispatcher.run_once()
    assert only_failed.json() == {"count": 0}
    assert everything.status_code == 202
    assert everything.json() == {"count": 2}
    assert sorted(receiver.ids()) == sorted(old + recent + recent)


async def test_delivery_list_filters_and_pages(db: Database, tenant: Tenant) -> None:
    with running() as receiver:
        async with harness(db) as h:
            endpoint = await h.endpoint(tenant, receiver.url)
            await h.emit(tenant, "touch.due", "touch.due", "contact.created")
            path = f"/v1/webhook-endpoints/{endpoint['id']}/deliveries"
            pending = await h.api.get(path, params={"status": "pending"}, headers=tenant.headers)
            await h.dispatcher.run_once()
            touches = await h.api.get(
                path, params={"event_type": "touch.due", "limit": 1}, headers=tenant.headers
            )
            rest = await h.api.get(
                path,
                params={
                    "event_type": "touch.due",
                    "limit": 1,
                    "cursor": touches.json()["next_cursor"],
                },
                headers=tenant.headers,
            )
            succeeded = await h.api.get(
                path, params={"status": "succeeded"}, headers=tenant.headers
            )
    assert len(pending.json()["data"]) == 3
    assert [d["event_type"] for d in touches.json()["data"]] == ["touch.due"]
    assert [d["event_type"] for d in rest.json()["data"]] == ["touch.due"]
    assert touches.json()["data"][0]["id"] != rest.json()["data"][0]["id"]
    assert len(succeeded.json()["data"]) == 3
    assert all("secret" not in d for d in succeeded.json()["data"])


async def test_retry_and_replay_refuse_a_disabled_endpoint(db: Database, tenant: Tenant) -> None:
    with running() as receiver:
        async with harness(db) as h:
            endpoint = await h.endpoint(tenant, receiver.url)
            await h.emit(tenant, "touch.due")
            await h.dispatcher.run_once()
            [delivery] = await h.deliveries()
            await h.api.patch(
                f"/v1/webhook-endpoints/{endpoint['id']}",
                json={"enabled": False},
                headers=tenant.headers,
            )
            retry = await h.api.post(
                f"/v1/webhook-deliveries/{delivery.id}/retry", headers=tenant.headers
            )
            replay = await h.api.post(
                f"/v1/webhook-endpoints/{endpoint['id']}/replay",
                json={"since": "2020-01-01T00:00:00Z"},
                headers=tenant.headers,
            )
    assert (retry.status_code, replay.status_code) == (409, 409)
