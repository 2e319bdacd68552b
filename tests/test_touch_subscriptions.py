"""A mail sender subscribed to ``touch.due`` receives sends only; members get ``task.*``.

Two real receivers on 127.0.0.1, one subscribed as the docs tell a mail sender to be
(``touch.due``), one as a to-do integration (``task.*``). The season is played in the
past (the clock ticks from seventy days ago) so that the deliveries, sent at the end,
carry timestamps the receivers' signature check accepts.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from app.db import Database
from app.services.touches.jobs import emit_touches, top_up_touches
from tests.conftest import Tenant
from tests.touch_fixtures import add_contact, add_member
from tests.webhook_helpers import Harness, harness
from tests.webhook_receiver import Receiver, running

# The built-in 8x8, by step position: (channel, mode).
EIGHT_BY_EIGHT = [
    ("card", "manual"),
    ("email", "automated"),
    ("email", "automated"),
    ("call", "manual"),
    ("email", "automated"),
    ("email", "automated"),
    ("gift", "manual"),
    ("call", "manual"),
]


async def _endpoint(h: Harness, tenant: Tenant, receiver: Receiver, types: list[str]) -> None:
    endpoint = await h.endpoint(tenant, receiver.url, event_types=types)
    receiver.secrets = [endpoint["secret"]]


def _received(receiver: Receiver) -> list[dict[str, Any]]:
    assert all(r.verified_with == receiver.secrets for r in receiver.received)
    return [json.loads(r.body) for r in receiver.received]


async def test_a_touch_due_subscriber_gets_only_the_fresh_automated_steps_of_a_past_8x8(
    db: Database, tenant: Tenant
) -> None:
    with running() as sender, running() as todo:
        async with harness(db) as h:
            real_now = h.clock.now()
            begin = real_now - timedelta(days=70)
            h.clock.set(begin)
            await _endpoint(h, tenant, sender, ["touch.due"])
            await _endpoint(h, tenant, todo, ["task.*"])
            async with db.transaction() as session:
                owner = await add_member(session, tenant.id, at=begin, name="Dana")
                contact = await add_contact(
                    session, tenant.id, at=begin, owner_id=owner.id, time_zone="America/Chicago"
                )
            plans = await h.api.get("/v1/touch-plans", headers=tenant.headers)
            plan = next(p for p in plans.json()["data"] if p["builtin_key"] == "8x8")
            # Fifteen days back, catching up: week 1 (the card) and week 2 are stale by
            # now, week 3 (yesterday) is still fresh; weeks 4 to 8 are ahead.
            body = {
                "plan_id": plan["id"],
                "contact_id": str(contact.id),
                "start_date": str((begin - timedelta(days=15)).date()),
                "catch_up": True,
            }
            r = await h.api.post("/v1/enrollments", json=body, headers=tenant.headers)
            assert r.status_code == 201, r.text
            while h.clock.now() < begin + timedelta(days=40):  # the scheduler, every 3 h
                h.clock.advance(timedelta(hours=3))
                await top_up_touches(h.db, h.clock, h.settings)
                await emit_touches(h.db, h.clock, h.settings)
            h.clock.set(real_now)
            await h.drain()

    sends = _received(sender)
    assert {e["type"] for e in sends} == {"touch.due"}
    positions = sorted(e["data"]["step"]["position"] for e in sends)  # any order
    assert positions == [2, 4, 5]  # week 2 went stale while nobody could send it
    assert all(e["data"]["mode"] == "automated" for e in sends)
    assert [EIGHT_BY_EIGHT[p] for p in positions] == [("email", "automated")] * 3
    tasks = _received(todo)
    assigned = [e["data"] for e in tasks if e["type"] == "task.assigned"]
    due = [e["data"] for e in tasks if e["type"] == "task.due"]
    (withdrawn,) = [e["data"] for e in tasks if e["type"] == "task.cancelled"]
    assert len(tasks) == len(assigned) + len(due) + 1
    manual = [i for i, (_, mode) in enumerate(EIGHT_BY_EIGHT) if mode == "manual"]
    assert sorted(t["step"]["position"] for t in assigned) == manual
    assert sorted(t["step"]["position"] for t in due) == [3, 6, 7]
    card = next(t["id"] for t in assigned if t["step"]["position"] == 0)
    assert (withdrawn["id"], withdrawn["reason"]) == (card, "stale")  # the card went stale
    assert {t["assignee"]["id"] for t in due} == {str(owner.id)}
    assert all(t["body"] and t["contact"]["name"] == "Pat Lee" for t in due)
