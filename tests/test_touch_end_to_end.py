"""End to end: enrol → scheduler tick → signed webhook to a local receiver → outcome → log.

No sleeping: the tick is the scheduler's job function called with the harness's frozen
clock, and the webhook dispatcher is run once; only the HTTP hop is real.
"""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from app.db import Database
from app.models.contacts.tables import Interaction
from app.services.touches.jobs import emit_touches, top_up_touches
from tests.conftest import Tenant
from tests.test_touch_plans_api import plan_body
from tests.touch_fixtures import add_contact, add_member, daytime_zone
from tests.webhook_helpers import harness
from tests.webhook_receiver import running


async def test_enrol_tick_signed_webhook_outcome_interaction(db: Database, tenant: Tenant) -> None:
    with running() as receiver:
        async with harness(db) as h:
            endpoint = await h.endpoint(tenant, receiver.url, event_types=["touch.*"])
            receiver.secrets = [endpoint["secret"]]
            now = h.clock.now()
            async with db.transaction() as session:
                owner = await add_member(session, tenant.id, at=now, name="Dana")
                contact = await add_contact(
                    session,
                    tenant.id,
                    at=now,
                    first_name="Ada",
                    owner_id=owner.id,
                    time_zone=daytime_zone(now),
                )
            r = await h.api.post("/v1/touch-plans", json=plan_body(), headers=tenant.headers)
            plan = r.json()
            r = await h.api.post(
                "/v1/enrollments",
                json={
                    "plan_id": plan["id"],
                    "contact_id": str(contact.id),
                    "start_date": str(now.date() - timedelta(days=1)),
                    "catch_up": True,  # yesterday's first step is still fresh
                },
                headers=tenant.headers,
            )
            assert r.status_code == 201, r.text

            assert await top_up_touches(h.db, h.clock, h.settings) == 0
            assert await emit_touches(h.db, h.clock, h.settings) == 1
            assert await emit_touches(h.db, h.clock, h.settings) == 0
            assert await h.dispatcher.run_once() == 1

            [got] = receiver.received
            assert got.verified_with == [endpoint["secret"]]
            event = json.loads(got.body)
            assert event["type"] == "touch.due"
            touch = event["data"]
            assert touch["subject"] == "Old news for Ada"
            assert touch["recipient"] == {"email": "pat@example.com"}
            assert touch["referral_reminder"] == "Send us a friend: Dana will call them."

            r = await h.api.post(
                f"/v1/touches/{touch['id']}/outcome",
                json={"outcome": "delivered", "provider_message_id": "esp-42"},
                headers=tenant.headers,
            )
            assert r.status_code == 200, r.text
            assert r.json()["status"] == "completed"
            assert await h.dispatcher.run_once() == 1  # touch.completed goes out too

    async with db.transaction() as session:
        logged = (await session.execute(select(Interaction))).scalars().all()
    assert [(str(i.touch_id), i.contact_id, i.direction) for i in logged] == [
        (touch["id"], contact.id, "outbound")
    ]
    assert [json.loads(r.body)["type"] for r in receiver.received] == [
        "touch.due",
        "touch.completed",
    ]
