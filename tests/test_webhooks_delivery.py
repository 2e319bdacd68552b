"""The dispatcher against a real local receiver: signing, ids, retries on schedule."""

from __future__ import annotations

import itertools
import json
import math
from datetime import timedelta

from app.db import Database
from tests.conftest import Tenant
from tests.webhook_helpers import harness
from tests.webhook_receiver import Answer, Received, running


async def test_signed_body_verifies_and_is_exactly_the_event(db: Database, tenant: Tenant) -> None:
    with running() as receiver:
        async with harness(db) as h:
            endpoint = await h.endpoint(tenant, receiver.url)
            receiver.secrets = [endpoint["secret"]]
            [event_id] = await h.emit(tenant, "touch.due")
            assert await h.dispatcher.run_once() == 1
    [got] = receiver.received
    assert got.verified_with == [endpoint["secret"]]
    assert got.webhook_id == event_id
    assert got.headers["content-type"] == "application/json"
    assert got.headers["user-agent"] == "Rapport-Webhooks/1.0"
    body = json.loads(got.body)
    assert set(body) == {"type", "timestamp", "data", "actor"}
    assert body["type"] == "touch.due"
    assert body["data"] == {"n": 0}
    assert body["actor"] == {"type": "system", "id": None, "name": "system"}


async def test_retries_keep_the_id_and_take_a_new_timestamp(db: Database, tenant: Tenant) -> None:
    answers = iter([500, 500, 200])

    def flaky(_: Received) -> Answer:
        return next(answers), {}, b"try later"

    with running(flaky) as receiver:
        async with harness(db) as h:
            endpoint = await h.endpoint(tenant, receiver.url)
            receiver.secrets = [endpoint["secret"]]
            [event_id] = await h.emit(tenant, "contact.created")
            times = []
            for _ in range(3):
                times.append(h.clock.now())
                assert await h.dispatcher.run_once() == 1
                assert await h.dispatcher.run_once() == 0  # not due again yet
                [delivery] = await h.deliveries()
                if delivery.next_attempt_at is not None:
                    h.clock.set(delivery.next_attempt_at)
            attempts = await h.attempts(delivery.id)
    assert delivery.status == "succeeded"
    assert [a.status_code for a in attempts] == [500, 500, 200]
    assert attempts[0].response_body == "try later"
    assert receiver.ids() == [event_id] * 3
    assert all(r.verified_with == [endpoint["secret"]] for r in receiver.received)
    stamps = [r.headers["webhook-timestamp"] for r in receiver.received]
    assert stamps == [str(math.floor(t.timestamp())) for t in times]
    assert len(set(stamps)) == 3


async def test_every_event_is_delivered_after_an_outage_on_schedule(
    db: Database, tenant: Tenant
) -> None:
    state = {"down": True}

    def outage(_: Received) -> Answer:
        return (503 if state["down"] else 200), {}, b""

    schedule = [10.0, 20.0, 40.0, 80.0]
    with running(outage) as receiver:
        async with harness(db, webhook_retry_schedule="10,20,40,80") as h:
            endpoint = await h.endpoint(tenant, receiver.url)
            event_ids = await h.emit(tenant, *["touch.due"] * 25)
            for _ in range(3):  # three failed rounds, each on its jittered step
                await h.dispatcher.run_once()
                h.clock.set(min(d.next_attempt_at for d in await h.deliveries()))
            state["down"] = False
            await h.drain()
            deliveries = await h.deliveries(endpoint["id"])
            histories = [await h.attempts(d.id) for d in deliveries]
    assert {d.status for d in deliveries} == {"succeeded"}
    assert set(receiver.ids()) == set(event_ids)
    for history in histories:
        codes = [a.status_code for a in history]
        assert codes[-1] == 200
        assert set(codes[:-1]) == {503}
        gaps = [
            (b.attempted_at - a.attempted_at).total_seconds()
            for a, b in itertools.pairwise(history)
        ]
        for step, gap in zip(schedule, gaps, strict=False):
            assert 0.8 * step <= gap <= 1.2 * step + 1e-6, (step, gaps)


async def test_rotation_sends_both_signatures_for_a_day(db: Database, tenant: Tenant) -> None:
    with running() as receiver:
        async with harness(db) as h:
            endpoint = await h.endpoint(tenant, receiver.url)
            rotated = await h.api.post(
                f"/v1/webhook-endpoints/{endpoint['id']}/rotate-secret", headers=tenant.headers
            )
            new_secret = rotated.json()["secret"]
            receiver.secrets = [endpoint["secret"], new_secret]
            await h.emit(tenant, "touch.due")
            await h.dispatcher.run_once()
            h.clock.advance(timedelta(hours=24, seconds=1))
            await h.emit(tenant, "touch.due")
            await h.dispatcher.run_once()
    first, second = receiver.received
    assert first.verified_with == [endpoint["secret"], new_secret]
    assert len(first.headers["webhook-signature"].split(" ")) == 2
    assert len(second.headers["webhook-signature"].split(" ")) == 1
