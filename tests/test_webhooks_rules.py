"""Delivery rules: what counts as success, Retry-After, 410, exhaustion, the 5-day rule."""

from __future__ import annotations

import random
from datetime import timedelta
from email.utils import format_datetime

import pytest

from app.db import Database
from app.services.webhooks.bookkeeping import Result, claim, finish
from app.services.webhooks.retry import MAX_RETRY_AFTER, next_attempt_at
from app.services.webhooks.sender import parse_retry_after
from tests.conftest import T0, Tenant
from tests.webhook_helpers import harness
from tests.webhook_receiver import Answer, Received, Responder, running


def always(status: int, **headers: str) -> Responder:
    def respond(_: Received) -> Answer:
        return status, headers, b"nope"

    return respond


async def test_a_redirect_is_a_failure_and_is_not_followed(db: Database, tenant: Tenant) -> None:
    with running(always(302, location="/elsewhere")) as receiver:
        async with harness(db) as h:
            await h.endpoint(tenant, receiver.url)
            await h.emit(tenant, "touch.due")
            await h.dispatcher.run_once()
            [delivery] = await h.deliveries()
    assert [r.path for r in receiver.received] == ["/hook"]
    assert delivery.status == "pending"
    assert delivery.last_status_code == 302
    assert delivery.attempt_count == 1


async def test_410_disables_the_endpoint_and_cancels_its_queue(
    db: Database, tenant: Tenant
) -> None:
    with running(always(410)) as receiver:
        async with harness(db, webhook_batch_size=1) as h:
            endpoint = await h.endpoint(tenant, receiver.url)
            await h.emit(tenant, "touch.due", "touch.due")
            await h.dispatcher.run_once()
            first, second = await h.deliveries()
            row = await h.endpoint_row(endpoint["id"])
            disabled = await h.events_of(tenant, "webhook.endpoint_disabled")
            await h.emit(tenant, "touch.due")
            after = await h.deliveries(endpoint["id"])
    assert len(receiver.received) == 1
    assert (first.status, second.status) == ("failed", "cancelled")
    assert not row.enabled
    assert row.disabled_reason == "the endpoint answered 410 Gone"
    assert disabled == [
        {"endpoint_id": endpoint["id"], "url": receiver.url, "reason": row.disabled_reason}
    ]
    assert len(after) == 2  # the disabled endpoint gets nothing new


async def test_exhausted_schedule_fails_with_an_event_that_is_not_sent(
    db: Database, tenant: Tenant
) -> None:
    with running(always(500)) as receiver:
        async with harness(db, webhook_retry_schedule="1,2") as h:
            endpoint = await h.endpoint(tenant, receiver.url)
            [event_id] = await h.emit(tenant, "referral.created")
            await h.drain()
            deliveries = await h.deliveries()
            failed = await h.events_of(tenant, "webhook.delivery_failed")
    assert len(receiver.received) == 3  # first attempt + one per schedule step
    assert [(d.status, d.attempt_count) for d in deliveries] == [("failed", 3)]
    assert failed == [
        {
            "delivery_id": str(deliveries[0].id),
            "endpoint_id": endpoint["id"],
            "event_id": event_id,
            "event_type": "referral.created",
            "attempts": 3,
            "last_status_code": 500,
            "last_error": None,
        }
    ]


async def test_retry_after_lengthens_but_never_shortens_the_wait(
    db: Database, tenant: Tenant
) -> None:
    with running(always(503, **{"retry-after": "300"})) as receiver:
        async with harness(db, webhook_retry_schedule="10") as h:
            await h.endpoint(tenant, receiver.url)
            await h.emit(tenant, "touch.due")
            await h.dispatcher.run_once()
            [delivery] = await h.deliveries()
    assert delivery.next_attempt_at is not None
    assert delivery.next_attempt_at - h.clock.now() >= timedelta(seconds=300)


@pytest.mark.parametrize(
    ("retry_after", "low", "high"),
    [(None, 80, 120), (5.0, 80, 120), (600.0, 600, 600), (10 * 86400.0, 86400, 86400)],
)
def test_next_attempt_respects_schedule_jitter_and_retry_after_limits(
    retry_after: float | None, low: float, high: float
) -> None:
    for seed in range(50):
        at = next_attempt_at([100.0], 1, T0, retry_after=retry_after, rng=random.Random(seed))
        assert at is not None
        assert low <= (at - T0).total_seconds() <= high
    assert MAX_RETRY_AFTER == 86400
    assert next_attempt_at([100.0], 2, T0) is None


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    assert parse_retry_after("120", T0) == 120
    assert parse_retry_after(format_datetime(T0 + timedelta(minutes=5), usegmt=True), T0) == 300
    assert parse_retry_after("soon", T0) is None
    assert parse_retry_after(None, T0) is None


async def test_endpoint_failing_for_days_is_disabled_once(db: Database, tenant: Tenant) -> None:
    with running(always(500)) as receiver:
        async with harness(
            db, webhook_retry_schedule=",".join(["21600"] * 12), webhook_disable_after_days=1
        ) as h:
            endpoint = await h.endpoint(tenant, receiver.url)
            started = h.clock.now()
            await h.emit(tenant, "touch.due")
            await h.dispatcher.run_once()
            assert (await h.endpoint_row(endpoint["id"])).first_failure_at == started
            await h.drain()
            row = await h.endpoint_row(endpoint["id"])
            disabled = await h.events_of(tenant, "webhook.endpoint_disabled")
            [delivery] = await h.deliveries()
    assert not row.enabled
    assert row.disabled_reason == "no successful delivery for 1 days"
    assert row.updated_at - started >= timedelta(days=1)
    assert len(disabled) == 1
    assert delivery.status == "cancelled"
    assert 4 <= len(receiver.received) <= 7  # ~6 h apart over one day, then stopped


async def test_success_clears_the_failure_clock(db: Database, tenant: Tenant) -> None:
    answers = iter([500, 200])
    with running(lambda _: (next(answers), {}, b"")) as receiver:
        async with harness(db) as h:
            endpoint = await h.endpoint(tenant, receiver.url)
            await h.emit(tenant, "touch.due")
            await h.drain()
            row = await h.endpoint_row(endpoint["id"])
    assert len(receiver.received) == 2
    assert row.first_failure_at is None
    assert row.last_success_at == h.clock.now()


async def test_a_stale_lease_holder_cannot_overwrite_the_new_owner(
    db: Database, tenant: Tenant
) -> None:
    with running() as receiver:
        async with harness(db, webhook_lease_seconds=30) as h:
            await h.endpoint(tenant, receiver.url)
            await h.emit(tenant, "touch.due")
            async with db.transaction() as session:
                [stale] = await claim(
                    session, me="stalled", now=h.clock.now(), lease_seconds=30, batch=10
                )
            h.clock.advance(timedelta(seconds=31))
            assert await h.dispatcher.run_once() == 1  # the lost lease is taken over
            async with db.transaction() as session:
                ours = await finish(
                    session, [Result(stale, "pending", True)], me="stalled", now=h.clock.now()
                )
            [delivery] = await h.deliveries()
    assert ours == set()
    assert delivery.status == "succeeded"
    assert delivery.leased_by == "test-worker"
    assert len(receiver.received) == 1
