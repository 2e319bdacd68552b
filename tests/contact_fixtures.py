"""Helpers shared by the contact tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from app.clock import FrozenClock
from app.db import Database
from app.main import create_app
from tests.conftest import T0, Tenant, make_settings


async def new_contact(client: httpx.AsyncClient, tenant: Tenant, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"first_name": "Maria", "last_name": "Lopez", **fields}
    response = await client.post("/v1/contacts", json=body, headers=tenant.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def new_member(client: httpx.AsyncClient, tenant: Tenant, email: str) -> str:
    body = {"name": email.split("@")[0], "email": email}
    response = await client.post("/v1/members", json=body, headers=tenant.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def default_sender(client: httpx.AsyncClient, tenant: Tenant) -> str:
    """Give the workspace a default sender: the built-in plans' templates name the member,
    so without one (or an owner) a contact is not enrolled in them."""
    member = await new_member(client, tenant, "sender@example.com")
    body = {"default_sender_member_id": member}
    response = await client.patch("/v1/workspace", json=body, headers=tenant.headers)
    assert response.status_code == 200, response.text
    return member


def locs(response: httpx.Response) -> list[list[Any]]:
    assert response.status_code == 422, response.text
    return [e["loc"] for e in response.json()["errors"]]


@asynccontextmanager
async def replica_clients(db: Database, count: int = 2) -> AsyncIterator[list[httpx.AsyncClient]]:
    """Clients of ``count`` apps over one committed database, as replicas would be."""
    apps = [create_app(make_settings(), database=db, clock=FrozenClock(T0)) for _ in range(count)]
    clients = [
        httpx.AsyncClient(transport=httpx.ASGITransport(app=a), base_url="http://t") for a in apps
    ]
    try:
        yield clients
    finally:
        for c in clients:
            await c.aclose()
