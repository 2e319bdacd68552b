"""One form for every value: what a write answers, what its event carries and what a GET of
the same object shows are the same text, whatever form the client wrote it in (amounts
with the currency's two places, times in UTC with ``Z``, ``send_time`` as ``HH:MM``)."""

from __future__ import annotations

import re
from typing import Any

import httpx

from app.db import Database
from tests.conftest import Tenant
from tests.referral_fixtures import add_contact, events_of, make_program, move, refer

_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def same_as_read(written: dict[str, Any], read: dict[str, Any], what: str) -> None:
    """Every field the GET shows has the same JSON value in ``written``."""
    different = {k: (written[k], v) for k, v in read.items() if k in written and written[k] != v}
    assert different == {}, f"{what} differs from the GET: {different}"


def times_in_utc(document: Any, path: str = "") -> list[str]:
    """Paths of date-times not written in UTC with ``Z``."""
    if isinstance(document, dict):
        return [p for k, v in document.items() for p in times_in_utc(v, f"{path}.{k}")]
    if isinstance(document, list):
        return [p for i, v in enumerate(document) for p in times_in_utc(v, f"{path}[{i}]")]
    if isinstance(document, str) and re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d", document):
        return [] if _UTC.match(document) else [f"{path}: {document}"]
    return []


async def get(client: httpx.AsyncClient, tenant: Tenant, url: str) -> dict[str, Any]:
    r = await client.get(url, headers=tenant.headers)
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


async def test_a_referral_its_transitions_rewards_and_events_read_like_its_get(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    program = await make_program(
        client,
        tenant,
        [
            {"trigger": "received", "amount": {"kind": "fixed", "amount": "25"}, "currency": "USD"},
            {"trigger": "closed", "amount": {"kind": "percent", "percent": "1"}, "currency": "USD"},
        ],
    )
    assert program["rules"][0]["amount"]["amount"] == "25.00"  # stored as answered
    assert (await get(client, tenant, f"/v1/reward-programs/{program['id']}")) == program

    source, referred = await add_contact(db, tenant), await add_contact(db, tenant, "Jordan")
    created = await refer(
        client, tenant, source, referred, expected_value="300000", fee=12.0, currency="USD"
    )
    url = f"/v1/referrals/{created['id']}"
    assert created["expected_value"] == "300000.00"
    assert created["fee"] == "12.00"
    same_as_read(created, await get(client, tenant, url), "the create's answer")
    (event,) = await events_of(client, tenant, "referral.created")
    same_as_read(event["data"], await get(client, tenant, url), "referral.created")

    closed = await move(client, tenant, created["id"], "closed", actual_value="310000.5")
    assert closed["actual_value"] == "310000.50"
    same_as_read(closed, await get(client, tenant, url), "the transition's answer")
    (moved,) = await events_of(client, tenant, "referral.stage_changed")
    same_as_read(moved["data"], await get(client, tenant, url), "referral.stage_changed")

    for reward_event in await events_of(client, tenant, "reward.created"):
        reward = await get(client, tenant, f"/v1/rewards/{reward_event['data']['id']}")
        same_as_read(reward_event["data"], reward, "reward.created")
    amounts = sorted(e["data"]["amount"] for e in await events_of(client, tenant, "reward.created"))
    assert amounts[0] == "25.00"
    assert re.fullmatch(r"3100\.0[01]", amounts[1])  # 1% of 310,000.50, in cents

    feed = await client.get("/v1/events", params={"limit": 200}, headers=tenant.headers)
    assert times_in_utc(feed.json()) == []


async def test_settings_amounts_and_send_times_are_answered_as_read(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = {"touch_costs": {"mail": "1.5", "card": 3}, "tracking_cost_per_referral": "12.5"}
    changed = await client.patch("/v1/analytics/settings", json=body, headers=tenant.headers)
    assert changed.status_code == 200, changed.text
    assert changed.json()["touch_costs"] == {"mail": "1.50", "card": "3.00"}
    assert changed.json()["tracking_cost_per_referral"] == "12.50"
    same_as_read(changed.json(), await get(client, tenant, "/v1/analytics/settings"), "PATCH")

    plan = {
        "name": "Check-ins",
        "referral_reminder": "Know someone thinking of moving? I will gladly call them.",
        "steps": [
            {
                "channel": "email",
                "content_kind": "newsletter",
                "mode": "manual",
                "timing": {"kind": "after_enrollment", "days": 1},
                "send_time": "09:30",
                "body_template": "Hi",
            }
        ],
    }
    created = await client.post("/v1/touch-plans", json=plan, headers=tenant.headers)
    assert created.status_code == 201, created.text
    assert created.json()["steps"][0]["send_time"] == "09:30"
    read = await get(client, tenant, f"/v1/touch-plans/{created.json()['id']}")
    assert read["steps"] == created.json()["steps"]
