"""``rapport workspaces create NAME`` and ``rapport keys create --workspace ID``."""

from __future__ import annotations

import argparse
import asyncio
import json
import uuid
from typing import TYPE_CHECKING

from app.cli.database import migrated_url

if TYPE_CHECKING:
    from app.cli.database import Subparsers


async def create_workspace(url: str, name: str) -> tuple[uuid.UUID, str]:
    """A provisioned workspace and its admin key (shown once)."""
    from app.clock import SystemClock
    from app.db import Database
    from app.services.provisioning import provision_workspace

    db = Database.from_url(url, pool_size=1)
    try:
        async with db.transaction() as session:
            workspace, _key, token = await provision_workspace(
                session, name, at=SystemClock().now()
            )
            return workspace.id, token
    finally:
        await db.dispose()


async def _create_key(url: str, workspace_id: uuid.UUID, scopes: list[str], name: str) -> str:
    from app.clock import SystemClock
    from app.db import Database
    from app.services.platform import create_api_key, get_workspace

    db = Database.from_url(url, pool_size=1)
    try:
        async with db.transaction() as session:
            await get_workspace(session, workspace_id)
            _key, token = await create_api_key(
                session, workspace_id, name=name, scopes=scopes, at=SystemClock().now()
            )
            return token
    finally:
        await db.dispose()


def cmd_workspaces_create(args: argparse.Namespace) -> int:
    url = migrated_url()
    workspace_id, token = asyncio.run(create_workspace(url, args.name))
    print(json.dumps({"workspace_id": str(workspace_id), "api_key": token}))
    return 0


def cmd_keys_create(args: argparse.Namespace) -> int:
    url = migrated_url()
    scopes = [s.strip() for s in args.scopes.split(",") if s.strip()]
    token = asyncio.run(_create_key(url, uuid.UUID(args.workspace), scopes, args.name))
    print(json.dumps({"workspace_id": args.workspace, "api_key": token, "scopes": scopes}))
    return 0


def add_parsers(sub: Subparsers) -> None:
    ws = sub.add_parser("workspaces", help="manage workspaces").add_subparsers(
        dest="action", required=True
    )
    ws_create = ws.add_parser("create", help="create a workspace and print its admin key")
    ws_create.add_argument("name")
    ws_create.set_defaults(func=cmd_workspaces_create)

    keys = sub.add_parser("keys", help="manage API keys").add_subparsers(
        dest="action", required=True
    )
    keys_create = keys.add_parser("create", help="create an API key for a workspace")
    keys_create.add_argument("--workspace", required=True)
    keys_create.add_argument("--scopes", default="read,write")
    keys_create.add_argument("--name", default="cli key")
    keys_create.set_defaults(func=cmd_keys_create)
