"""Helpers for the referral, reward and experiment tests.

Contacts and members are written straight to their tables: these tests are about
referrals, and must not fail because the contacts API changes its validation rules.
Everything about referrals themselves goes through the API.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import httpx

from app.db import Database
from app.models.contacts.tables import Contact
from app.models.platform.member import Member
from tests.conftest import T0, Tenant


async def add_contact(
    db: Database,
    tenant: Tenant,
    first_name: str = "Pat",
    *,
    last_name: str = "Lee",
    email: str | None = None,
    at: datetime = T0,
    **extra: Any,
) -> uuid.UUID:
    async with db.transaction() as session:
        contact = Contact(
            workspace_id=tenant.id,
            first_name=first_name,
            last_name=last_name,
            sort_name=f"{last_name} {first_name}".lower(),
            primary_email=email,
            emails=[{"address": email, "type": "home", "primary": True}] if email else [],
            primary_phone="+14155550100",
            created_at=at,
            updated_at=at,
            **extra,
        )
        session.add(contact)
        await session.flush()
        return contact.id


async def add_contacts(db: Database, tenant: Tenant, n: int, **extra: Any) -> list[uuid.UUID]:
    """Many contacts in one statement (for assignment proportions)."""
    async with db.transaction() as session:
        rows = [
            Contact(
                workspace_id=tenant.id,
                first_name=f"Referrer{i}",
                last_name="Bulk",
                sort_name=f"bulk referrer{i}",
                created_at=T0,
                updated_at=T0,
                **extra,
            )
            for i in range(n)
        ]
        session.add_all(rows)
        await session.flush()
        return [c.id for c in rows]


async def add_member(db: Database, tenant: Tenant, name: str = "Dana") -> uuid.UUID:
    async with db.transaction() as session:
        member = Member(
            workspace_id=tenant.id,
            name=name,
            email=f"{name.lower()}-{uuid.uuid4().hex[:6]}@example.com",
            created_at=T0,
            updated_at=T0,
        )
        session.add(member)
        await session.flush()
        return member.id


async def refer(
    client: httpx.AsyncClient,
    tenant: Tenant,
    source: uuid.UUID,
    referred: uuid.UUID,
    *,
    expect: int = 201,
    **fields: Any,
) -> dict[str, Any]:
    body = {"source_contact_id": str(source), "referred_contact_id": str(referred), **fields}
    r = await client.post("/v1/referrals", json=body, headers=tenant.headers)
    assert r.status_code == expect, r.text
    data: dict[str, Any] = r.json()
    return data


async def move(
    client: httpx.AsyncClient,
    tenant: Tenant,
    referral_id: str,
    to_stage: str,
    *,
    expect: int = 200,
    **fields: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {"to_stage": to_stage, **fields}
    if to_stage == "lost" and "lost_reason" not in body:
        body["lost_reason"] = "went with another firm"
    r = await client.post(
        f"/v1/referrals/{referral_id}/transitions", json=body, headers=tenant.headers
    )
    assert r.status_code == expect, r.text
    data: dict[str, Any] = r.json()
    return data


async def make_program(
    client: httpx.AsyncClient,
    tenant: Tenant,
    rules: list[dict[str, Any]],
    *,
    name: str = "Program",
    is_default: bool = True,
) -> dict[str, Any]:
    body = {"name": name, "rules": rules, "is_default": is_default}
    r = await client.post("/v1/reward-programs", json=body, headers=tenant.headers)
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


async def rewards_of(
    client: httpx.AsyncClient, tenant: Tenant, **params: str
) -> list[dict[str, Any]]:
    r = await client.get("/v1/rewards", params=params, headers=tenant.headers)
    assert r.status_code == 200, r.text
    data: list[dict[str, Any]] = r.json()["data"]
    return data


async def events_of(
    client: httpx.AsyncClient, tenant: Tenant, event_type: str
) -> list[dict[str, Any]]:
    r = await client.get(
        "/v1/events", params={"types": event_type, "limit": 200}, headers=tenant.headers
    )
    assert r.status_code == 200, r.text
    data: list[dict[str, Any]] = r.json()["data"]
    return data
