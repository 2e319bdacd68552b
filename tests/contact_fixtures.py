"""Helpers shared by the contact tests."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Tenant


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


def locs(response: httpx.Response) -> list[list[Any]]:
    assert response.status_code == 422, response.text
    return [e["loc"] for e in response.json()["errors"]]
