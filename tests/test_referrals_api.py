"""Referrals through the API: recording, guards, filters, corrections, the referrer's thanks."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select, text

from app.clock import FrozenClock
from app.db import Database
from app.models.touches.tables import Touch
from app.services.touches.emit import emit_due_touches
from tests.conftest import T0, Tenant
from tests.referral_fixtures import add_contact, add_member, events_of, move, refer


async def test_received_referral_links_source_and_referred(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    source = await add_contact(db, tenant, "Maria")
    referred = await add_contact(db, tenant, "Jordan")
    owner = await add_member(db, tenant)
    r = await client.post(
        "/v1/referrals",
        json={
            "source_contact_id": str(source),
            "referred_contact_id": str(referred),
            "service": "home purchase",
            "expected_value": "12000.00",
            "fee": "300.50",
            "owner_id": str(owner),
        },
        headers=tenant.headers,
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert r.headers["ETag"] == '"1"'
    assert r.headers["Location"] == f"/v1/referrals/{body['id']}"
    assert body["direction"] == "received"
    assert body["stage"] == "received"
    assert body["expected_value"] == "12000.00"  # money is a string, never a float
    assert body["fee"] == "300.50"
    assert body["currency"] == "USD"
    assert body["received_at"] == T0.isoformat().replace("+00:00", "Z")
    assert body["possible_duplicate"] is False
    assert body["warnings"] == []

    got = await client.get(f"/v1/referrals/{body['id']}", headers=tenant.headers)
    assert got.status_code == 200
    assert got.json()["source_contact_id"] == str(source)


async def test_follow_up_due_is_received_time_plus_workspace_hours(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    r = await client.patch(
        "/v1/workspace", json={"referral_follow_up_hours": 4}, headers=tenant.headers
    )
    assert r.status_code == 200
    received_at = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    body = await refer(
        client,
        tenant,
        await add_contact(db, tenant, "A"),
        await add_contact(db, tenant, "B"),
        received_at=received_at.isoformat(),
    )
    assert datetime.fromisoformat(body["follow_up_due_at"]) == received_at + timedelta(hours=4)


async def test_inline_referred_person_becomes_a_prospect(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    source = await add_contact(db, tenant, "Maria")
    r = await client.post(
        "/v1/referrals",
        json={
            "source_contact_id": str(source),
            "referred_contact": {
                "first_name": "Jordan",
                "last_name": "Lee",
                "email": "jordan@example.com",
                "phone": "+14155550123",
            },
        },
        headers=tenant.headers,
    )
    assert r.status_code == 201, r.text
    referred_id = r.json()["referred_contact_id"]
    created = await events_of(client, tenant, "contact.created")
    assert [e["data"]["id"] for e in created] == [referred_id]
    assert created[0]["data"]["segment"] == "prospect"


async def test_inline_person_is_validated_like_any_contact(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    r = await client.post(
        "/v1/referrals",
        json={
            "source_contact_id": str(await add_contact(db, tenant)),
            "referred_contact": {"first_name": "Jordan", "phone": "not a phone"},
        },
        headers=tenant.headers,
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["body", "referred_contact", "phone"]


async def test_inline_person_with_a_known_email_links_the_existing_contact(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    source = await add_contact(db, tenant, "Maria")
    known = await add_contact(db, tenant, "Jordan", email="jordan@example.com")
    r = await client.post(
        "/v1/referrals",
        json={
            "source_contact_id": str(source),
            "referred_contact": {"first_name": "Jordan", "email": "JORDAN@example.com"},
        },
        headers=tenant.headers,
    )
    assert r.status_code == 201, r.text
    assert r.json()["referred_contact_id"] == str(known)
    assert [w["code"] for w in r.json()["warnings"]] == ["linked_existing_contact"]


async def test_given_referral_sends_a_client_to_a_partner(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    client_id = await add_contact(db, tenant, "Client")
    partner = await add_contact(db, tenant, "Lender", segment="allied_resource")
    r = await client.post(
        "/v1/referrals",
        json={
            "direction": "given",
            "referred_contact_id": str(client_id),
            "partner_contact_id": str(partner),
            "service": "mortgage",
        },
        headers=tenant.headers,
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["direction"] == "given"
    assert body["partner_contact_id"] == str(partner)
    assert body["follow_up_due_at"] is None  # our own follow-up target is for leads we receive


async def test_a_contact_cannot_refer_themselves(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    me = await add_contact(db, tenant)
    r = await client.post(
        "/v1/referrals",
        json={"source_contact_id": str(me), "referred_contact_id": str(me)},
        headers=tenant.headers,
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["body", "referred_contact_id"]


async def test_shape_errors_are_422(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    a = str(await add_contact(db, tenant))
    for body in (
        {"referred_contact_id": a},  # received without a source
        {"direction": "given", "referred_contact_id": a},  # given without a partner
        {"source_contact_id": a},  # no referred person
        {"source_contact_id": a, "referred_contact_id": str(uuid.uuid4())},  # unknown contact
        {"source_contact_id": a, "referred_contact_id": a, "expected_value": 10.5},  # a float
        {"source_contact_id": a, "referred_contact_id": a, "currency": "usd"},
    ):
        r = await client.post("/v1/referrals", json=body, headers=tenant.headers)
        assert r.status_code == 422, body


async def test_same_person_same_source_within_90_days_is_flagged(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, clock: FrozenClock
) -> None:
    source, referred = await add_contact(db, tenant, "S"), await add_contact(db, tenant, "R")
    first = await refer(client, tenant, source, referred)
    clock.advance(timedelta(days=89))
    second = await refer(client, tenant, source, referred)
    assert second["possible_duplicate"] is True
    assert second["warnings"][0]["code"] == "possible_duplicate"
    assert second["warnings"][0]["referral_ids"] == [first["id"]]

    strict = await client.post(
        "/v1/referrals?strict=true",
        json={"source_contact_id": str(source), "referred_contact_id": str(referred)},
        headers=tenant.headers,
    )
    assert strict.status_code == 409
    assert set(strict.json()["duplicate_of"]) == {first["id"], second["id"]}


async def test_after_90_days_the_same_pair_is_a_new_referral(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, clock: FrozenClock
) -> None:
    source, referred = await add_contact(db, tenant, "S"), await add_contact(db, tenant, "R")
    await refer(client, tenant, source, referred)
    clock.advance(timedelta(days=90, seconds=1))
    again = await refer(client, tenant, source, referred)
    assert again["possible_duplicate"] is False
    other_source = await refer(client, tenant, await add_contact(db, tenant, "T"), referred)
    assert other_source["possible_duplicate"] is False


async def test_receiving_a_referral_schedules_a_thank_you_touch(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, clock: FrozenClock
) -> None:
    await client.patch(
        "/v1/workspace",
        json={
            "time_zone": "America/New_York",
            "referral_thank_you_channel": "call",
            "referral_thank_you_mode": "manual",
        },
        headers=tenant.headers,
    )
    source = await add_contact(db, tenant, "Maria")
    owner = await add_member(db, tenant)
    friday_evening = datetime(2026, 11, 27, 23, 0, tzinfo=UTC)  # Friday 18:00 in New York
    clock.set(friday_evening)  # a referral cannot be received ahead of now
    await refer(
        client,
        tenant,
        source,
        await add_contact(db, tenant, "Jordan"),
        received_at=friday_evening.isoformat(),
        owner_id=str(owner),
    )
    async with db.transaction() as session:
        touches = list(
            (await session.execute(select(Touch).where(Touch.workspace_id == tenant.id))).scalars()
        )
    assert len(touches) == 1
    touch = touches[0]
    assert (touch.contact_id, touch.channel, touch.mode) == (source, "call", "manual")
    assert touch.content_kind == "thank_you"
    assert touch.assignee_id == owner
    assert touch.body is not None
    assert "Jordan" in touch.body
    # Next business day is Monday 30 November; 09:00 in New York is 14:00 UTC.
    assert touch.due_at == datetime(2026, 11, 30, 14, 0, tzinfo=UTC)


async def test_given_referrals_schedule_no_thank_you(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    r = await client.post(
        "/v1/referrals",
        json={
            "direction": "given",
            "referred_contact_id": str(await add_contact(db, tenant)),
            "partner_contact_id": str(await add_contact(db, tenant, "P")),
        },
        headers=tenant.headers,
    )
    assert r.status_code == 201
    async with db.transaction() as session:
        found = (
            await session.execute(select(Touch.id).where(Touch.workspace_id == tenant.id))
        ).all()
    assert found == []


async def test_created_event_carries_the_referrer(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    source = await add_contact(db, tenant, "Maria", email="maria@example.com")
    body = await refer(client, tenant, source, await add_contact(db, tenant, "Jordan"))
    (event,) = await events_of(client, tenant, "referral.created")
    assert event["data"]["id"] == body["id"]
    assert event["data"]["referrer"]["primary_email"] == "maria@example.com"
    assert "Jordan" in event["data"]["suggested_message"]


async def test_list_filters_and_pages_newest_first(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    s1, s2 = await add_contact(db, tenant, "S1"), await add_contact(db, tenant, "S2")
    owner = await add_member(db, tenant)
    made = []
    for day in range(5):
        made.append(
            await refer(
                client,
                tenant,
                s1 if day % 2 == 0 else s2,
                await add_contact(db, tenant, f"R{day}"),
                received_at=(T0 - timedelta(days=day)).isoformat(),
                owner_id=str(owner) if day == 3 else None,
            )
        )
    await move(client, tenant, made[0]["id"], "contacted")

    async def ids(**params: str) -> list[str]:
        r = await client.get("/v1/referrals", params=params, headers=tenant.headers)
        assert r.status_code == 200, r.text
        return [x["id"] for x in r.json()["data"]]

    assert await ids() == [m["id"] for m in made]
    assert await ids(source_contact_id=str(s2)) == [made[1]["id"], made[3]["id"]]
    assert await ids(stage="contacted") == [made[0]["id"]]
    assert await ids(owner_id=str(owner)) == [made[3]["id"]]
    assert await ids(direction="given") == []
    after = (T0 - timedelta(days=3)).isoformat()
    before = (T0 - timedelta(days=1)).isoformat()
    assert await ids(received_after=after, received_before=before) == [
        made[2]["id"],
        made[3]["id"],
    ]

    page1 = await client.get("/v1/referrals", params={"limit": 2}, headers=tenant.headers)
    cursor = page1.json()["next_cursor"]
    page2 = await client.get(
        "/v1/referrals", params={"limit": 2, "cursor": cursor}, headers=tenant.headers
    )
    assert [x["id"] for x in page2.json()["data"]] == [made[2]["id"], made[3]["id"]]


async def test_patch_corrects_details_with_if_match(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    body = await refer(
        client, tenant, await add_contact(db, tenant), await add_contact(db, tenant, "R")
    )
    url = f"/v1/referrals/{body['id']}"
    r = await client.patch(
        url,
        json={"expected_value": "5000.00", "notes": "call after 5pm"},
        headers={**tenant.headers, "If-Match": '"1"'},
    )
    assert r.status_code == 200, r.text
    assert r.json()["expected_value"] == "5000.00"
    assert r.headers["ETag"] == '"2"'
    stale = await client.patch(
        url, json={"notes": "x"}, headers={**tenant.headers, "If-Match": '"1"'}
    )
    assert stale.status_code == 412
    cleared = await client.patch(url, json={"expected_value": None}, headers=tenant.headers)
    assert cleared.json()["expected_value"] is None
    refused = await client.patch(url, json={"stage": "closed"}, headers=tenant.headers)
    assert refused.status_code == 422  # stages move only through transitions


async def test_reciprocity_counts_and_sums_both_directions(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    partner = await add_contact(db, tenant, "Lender", segment="allied_resource")
    closed = await refer(
        client, tenant, partner, await add_contact(db, tenant, "A"), expected_value="1000.00"
    )
    await move(client, tenant, closed["id"], "closed", actual_value="1500.00")
    await refer(client, tenant, partner, await add_contact(db, tenant, "B"), expected_value="700")
    for name in ("C", "D"):
        r = await client.post(
            "/v1/referrals",
            json={
                "direction": "given",
                "referred_contact_id": str(await add_contact(db, tenant, name)),
                "partner_contact_id": str(partner),
                "fee": "50.00",
            },
            headers=tenant.headers,
        )
        assert r.status_code == 201

    r = await client.get(f"/v1/contacts/{partner}/reciprocity", headers=tenant.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["received_from"]["count"] == 2
    assert body["given_to"]["count"] == 2
    assert body["balance"] == 0
    assert body["received_from"]["rows"] == [
        {
            "stage": "received",
            "currency": "USD",
            "count": 1,
            "expected_value": "700.00",
            "actual_value": "0.00",
            "fees": "0.00",
        },
        {
            "stage": "closed",
            "currency": "USD",
            "count": 1,
            "expected_value": "1000.00",
            "actual_value": "1500.00",
            "fees": "0.00",
        },
    ]
    assert body["given_to"]["rows"][0]["fees"] == "100.00"


async def test_other_tenants_ids_answer_404(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, other_tenant: Tenant
) -> None:
    source = await add_contact(db, tenant)
    body = await refer(client, tenant, source, await add_contact(db, tenant, "R"))
    rid = body["id"]
    h = other_tenant.headers
    assert (await client.get(f"/v1/referrals/{rid}", headers=h)).status_code == 404
    assert (await client.patch(f"/v1/referrals/{rid}", json={}, headers=h)).status_code == 404
    moved = await client.post(
        f"/v1/referrals/{rid}/transitions", json={"to_stage": "contacted"}, headers=h
    )
    assert moved.status_code == 404
    assert (await client.get(f"/v1/referrals/{rid}/history", headers=h)).status_code == 404
    assert (await client.get(f"/v1/contacts/{source}/reciprocity", headers=h)).status_code == 404
    listed = await client.get("/v1/referrals", headers=h)
    assert listed.json()["data"] == []
    # Another workspace's contacts cannot be used as source or referred person either.
    theirs = await add_contact(db, other_tenant)
    r = await client.post(
        "/v1/referrals",
        json={"source_contact_id": str(theirs), "referred_contact_id": str(source)},
        headers=tenant.headers,
    )
    assert r.status_code == 422


async def test_erasing_the_referred_person_rewords_the_referrers_thank_you(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    """The thank-you belongs to the referrer and stays, but must stop naming the erased
    person: in the touch and in the events that delivered it. Another thank-you stays."""
    source = await add_contact(db, tenant, "Maria")
    jordan = await add_contact(db, tenant, "Jordan")
    sam = await add_contact(db, tenant, "Samwise")
    await refer(client, tenant, source, jordan, received_at=T0.isoformat())
    await refer(client, tenant, source, sam, received_at=T0.isoformat())
    async with db.transaction() as session:
        emitted = await emit_due_touches(session, at=T0 + timedelta(days=7), limit=100)
    assert emitted == 2

    erased = await client.delete(f"/v1/contacts/{jordan}", headers=tenant.headers)
    assert erased.status_code == 204, erased.text

    async with db.transaction() as session:
        touches = (
            await session.execute(
                select(Touch.subject, Touch.body).where(
                    Touch.workspace_id == tenant.id, Touch.contact_id == source
                )
            )
        ).all()
        events = (
            (
                await session.execute(
                    text(
                        "SELECT data::text FROM events"
                        " WHERE workspace_id = :w AND type LIKE 'touch.%'"
                    ),
                    {"w": tenant.id},
                )
            )
            .scalars()
            .all()
        )
    texts = sorted(f"{subject} | {body}" for subject, body in touches)
    assert texts == [
        "Thank you for referring Samwise | Hi Maria, thank you for referring Samwise! "
        "I will be in touch with them shortly.",
        "Thank you for referring a friend | Hi Maria, thank you for referring the person "
        "you referred! I will be in touch with them shortly.",
    ]
    assert len(events) == 2
    assert not [e for e in events if "Jordan" in e]
    assert len([e for e in events if "Samwise" in e]) == 1
