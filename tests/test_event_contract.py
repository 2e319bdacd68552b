"""The event catalogue documents the payloads Rapport really records and sends.

Integrators generate code from the catalogue's examples (the OpenAPI ``webhooks`` section,
docs/WEBHOOKS.md), so an example that lacks a key the event carries, has one it does not,
or shows a string where the event has an object, is a broken contract. Each scenario below
drives one area through the API (the scheduler's job functions with the frozen clock, the
webhook dispatcher once against a local receiver) until every event type of that area has
been recorded, then compares the shape of every recorded payload with its example: the
same keys at every level of nesting, and the same JSON type for each value (null on
either side matches anything: an optional field is null in one of the two).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from app.clock import FrozenClock
from app.config import Settings
from app.db import Database
from app.models.platform.event_catalogue import BY_NAME, CATALOGUE, EVENT_TYPES
from app.services.referrals.follow_up import follow_up_job
from app.services.scores import agenda_ready_job
from app.services.touches.jobs import emit_touches
from tests.conftest import Tenant
from tests.event_schemas import schema_problems
from tests.webhook_helpers import harness
from tests.webhook_receiver import Answer, Received, running

# The types each scenario below must record; together, the whole catalogue.
TOUCH_TYPES = (
    "touch.due",
    "touch.sent",
    "touch.completed",
    "touch.skipped",
    "touch.failed",
    "task.assigned",
    "task.due",
    "task.cancelled",
    "enrollment.completed",
)
CONTACT_TYPES = (
    "contact.created",
    "contact.updated",
    "contact.deleted",
    "contact.merged",
    "contact.lapsed",
    "contact.stage_changed",
)
REFERRAL_TYPES = (
    "referral.created",
    "referral.stage_changed",
    "referral.deleted",
    "referral.follow_up_overdue",
    "reward.created",
    "reward.issued",
)
WEBHOOK_TYPES = ("webhook.test", "webhook.delivery_failed", "webhook.endpoint_disabled")
AGENDA_TYPES = ("agenda.ready",)

#: Objects whose keys are the client's own data (any JSON object it stored), not part of
#: the contract: only their type is compared.
#: ``body`` of an agenda action is the example request body of that action's own route.
FREE_FORM = frozenset({"custom_fields", "external_ids", "body"})
NEW = "in the event, not in the catalogue"
GONE = "in the catalogue, not in the event"


# --- comparing shapes -------------------------------------------------------------------


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):  # before int: a bool is an int in Python, not in JSON
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    raise TypeError(f"not a JSON value: {value!r}")


def shape_differences(real: Any, example: Any, path: str = "data") -> list[str]:
    """How ``real`` (a recorded payload) and ``example`` (its catalogue entry) differ.

    Arrays are homogeneous in Rapport's payloads, so each item of the real array is held
    against the example's first item (when both have one).
    """
    if real is None or example is None:
        return []
    real_kind, example_kind = _kind(real), _kind(example)
    if real_kind != example_kind:
        return [f"{path}: {real_kind} in the event, {example_kind} in the catalogue"]
    if isinstance(real, dict) and path.rsplit(".", 1)[-1] not in FREE_FORM:
        found = [f"{path}.{k}: {NEW}" for k in real.keys() - example]
        found += [f"{path}.{k}: {GONE}" for k in example.keys() - real]
        for key in real.keys() & example.keys():
            found += shape_differences(real[key], example[key], f"{path}.{key}")
        return sorted(found)
    if isinstance(real, list) and real and example:
        return [
            difference
            for i, item in enumerate(real)
            for difference in shape_differences(item, example[0], f"{path}[{i}]")
        ]
    return []


@pytest.mark.parametrize(
    ("real", "example", "expected"),
    [
        ({"a": 1, "b": {"c": "x"}}, {"a": 2.5, "b": {"c": "y"}}, []),
        ({"a": None, "b": "x"}, {"a": {"deep": 1}, "b": None}, []),
        ({"a": 1}, {"a": 1, "b": 2}, [f"data.b: {GONE}"]),
        ({"a": {"c": 1, "d": 2}}, {"a": {"c": 1}}, [f"data.a.d: {NEW}"]),
        ({"a": [{"x": 1, "y": 2}]}, {"a": [{"x": 1}]}, [f"data.a[0].y: {NEW}"]),
        ({"a": True}, {"a": 1}, ["data.a: bool in the event, number in the catalogue"]),
        ({"a": "50.00"}, {"a": 50}, ["data.a: string in the event, number in the catalogue"]),
        ({"custom_fields": {"mine": 1}}, {"custom_fields": {"yours": 2}}, []),
        ({"tags": {}}, {"tags": []}, ["data.tags: object in the event, array in the catalogue"]),
    ],
)
def test_shape_comparison_catches_missing_extra_and_mistyped_keys(
    real: dict[str, Any], example: dict[str, Any], expected: list[str]
) -> None:
    assert shape_differences(real, example) == expected


def test_every_example_is_valid_under_its_documented_schema() -> None:
    for event in CATALOGUE:
        assert schema_problems(event.name, event.example) == [], event.name


def test_the_document_refuses_a_payload_of_the_wrong_form() -> None:
    wrong = {**BY_NAME["reward.issued"].example, "amount": 50, "status": "lost"}
    assert len(schema_problems("reward.issued", wrong)) == 2


def test_the_scenarios_together_cover_every_catalogued_type() -> None:
    covered = [*TOUCH_TYPES, *CONTACT_TYPES, *REFERRAL_TYPES, *WEBHOOK_TYPES, *AGENDA_TYPES]
    assert len(covered) == len(set(covered))
    assert set(covered) == EVENT_TYPES  # a new type needs a scenario here


async def recorded(client: httpx.AsyncClient, tenant: Tenant) -> dict[str, list[Any]]:
    """Every payload in the feed, by type, as ``GET /v1/events`` shows it to integrators.

    An erased contact's earlier events keep only ``{"id", "erased": true}`` (the right to
    erasure, documented with ``contact.deleted``); that form is not a type's payload.
    """
    by_type: dict[str, list[Any]] = {}
    params: dict[str, Any] = {"limit": 200}
    while True:
        r = await client.get("/v1/events", params=params, headers=tenant.headers)
        assert r.status_code == 200, r.text
        page = r.json()
        for event in page["data"]:
            if event["data"].get("erased") is not True:
                by_type.setdefault(event["type"], []).append(event["data"])
        if not page["data"] or page["next_cursor"] is None:
            return by_type
        params["cursor"] = page["next_cursor"]


def assert_matches_catalogue(events: dict[str, list[Any]], types: tuple[str, ...]) -> None:
    missing = [t for t in types if not events.get(t)]
    assert missing == [], f"the scenario recorded no {missing}"
    problems = [
        f"{event_type} #{n}: {difference}"
        for event_type in types
        for n, payload in enumerate(events[event_type])
        for difference in shape_differences(payload, BY_NAME[event_type].example)
    ]
    assert problems == [], "payloads and catalogue disagree:\n" + "\n".join(problems)
    invalid = [
        f"{event_type} #{n}: {problem}"
        for event_type in types
        for n, payload in enumerate(events[event_type])
        for problem in schema_problems(event_type, payload)
    ]
    assert invalid == [], "payloads the document's schemas refuse:\n" + "\n".join(invalid)


# --- scenarios ----------------------------------------------------------------------------


async def post(client: httpx.AsyncClient, tenant: Tenant, url: str, body: Any = None) -> Any:
    r = await client.post(url, json=body, headers=tenant.headers)
    assert r.status_code in (200, 201, 202), r.text
    return r.json()


async def add_member(client: httpx.AsyncClient, tenant: Tenant) -> dict[str, Any]:
    body = {"name": "Dana Whitfield", "email": "dana@example.com"}
    member: dict[str, Any] = await post(client, tenant, "/v1/members", body)
    return member


def person(first: str, last: str, owner_id: str, **extra: Any) -> dict[str, Any]:
    """A contact as a firm would enter it: most fields filled, so nested shapes show."""
    return {
        "first_name": first,
        "last_name": last,
        "job_title": "Architect",
        "company": "Lee & Partners",
        "emails": [{"address": f"{first.lower()}@example.com", "type": "home", "primary": True}],
        "phones": [{"number": "+1 415 555 0123", "type": "mobile"}],
        "address": {"line1": "12 Elm St", "city": "Springfield", "region": "IL", "country": "US"},
        "time_zone": "America/Chicago",
        "locale": "en-US",
        "owner_id": owner_id,
        "segment": "client",
        "family": [{"name": "Sam", "relation": "child", "birthday": "2015-04-02"}],
        "interests": ["golf"],
        "tags": ["2024-buyer"],
        "custom_fields": {"lead_source": "open house"},
        "consent": {"email": {"status": "granted", "source": "closing paperwork"}},
        "external_ids": {"hubspot": f"hs-{first.lower()}"},
        **extra,
    }


async def test_touch_and_enrolment_events_match_the_catalogue(
    client: httpx.AsyncClient, tenant: Tenant, db: Database, clock: FrozenClock, settings: Settings
) -> None:
    """One enrolment: an e-mail touch sent then delivered, one bounced, an SMS skipped (no
    consent), a call done by the member (a task: assigned, due, completed); another
    enrolment paused before its day, its task withdrawn."""
    member = await add_member(client, tenant)
    consent = {"email": {"status": "granted"}, "call": {"status": "granted"}}
    jordan = person("Jordan", "Lee", member["id"], consent=consent)
    contact = await post(client, tenant, "/v1/contacts", jordan)

    def step(channel: str, subject: str, mode: str = "automated") -> dict[str, Any]:
        return {
            "channel": channel,
            "content_kind": "market_report",
            "mode": mode,
            "subject_template": f"{subject} for {{{{ contact.first_name }}}}",
            "body_template": "Hi {{ contact.first_name }}. {{ referral_reminder }}",
            "timing": {"kind": "after_enrollment", "days": 0},
        }

    plan = await post(
        client,
        tenant,
        "/v1/touch-plans",
        {
            "name": "Market updates",
            "referral_reminder": "Know someone moving? {{ member.name }} will call them.",
            "steps": [
                step("email", "Prices"),
                step("email", "Rates"),
                step("sms", "News"),
                step("call", "Call", mode="manual"),
            ],
        },
    )
    body = {"plan_id": plan["id"], "contact_id": contact["id"]}
    await post(client, tenant, "/v1/enrollments", body)
    other = await post(client, tenant, "/v1/contacts", person("Sam", "Roe", member["id"]))
    paused = await post(
        client, tenant, "/v1/enrollments", {"plan_id": plan["id"], "contact_id": other["id"]}
    )
    await post(client, tenant, f"/v1/enrollments/{paused['id']}/pause")  # its task withdrawn
    clock.advance(timedelta(hours=3))  # 09:00 in Chicago: the send window opens
    assert await emit_touches(db, clock, settings) == 4

    events = await recorded(client, tenant)
    first, second = (t["id"] for t in events["touch.due"])
    (task,) = events["task.due"]
    await post(client, tenant, f"/v1/touches/{first}/outcome", {"outcome": "sent"})
    await post(client, tenant, f"/v1/touches/{first}/outcome", {"outcome": "delivered"})
    outcome = {"outcome": "bounced", "provider_message_id": "esp-7", "note": "mailbox full"}
    await post(client, tenant, f"/v1/touches/{second}/outcome", outcome)
    await post(client, tenant, f"/v1/touches/{task['id']}/outcome", {"outcome": "completed"})

    assert_matches_catalogue(await recorded(client, tenant), TOUCH_TYPES)


async def test_contact_events_match_the_catalogue(
    client: httpx.AsyncClient, tenant: Tenant, clock: FrozenClock
) -> None:
    """Created, edited, pinned to a stage, merged with a duplicate, erased, then lapsed."""
    member = await add_member(client, tenant)
    jordan = await post(client, tenant, "/v1/contacts", person("Jordan", "Lee", member["id"]))
    twin = person("Jordy", "Lee", member["id"], external_ids={"salesforce": "003-9"})
    duplicate = await post(client, tenant, "/v1/contacts", twin)
    leaving = await post(client, tenant, "/v1/contacts", person("Robin", "Hale", member["id"]))
    url = f"/v1/contacts/{jordan['id']}"

    r = await client.patch(url, json={"job_title": "Partner"}, headers=tenant.headers)
    assert r.status_code == 200, r.text
    r = await client.put(f"{url}/advocacy", json={"stage": "advocate"}, headers=tenant.headers)
    assert r.status_code == 200, r.text
    await post(client, tenant, f"{url}/merge", {"other_id": duplicate["id"]})
    r = await client.delete(f"/v1/contacts/{leaving['id']}", headers=tenant.headers)
    assert r.status_code == 204, r.text
    clock.advance(timedelta(days=120))  # past the 90-day lapse threshold, nobody engaged
    await post(client, tenant, "/v1/scores/recompute")

    assert_matches_catalogue(await recorded(client, tenant), CONTACT_TYPES)


async def test_agenda_events_match_the_catalogue(
    client: httpx.AsyncClient, tenant: Tenant, db: Database, clock: FrozenClock, settings: Settings
) -> None:
    """A core advocate nobody engaged for 100 days: the member's morning digest names them."""
    member = await add_member(client, tenant)
    jordan = await post(client, tenant, "/v1/contacts", person("Jordan", "Lee", member["id"]))
    url = f"/v1/contacts/{jordan['id']}/advocacy"
    r = await client.put(url, json={"stage": "core_advocate"}, headers=tenant.headers)
    assert r.status_code == 200, r.text
    clock.advance(timedelta(days=100))
    assert await agenda_ready_job(db, clock, settings) == 1

    events = await recorded(client, tenant)
    assert [i["kind"] for i in events["agenda.ready"][0]["items"]] == ["reconnect"]
    assert_matches_catalogue(events, AGENDA_TYPES)


async def test_referral_and_reward_events_match_the_catalogue(
    client: httpx.AsyncClient, tenant: Tenant, db: Database, clock: FrozenClock, settings: Settings
) -> None:
    """A referral left uncontacted past its follow-up time, then moved; its reward issued."""
    member = await add_member(client, tenant)
    referrer = await post(client, tenant, "/v1/contacts", person("Jordan", "Lee", member["id"]))
    referred = await post(
        client, tenant, "/v1/contacts", person("Casey", "Moss", member["id"], segment="prospect")
    )
    rule = {
        "trigger": "received",
        "amount": {"kind": "fixed", "amount": "50.00"},
        "currency": "USD",
        "reward_kind": "gift_card",
        "approval_required": False,
    }
    program = {"name": "Thank-you card", "rules": [rule], "is_default": True}
    await post(client, tenant, "/v1/reward-programs", program)
    referral = await post(
        client,
        tenant,
        "/v1/referrals",
        {
            "source_contact_id": referrer["id"],
            "referred_contact_id": referred["id"],
            "service": "home purchase",
            "expected_value": "12000.00",
            "owner_id": member["id"],
            "notes": "Moving from Denver in spring.",
        },
    )
    clock.advance(timedelta(hours=25))  # past the 24-hour follow-up target
    assert await follow_up_job(db, clock, settings) == 1
    move = {"to_stage": "contacted", "note": "Called, meeting on Friday."}
    await post(client, tenant, f"/v1/referrals/{referral['id']}/transitions", move)
    [reward] = (await client.get("/v1/rewards", headers=tenant.headers)).json()["data"]
    await post(client, tenant, f"/v1/rewards/{reward['id']}/issue")
    mistake = {"source_contact_id": referrer["id"], "referred_contact_id": referred["id"]}
    mistaken = await post(client, tenant, "/v1/referrals?strict=false", mistake)
    r = await client.delete(f"/v1/referrals/{mistaken['id']}", headers=tenant.headers)
    assert r.status_code == 204, r.text

    assert_matches_catalogue(await recorded(client, tenant), REFERRAL_TYPES)


def gone(_: Received) -> Answer:
    return 410, {}, b"gone"


async def test_webhook_machinery_events_match_the_catalogue(db: Database, tenant: Tenant) -> None:
    """A test event to an endpoint that answers 410: the delivery fails, the endpoint goes."""
    with running(gone) as receiver:
        async with harness(db) as h:
            endpoint = await h.endpoint(tenant, receiver.url, description="CRM sync")
            await post(h.api, tenant, f"/v1/webhook-endpoints/{endpoint['id']}/test")
            assert await h.dispatcher.run_once() == 1
            events = await recorded(h.api, tenant)

    assert_matches_catalogue(events, WEBHOOK_TYPES)
